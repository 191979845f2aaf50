// nnet_common.h -- shared helpers of the fpga-dse HLS kernels (io_parallel).
//
// Numeric semantics: docs/numerics.md of the fpga-dse project. Every kernel in nnet_utils implements
// exactly what is written there; the Python emulator is the reference they are tested against.
#ifndef NNET_COMMON_H_
#define NNET_COMMON_H_

#include "ap_fixed.h"
#include "ap_int.h"
#ifndef __SYNTHESIS__
#include <initializer_list>
#endif

#if defined(__GNUC__) && !defined(__SYNTHESIS__)
#define NNET_HIDDEN __attribute__((visibility("hidden")))
#else
#define NNET_HIDDEN
#endif

namespace nnet {

enum strategy { latency, resource };

// ---------------------------------------------------------------- compile-time integer helpers
constexpr int div_roundup(int n, int d) { return (n + d - 1) / d; }
constexpr int imin(int a, int b) { return a < b ? a : b; }
constexpr int imax(int a, int b) { return a > b ? a : b; }
// log2 of a power of two (ceil_log2 for any n >= 1)
constexpr int ceil_log2(int n) { return n <= 1 ? 0 : 1 + ceil_log2((n + 1) / 2); }

// ---------------------------------------------------------------- fixed-point type facts
// width (W), integer bits (I) and signedness of ap_fixed / ap_ufixed / ap_int / ap_uint, and
// `fixed_t`: the ap_fixed-family twin used to convert doubles with floor + wrap semantics.
template <class T> struct fixed_info;

template <int W, int I, ap_q_mode Q, ap_o_mode O, int N> struct fixed_info<ap_fixed<W, I, Q, O, N> > {
    static const int width = W;
    static const int iwidth = I;
    static const bool sign = true;
    typedef ap_fixed<W, I, Q, O, N> fixed_t;
};
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N> struct fixed_info<ap_ufixed<W, I, Q, O, N> > {
    static const int width = W;
    static const int iwidth = I;
    static const bool sign = false;
    typedef ap_ufixed<W, I, Q, O, N> fixed_t;
};
template <int W> struct fixed_info<ap_int<W> > {
    static const int width = W;
    static const int iwidth = W;
    static const bool sign = true;
    typedef ap_fixed<W, W> fixed_t;
};
template <int W> struct fixed_info<ap_uint<W> > {
    static const int width = W;
    static const int iwidth = W;
    static const bool sign = false;
    typedef ap_ufixed<W, W> fixed_t;
};

// A signed type that holds every value of T and of any sum of up to 2**extra values of T exactly.
template <class T, int extra> struct wide_sum {
    typedef ap_fixed<fixed_info<T>::width + extra + 1, fixed_info<T>::iwidth + extra + 1> type;
};

// cast<T>(double): ap_fixed's constructor from double (exact value, then T's rounding and overflow).
// ap_int / ap_uint go through their ap_fixed twin so that they floor and wrap like ap_fixed does.
template <class T> inline T from_double(double x) { return T(typename fixed_info<T>::fixed_t(x)); }

// Index into a LUT of n_table entries covering [lo, lo + 2**range_log2):
// clamp(floor((x - lo) * n_table / 2**range_log2), 0, n_table - 1). Exact for every input type.
// The value x - lo is computed exactly; the conversion into ap_ufixed<log2(n), range_log2> (AP_TRN)
// floors it to a multiple of 2**range_log2 / n_table, whose raw bits are the index.
template <int n_table, int range_log2, class x_T> inline unsigned lut_index(x_T shifted) {
    static const int idx_bits = ceil_log2(n_table);
    if (shifted < 0)
        return 0;
    if (shifted >= (1 << range_log2))
        return n_table - 1;
    ap_ufixed<idx_bits, range_log2, AP_TRN, AP_WRAP> q = shifted;
    return (unsigned)q.range(idx_bits - 1, 0).to_uint64();
}

// ---------------------------------------------------------------- constants and tracing (C simulation only)
#ifndef __SYNTHESIS__
// rom<T, N>: the C-simulation form of a constant array (firmware/weights/*.h). Brace-initializing N ap_fixed
// objects makes g++ spend seconds per thousand elements; this class takes the same exact double constants
// as one static array and converts them in a loop at load time. Synthesis sees a plain `const T x[N]`.
template <class T, int N> struct rom {
    T data[N];
    rom(std::initializer_list<double> values) {
        int i = 0;
        for (const double *v = values.begin(); v != values.end() && i < N; ++v)
            data[i++] = from_double<T>(*v);
        for (; i < N; i++)
            data[i] = 0;
    }
    operator const T *() const { return data; }
};

// trace_outputs[k] (when both are non-null) receives layer k's output as doubles; set by the bridge.
// Defined in firmware/<project>.cpp; thread-local so that concurrent predictions do not interfere.
extern thread_local NNET_HIDDEN double **trace_outputs;

template <class T, int N> inline void trace_layer(int index, const T data[N]) {
    if (trace_outputs == 0 || trace_outputs[index] == 0)
        return;
    double *dst = trace_outputs[index];
    for (int i = 0; i < N; i++)
        dst[i] = data[i].to_double();
}
#endif

} // namespace nnet

#endif
