// nnet_activation.h -- relu, linear, sigmoid, tanh, softmax (io_parallel).
//
// Numerics (docs/numerics.md, Activation). The lookup tables are computed once in Python
// (codegen.emulator.tables), written as exact constants into firmware/weights/, and passed in here.
//   relu:    y = cast<result_t>(x > 0 ? x : 0)
//   linear:  y = cast<result_t>(x)
//   sigmoid: T over [-8, 8):  idx = clamp(floor(x * N / 16) + N/2, 0, N-1);  y = cast<result_t>(T[idx])
//   tanh:    T over [-4, 4):  idx = clamp(floor(x * N / 8) + N/2, 0, N-1);   y = cast<result_t>(T[idx])
//   softmax: m = max x;  e_k = E[min(floor((m - x_k) * N / 8), N-1)];  s = sum e_k (exact);
//            r = R[clamp(floor((s - 1) * N / S), 0, N-1)] with S = 2**ceil(log2(n));  y_k = cast<result_t>(e_k * r)
#ifndef NNET_ACTIVATION_H_
#define NNET_ACTIVATION_H_

#include "nnet_common.h"

namespace nnet {

struct activ_config {
    typedef ap_fixed<18, 8> table_t;
    static const unsigned n_in = 10;
    static const unsigned table_size = 1024;
    static const unsigned reuse_factor = 1;
};

struct softmax_config {
    typedef ap_ufixed<18, 1> exp_table_t;
    typedef ap_ufixed<18, 1> inv_table_t;
    static const unsigned n_in = 10;    // total elements
    static const unsigned n_slice = 10; // softmax axis length (last axis)
    static const unsigned table_size = 1024;
    static const unsigned sum_span_log2 = 4; // log2(S), S = smallest power of two >= n_slice
    static const unsigned reuse_factor = 1;
};

template <class data_T, class res_T, typename CONFIG_T> void linear(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
    #pragma HLS PIPELINE
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        res[i] = data[i];
    }
}

template <class data_T, class res_T, typename CONFIG_T> void relu(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
    #pragma HLS PIPELINE
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        if (data[i] > 0)
            res[i] = data[i];
        else
            res[i] = 0;
    }
}

// sigmoid / tanh: table lookup on x shifted by half the table's range (exact), see lut_index.
template <class data_T, class res_T, typename CONFIG_T, int range_log2>
void symmetric_table_activation(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
                                const typename CONFIG_T::table_t table[CONFIG_T::table_size]) {
    #pragma HLS PIPELINE
    static const int half_range = 1 << (range_log2 - 1);
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        const unsigned idx = lut_index<CONFIG_T::table_size, range_log2>(data[i] + half_range);
        res[i] = table[idx];
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void sigmoid(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
             const typename CONFIG_T::table_t table[CONFIG_T::table_size]) {
    #pragma HLS INLINE
    symmetric_table_activation<data_T, res_T, CONFIG_T, 4>(data, res, table); // [-8, 8)
}

template <class data_T, class res_T, typename CONFIG_T>
void tanh(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
          const typename CONFIG_T::table_t table[CONFIG_T::table_size]) {
    #pragma HLS INLINE
    symmetric_table_activation<data_T, res_T, CONFIG_T, 3>(data, res, table); // [-4, 4)
}

template <class data_T, class res_T, typename CONFIG_T>
void softmax(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
             const typename CONFIG_T::exp_table_t exp_table[CONFIG_T::table_size],
             const typename CONFIG_T::inv_table_t inv_table[CONFIG_T::table_size]) {
    #pragma HLS PIPELINE
    typedef typename CONFIG_T::exp_table_t exp_t;
    typedef typename wide_sum<exp_t, ceil_log2(CONFIG_T::n_slice)>::type sum_t;
    static const unsigned n = CONFIG_T::n_slice;

Slices:
    for (unsigned s0 = 0; s0 < CONFIG_T::n_in; s0 += n) {
        #pragma HLS UNROLL
        data_T m = data[s0];
    Max:
        for (unsigned k = 1; k < n; k++) {
            #pragma HLS UNROLL
            if (data[s0 + k] > m)
                m = data[s0 + k];
        }
        exp_t e[CONFIG_T::n_slice];
        #pragma HLS ARRAY_PARTITION variable=e complete
        sum_t total = 0;
    Exp:
        for (unsigned k = 0; k < n; k++) {
            #pragma HLS UNROLL
            e[k] = exp_table[lut_index<CONFIG_T::table_size, 3>(m - data[s0 + k])]; // m - x is exact, >= 0
            total += e[k];
        }
        const typename CONFIG_T::inv_table_t r =
            inv_table[lut_index<CONFIG_T::table_size, CONFIG_T::sum_span_log2>(total - 1)];
    Result:
        for (unsigned k = 0; k < n; k++) {
            #pragma HLS UNROLL
            res[s0 + k] = e[k] * r;
        }
    }
}

} // namespace nnet

#endif
