// nnet_merge.h -- Add (any number of inputs) and Concatenate (any axis), io_parallel.
//
// Numerics (docs/numerics.md): Add is y = cast<result_t>(a + b + ...) with the exact sum (ap_fixed widens);
// Concatenate is y = cast<result_t>(concat(a, b, ...)).
#ifndef NNET_MERGE_H_
#define NNET_MERGE_H_

#include "nnet_common.h"
#include <utility>

namespace nnet {

struct merge_config {
    static const unsigned n_elem = 10;
};

// exact_sum<T0, T1, ...>::at(i, in0, in1, ...) = in0[i] + in1[i] + ... in the exact (widened) ap_fixed type
// that ap_fixed's operator+ produces. Plain C++11 (no deduced return types) for the HLS front end.
template <class T0, class... Ts> struct exact_sum;
template <class T0> struct exact_sum<T0> {
    typedef T0 type;
    static type at(unsigned i, T0 *a) { return a[i]; }
};
template <class T0, class T1, class... Ts> struct exact_sum<T0, T1, Ts...> {
    typedef exact_sum<T1, Ts...> rest_t;
    typedef decltype(std::declval<T0 &>() + std::declval<typename rest_t::type &>()) type;
    static type at(unsigned i, T0 *a, T1 *b, Ts *...rest) { return a[i] + rest_t::at(i, b, rest...); }
};

// add<res_T, CONFIG_T>(res, in0, in1, ...): two or more inputs of CONFIG_T::n_elem elements each.
template <class res_T, typename CONFIG_T, class... Ins> void add(res_T res[CONFIG_T::n_elem], Ins *...ins) {
    #pragma HLS PIPELINE
    for (unsigned i = 0; i < CONFIG_T::n_elem; i++) {
        #pragma HLS UNROLL
        res[i] = exact_sum<Ins...>::at(i, ins...);
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
