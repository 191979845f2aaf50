// nnet_merge.h -- Add (any number of inputs) and Concatenate (any axis), io_parallel.
//
// Numerics (docs/numerics.md): Add is y = cast<result_t>(a + b + ...) with the exact sum (ap_fixed widens);
// Concatenate is y = cast<result_t>(concat(a, b, ...)).
#ifndef NNET_MERGE_H_
#define NNET_MERGE_H_

#include "nnet_common.h"

namespace nnet {

struct merge_config {
    static const unsigned n_elem = 10;
};

// exact sum of in0[i] + in1[i] + ... (each '+' of ap_fixed values is exact)
template <class T0, class T1> inline auto sum_at(unsigned i, T0 *a, T1 *b) { return a[i] + b[i]; }

template <class T0, class T1, class T2, class... Ts> inline auto sum_at(unsigned i, T0 *a, T1 *b, T2 *c, Ts *...rest) {
    return a[i] + sum_at(i, b, c, rest...);
}

// add<res_T, CONFIG_T>(res, in0, in1, ...): two or more inputs of CONFIG_T::n_elem elements each.
template <class res_T, typename CONFIG_T, class... Ins> void add(res_T res[CONFIG_T::n_elem], Ins *...ins) {
    #pragma HLS PIPELINE
    for (unsigned i = 0; i < CONFIG_T::n_elem; i++) {
        #pragma HLS UNROLL
        res[i] = sum_at(i, ins...);
    }
}

struct concat_config {
    static const unsigned n_outer = 1;     // product of the dimensions before the axis
    static const unsigned n_inner_out = 1; // elements per outer index in the result
};

// Copy one input into its place in the result: for each outer index o, the input's n_inner_in elements
// go to res[o * n_inner_out + offset ...]. Called once per input, in order.
template <class data_T, class res_T, typename CONFIG_T, unsigned n_inner_in, unsigned offset>
void concatenate_part(data_T data[CONFIG_T::n_outer * n_inner_in], res_T res[CONFIG_T::n_outer * CONFIG_T::n_inner_out]) {
    #pragma HLS PIPELINE
    for (unsigned o = 0; o < CONFIG_T::n_outer; o++) {
        #pragma HLS UNROLL
        for (unsigned k = 0; k < n_inner_in; k++) {
            #pragma HLS UNROLL
            res[o * CONFIG_T::n_inner_out + offset + k] = data[o * n_inner_in + k];
        }
    }
}

} // namespace nnet

#endif
