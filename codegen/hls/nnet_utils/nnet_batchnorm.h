// nnet_batchnorm.h -- BatchNormalization as y = cast<result_t>(x * scale_c + bias_c), c = last-axis channel.
//
// Numerics (docs/numerics.md): one cast; the product and the sum are exact (ap_fixed widens them).
#ifndef NNET_BATCHNORM_H_
#define NNET_BATCHNORM_H_

#include "nnet_common.h"

namespace nnet {

struct batchnorm_config {
    typedef float scale_t;
    typedef float bias_t;
    static const unsigned n_in = 10;
    static const unsigned n_filt = 10; // channels (last axis)
    static const unsigned reuse_factor = 1;
    static const unsigned multiplier_limit = 10;
};

template <class data_T, class res_T, typename CONFIG_T>
void normalize(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
               const typename CONFIG_T::scale_t scale[CONFIG_T::n_filt],
               const typename CONFIG_T::bias_t bias[CONFIG_T::n_filt]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    #pragma HLS ARRAY_PARTITION variable=scale complete
    #pragma HLS ARRAY_PARTITION variable=bias complete
    #pragma HLS ALLOCATION operation instances=mul limit=CONFIG_T::multiplier_limit
Result:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        const unsigned c = i % CONFIG_T::n_filt;
        res[i] = data[i] * scale[c] + bias[c];
    }
}

} // namespace nnet

#endif
