// nnet_dense.h -- fully connected layer, Latency and Resource strategies (io_parallel).
//
// Numerics (docs/numerics.md, Dense): for each output j
//     acc = cast<accum_t>(b_j);
//     for i = 0 .. n_in-1 in increasing order, skipping w_ij == 0:
//         acc = cast<accum_t>(acc + cast<accum_t>(x_i * w_ij));
//     y_j = cast<result_t>(acc);
// Weights are stored flattened in C order of the (n_in, n_out) matrix: w_ij = weights[i * n_out + j].
#ifndef NNET_DENSE_H_
#define NNET_DENSE_H_

#include "nnet_common.h"

namespace nnet {

struct dense_config {
    typedef float bias_t;
    typedef float weight_t;
    typedef float accum_t;
    static const unsigned n_in = 10;
    static const unsigned n_out = 10;
    static const unsigned n_pos = 1; // positions the matrix is applied to (dense_positions)
    static const unsigned reuse_factor = 1;
    static const unsigned n_zeros = 0;
    static const unsigned multiplier_limit = 100;
    static const unsigned block_factor = 100;
    static const unsigned strategy = latency;
};

// One multiply-accumulate step: acc += cast<accum_t>(x * w), zero weights skipped.
template <class data_T, typename CONFIG_T>
inline void dense_mac(typename CONFIG_T::accum_t &acc, data_T x, typename CONFIG_T::weight_t w) {
    if (w != 0) {
        typename CONFIG_T::accum_t p = x * w; // exact product, then accum_t's rounding/overflow
        acc += p;                             // exact sum, then accum_t's rounding/overflow
    }
}

// Latency: everything unrolled, pipelined with II = reuse_factor, multipliers limited by ALLOCATION.
template <class data_T, class res_T, typename CONFIG_T>
void dense_latency(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
                   const typename CONFIG_T::weight_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
                   const typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    #pragma HLS ARRAY_PARTITION variable=data complete
    #pragma HLS ARRAY_PARTITION variable=res complete
    #pragma HLS ARRAY_PARTITION variable=weights complete
    #pragma HLS ARRAY_PARTITION variable=biases complete
    #pragma HLS ALLOCATION operation instances=mul limit=CONFIG_T::multiplier_limit

    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
    #pragma HLS ARRAY_PARTITION variable=acc complete

InitAccum:
    for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
        #pragma HLS UNROLL
        acc[j] = (typename CONFIG_T::accum_t)biases[j];
    }
Product1:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
    Product2:
        for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
            #pragma HLS UNROLL
            dense_mac<data_T, CONFIG_T>(acc[j], data[i], weights[i * CONFIG_T::n_out + j]);
        }
    }
Result:
    for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
        #pragma HLS UNROLL
        res[j] = (res_T)acc[j];
    }
}

// Resource: reuse_factor pipelined steps (II=1); step r performs the block_factor products
// k in [r * block_factor, (r + 1) * block_factor) of the flattened weight matrix (k = i * n_out + j).
// Contiguous blocks keep every output's additions in increasing input order.
template <class data_T, class res_T, typename CONFIG_T>
void dense_resource(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
                    const typename CONFIG_T::weight_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
                    const typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
    static const int n_out = CONFIG_T::n_out;
    static const int n_w = CONFIG_T::n_in * CONFIG_T::n_out;
    static const int rf = CONFIG_T::reuse_factor;
    static const int bf = CONFIG_T::block_factor; // ceil(n_w / rf)

    #pragma HLS ARRAY_RESHAPE variable=weights cyclic factor=bf
    #pragma HLS ARRAY_PARTITION variable=biases complete
    #pragma HLS ARRAY_PARTITION variable=data complete
    #pragma HLS ARRAY_PARTITION variable=res complete

    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
    #pragma HLS ARRAY_PARTITION variable=acc complete

InitAccum:
    for (int j = 0; j < n_out; j++) {
        #pragma HLS UNROLL
        acc[j] = (typename CONFIG_T::accum_t)biases[j];
    }

    // (i0, j0): matrix coordinates of the first product of the current block
    int i0 = 0;
    int j0 = 0;
ReuseLoop:
    for (int r = 0; r < rf; r++) {
        #pragma HLS PIPELINE II=1 rewind
        int i = i0;
        int j = j0;
    MultLoop:
        for (int b = 0; b < bf; b++) {
            #pragma HLS UNROLL
            if (r * bf + b < n_w) {
                dense_mac<data_T, CONFIG_T>(acc[j], data[i], weights[r * bf + b]);
            }
            if (++j == n_out) {
                j = 0;
                i++;
            }
        }
        i0 += bf / n_out;
        j0 += bf % n_out;
        if (j0 >= n_out) {
            j0 -= n_out;
            i0++;
        }
    }
Result:
    for (int j = 0; j < n_out; j++) {
        #pragma HLS UNROLL
        res[j] = (res_T)acc[j];
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void dense(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
           const typename CONFIG_T::weight_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
           const typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
    #pragma HLS INLINE
    if (CONFIG_T::strategy == resource) {
        dense_resource<data_T, res_T, CONFIG_T>(data, res, weights, biases);
    } else {
        dense_latency<data_T, res_T, CONFIG_T>(data, res, weights, biases);
    }
}

// Dense applied to each of n_pos positions (Keras Dense on an input of rank > 1 acts on the last axis).
template <class data_T, class res_T, typename CONFIG_T>
void dense_positions(data_T data[CONFIG_T::n_pos * CONFIG_T::n_in], res_T res[CONFIG_T::n_pos * CONFIG_T::n_out],
                     const typename CONFIG_T::weight_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
                     const typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
    data_T x[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=x complete
    res_T y[CONFIG_T::n_out];
    #pragma HLS ARRAY_PARTITION variable=y complete
Positions:
    for (unsigned p = 0; p < CONFIG_T::n_pos; p++) {
        for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
            x[i] = data[p * CONFIG_T::n_in + i];
        }
        dense<data_T, res_T, CONFIG_T>(x, y, weights, biases);
        for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
            res[p * CONFIG_T::n_out + j] = y[j];
        }
    }
}

} // namespace nnet

#endif
