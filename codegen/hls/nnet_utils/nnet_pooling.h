// nnet_pooling.h -- max / average pooling ('valid' windows) and global pooling, channels-last, io_parallel.
//
// Numerics (docs/numerics.md, Pooling):
//   max: y = cast<result_t>(max over the window)
//   avg: y = cast<result_t>(sum over the window * c), c = cast<ap_ufixed<24,0,AP_RND>>(1/n) precomputed by the
//        writer (CONFIG_T::recip), the sum is exact.
#ifndef NNET_POOLING_H_
#define NNET_POOLING_H_

#include "nnet_common.h"

namespace nnet {

enum pool_op { pool_max, pool_avg };

typedef ap_ufixed<24, 0, AP_RND> pool_recip_t;

struct pooling2d_config {
    static const unsigned in_height = 10;
    static const unsigned in_width = 10;
    static const unsigned n_filt = 1;
    static const unsigned pool_height = 2;
    static const unsigned pool_width = 2;
    static const unsigned stride_height = 2;
    static const unsigned stride_width = 2;
    static const unsigned out_height = 5;
    static const unsigned out_width = 5;
    static const pool_op op = pool_max;
    // static const pool_recip_t recip() -- 1 / (pool_height * pool_width), see the generated configs
};

// Reduce the window whose top-left input is (h0, w0), channel c.
template <class data_T, class res_T, typename CONFIG_T>
inline res_T pool_window(const data_T *data, unsigned h0, unsigned w0, unsigned c) {
    static const unsigned n = CONFIG_T::pool_height * CONFIG_T::pool_width;
    typedef typename wide_sum<data_T, ceil_log2(n)>::type sum_t;
    data_T m = data[(h0 * CONFIG_T::in_width + w0) * CONFIG_T::n_filt + c];
    sum_t total = 0;
    for (unsigned kh = 0; kh < CONFIG_T::pool_height; kh++) {
        #pragma HLS UNROLL
        for (unsigned kw = 0; kw < CONFIG_T::pool_width; kw++) {
            #pragma HLS UNROLL
            const data_T v = data[((h0 + kh) * CONFIG_T::in_width + w0 + kw) * CONFIG_T::n_filt + c];
            if (v > m)
                m = v;
            total += v;
        }
    }
    res_T y;
    if (CONFIG_T::op == pool_max)
        y = m;
    else
        y = total * CONFIG_T::recip();
    return y;
}

// 2-D pooling; 1-D pooling is the same with in_height = pool_height = stride_height = out_height = 1,
// and global pooling has the window covering the whole input.
template <class data_T, class res_T, typename CONFIG_T>
void pooling2d_cl(data_T data[CONFIG_T::in_height * CONFIG_T::in_width * CONFIG_T::n_filt],
                  res_T res[CONFIG_T::out_height * CONFIG_T::out_width * CONFIG_T::n_filt]) {
    #pragma HLS PIPELINE
    for (unsigned oh = 0; oh < CONFIG_T::out_height; oh++) {
        #pragma HLS UNROLL
        for (unsigned ow = 0; ow < CONFIG_T::out_width; ow++) {
            #pragma HLS UNROLL
            for (unsigned c = 0; c < CONFIG_T::n_filt; c++) {
                #pragma HLS UNROLL
                res[(oh * CONFIG_T::out_width + ow) * CONFIG_T::n_filt + c] = pool_window<data_T, res_T, CONFIG_T>(
                    data, oh * CONFIG_T::stride_height, ow * CONFIG_T::stride_width, c);
            }
        }
    }
}

} // namespace nnet

#endif
