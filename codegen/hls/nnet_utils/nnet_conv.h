// nnet_conv.h -- Conv1D / Conv2D, channels-last, io_parallel: im2col, then the Dense kernel per output position.
//
// Numerics (docs/numerics.md, Conv): each output position is exactly Dense over its patch, patch order
// (kh, kw, c_in), i.e. the C order of the Keras kernel (kh, kw, c_in, filters). Padded positions hold zero
// (they add nothing). Padding sizes come from the writer (Keras 'same': pad_before = pad_total / 2).
#ifndef NNET_CONV_H_
#define NNET_CONV_H_

#include "nnet_common.h"
#include "nnet_dense.h"

namespace nnet {

struct conv1d_config {
    static const unsigned in_width = 10;
    static const unsigned n_chan = 1;
    static const unsigned filt_width = 1;
    static const unsigned n_filt = 1;
    static const unsigned stride_width = 1;
    static const unsigned pad_left = 0;
    static const unsigned pad_right = 0;
    static const unsigned out_width = 10;
    typedef dense_config mult_config; // n_in = filt_width * n_chan, n_out = n_filt
};

struct conv2d_config {
    static const unsigned in_height = 10;
    static const unsigned in_width = 10;
    static const unsigned n_chan = 1;
    static const unsigned filt_height = 1;
    static const unsigned filt_width = 1;
    static const unsigned n_filt = 1;
    static const unsigned stride_height = 1;
    static const unsigned stride_width = 1;
    static const unsigned pad_top = 0;
    static const unsigned pad_bottom = 0;
    static const unsigned pad_left = 0;
    static const unsigned pad_right = 0;
    static const unsigned out_height = 10;
    static const unsigned out_width = 10;
    typedef dense_config mult_config;
};

template <class data_T, class res_T, typename CONFIG_T>
void conv_1d_cl(data_T data[CONFIG_T::in_width * CONFIG_T::n_chan],
                res_T res[CONFIG_T::out_width * CONFIG_T::n_filt],
                const typename CONFIG_T::mult_config::weight_t weights[CONFIG_T::filt_width * CONFIG_T::n_chan *
                                                                       CONFIG_T::n_filt],
                const typename CONFIG_T::mult_config::bias_t biases[CONFIG_T::n_filt]) {
    static const unsigned n_patch = CONFIG_T::filt_width * CONFIG_T::n_chan;
    data_T patch[n_patch];
    #pragma HLS ARRAY_PARTITION variable=patch complete
    res_T out[CONFIG_T::n_filt];
    #pragma HLS ARRAY_PARTITION variable=out complete

OutWidth:
    for (unsigned ow = 0; ow < CONFIG_T::out_width; ow++) {
    FillPatch:
        for (unsigned kw = 0; kw < CONFIG_T::filt_width; kw++) {
            const int iw = (int)(ow * CONFIG_T::stride_width + kw) - (int)CONFIG_T::pad_left;
            const bool inside = iw >= 0 && iw < (int)CONFIG_T::in_width;
            for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
                patch[kw * CONFIG_T::n_chan + c] = inside ? data[iw * CONFIG_T::n_chan + c] : data_T(0);
            }
        }
        dense<data_T, res_T, typename CONFIG_T::mult_config>(patch, out, weights, biases);
    StoreOut:
        for (unsigned f = 0; f < CONFIG_T::n_filt; f++) {
            res[ow * CONFIG_T::n_filt + f] = out[f];
        }
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void conv_2d_cl(data_T data[CONFIG_T::in_height * CONFIG_T::in_width * CONFIG_T::n_chan],
                res_T res[CONFIG_T::out_height * CONFIG_T::out_width * CONFIG_T::n_filt],
                const typename CONFIG_T::mult_config::weight_t weights[CONFIG_T::filt_height * CONFIG_T::filt_width *
                                                                       CONFIG_T::n_chan * CONFIG_T::n_filt],
                const typename CONFIG_T::mult_config::bias_t biases[CONFIG_T::n_filt]) {
    static const unsigned n_patch = CONFIG_T::filt_height * CONFIG_T::filt_width * CONFIG_T::n_chan;
    data_T patch[n_patch];
    #pragma HLS ARRAY_PARTITION variable=patch complete
    res_T out[CONFIG_T::n_filt];
    #pragma HLS ARRAY_PARTITION variable=out complete

OutHeight:
    for (unsigned oh = 0; oh < CONFIG_T::out_height; oh++) {
    OutWidth:
        for (unsigned ow = 0; ow < CONFIG_T::out_width; ow++) {
        FillPatch:
            for (unsigned kh = 0; kh < CONFIG_T::filt_height; kh++) {
                const int ih = (int)(oh * CONFIG_T::stride_height + kh) - (int)CONFIG_T::pad_top;
                for (unsigned kw = 0; kw < CONFIG_T::filt_width; kw++) {
                    const int iw = (int)(ow * CONFIG_T::stride_width + kw) - (int)CONFIG_T::pad_left;
                    const bool inside =
                        ih >= 0 && ih < (int)CONFIG_T::in_height && iw >= 0 && iw < (int)CONFIG_T::in_width;
                    for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
                        patch[(kh * CONFIG_T::filt_width + kw) * CONFIG_T::n_chan + c] =
                            inside ? data[(ih * CONFIG_T::in_width + iw) * CONFIG_T::n_chan + c] : data_T(0);
                    }
                }
            }
            dense<data_T, res_T, typename CONFIG_T::mult_config>(patch, out, weights, biases);
        StoreOut:
            for (unsigned f = 0; f < CONFIG_T::n_filt; f++) {
                res[(oh * CONFIG_T::out_width + ow) * CONFIG_T::n_filt + f] = out[f];
            }
        }
    }
}

} // namespace nnet

#endif
