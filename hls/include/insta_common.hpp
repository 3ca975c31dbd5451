// Pieces shared by the INSTA kernels (insta_threshold.hpp, insta_prelu.hpp), docs/numerics.md
// sections 8-10: the per-frame statistic S_c = sum_hw (x 2^K - mu_c)^3 with the frame buffer,
// round half to even of a right shift, and saturation.
//
// The kernels take a layer configuration struct `Cfg` that the generated top defines (types and
// constants from the exact ranges computed in the kinds' hls.py, flows/layers/insta_threshold/ and
// insta_prelu/); every ap_int type in it holds the exact range of its value, so nothing wraps.
// Members used here:
//   PE, NF            lanes per stream word; words per vector (C/PE)
//   NUM_VECTORS       H*W, vectors per frame
//   TIn               input element policy (UIntElem<n>/IntElem<n>, bnn_common.hpp)
//   MU_SHIFT          K: mu is on a grid 2^-K finer than x's (mu_frac_bits)
//   shifted_t         x 2^K;  mu_t: mu;  d_t: x 2^K - mu;  cube_t: d^3;  acc_t: S (acc_type)
#ifndef INSTA_COMMON_HPP
#define INSTA_COMMON_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "bnn_common.hpp"

// rne(v 2^-SH): round half to even of a right shift (QONNX ROUND), exact: q = floor(v 2^-SH) by
// an arithmetic shift, then +1 when the dropped bits exceed half, or equal half with q odd.
template<
    int W,   // width of the signed operand; at least SH + 2 (the emitter widens it)
    int SH   // right shift in bits, >= 1 (SH = 0 is the specialisation below)
>
struct InstaRne {
    typedef ap_int<W - SH + 1> result_t;  // floor needs W - SH bits, the rounding up one more
    static result_t apply(const ap_int<W> &v) {
        static_assert(W >= SH + 2, "widen the operand to at least SH + 2 bits");
        ap_int<W - SH> q = v >> SH;
        ap_uint<SH> dropped = v.range(SH - 1, 0);
        const ap_uint<SH> half = ap_uint<SH>(1) << (SH - 1);
        bool up = dropped > half || (dropped == half && q[0] == 1);
        result_t rounded = q;
        if (up) {
            rounded++;
        }
        return rounded;
    }
};

// SH = 0: nothing is dropped.
template<
    int W  // width of the signed operand
>
struct InstaRne<W, 0> {
    typedef ap_int<W> result_t;
    static result_t apply(const ap_int<W> &v) {
        return v;
    }
};

// Clamp v onto [LO, HI], the range of T (two comparators and a mux).
template<
    typename T,    // result type, holds [LO, HI]
    long long LO,  // lower bound
    long long HI,  // upper bound
    typename V     // operand type (any ap_int/ap_uint width)
>
T insta_saturate(const V &v) {
    T out;
    if (v < LO) {
        out = LO;
    } else if (v > HI) {
        out = HI;
    } else {
        out = v;
    }
    return out;
}

// Reads one frame (NUM_VECTORS * NF words), stores it in `buffer` in raster order and accumulates
// acc[pe][nf] = S of channel nf*PE + pe. The first vector of the frame restarts the sums.
template<
    typename Cfg  // layer configuration (see the top of this file)
>
void insta_accumulate(
    hls::stream<ap_uint<Cfg::PE * Cfg::TIn::BITS> > &in,
    ap_uint<Cfg::PE * Cfg::TIn::BITS> buffer[Cfg::NUM_VECTORS * Cfg::NF],
    typename Cfg::acc_t acc[Cfg::PE][Cfg::NF],
    const typename Cfg::mu_t mu[Cfg::PE][Cfg::NF]
) {
    constexpr unsigned WORDS = Cfg::NUM_VECTORS * Cfg::NF;
    unsigned nf = 0;
    for (unsigned i = 0; i < WORDS; i++) {
        // one word per cycle: buffer write and PE cube-accumulate datapaths in parallel; with
        // NF = 1 the accumulator is read and written every cycle (a register, no memory)
        #pragma HLS PIPELINE II=1
        ap_uint<Cfg::PE * Cfg::TIn::BITS> word = in.read();
        buffer[i] = word;
        for (unsigned pe = 0; pe < Cfg::PE; pe++) {
            // PE lanes: d (N + K + 1 bits), d^2, d^3 exact, then the accumulator
            #pragma HLS UNROLL
            typename Cfg::shifted_t xs =
                Cfg::TIn::decode(bnn_lane<Cfg::TIn::BITS, Cfg::PE>(word, pe));
            xs <<= Cfg::MU_SHIFT;
            typename Cfg::d_t d = xs - mu[pe][nf];
            typename Cfg::cube_t cube = d * d * d;
            // every partial sum has at most H*W terms, so it lies inside acc_t's range
            typename Cfg::acc_t before = 0;
            if (i >= Cfg::NF) {
                before = acc[pe][nf];
            }
            acc[pe][nf] = before + cube;
        }
        nf++;
        if (nf == Cfg::NF) {
            nf = 0;
        }
    }
}

#endif  // INSTA_COMMON_HPP
