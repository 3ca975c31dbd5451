// INSTA-PReLU in integers, forms "alpha" (own statistics), "reuse" (S of the block's INSTA-Th
// on a second input) and "se" (INSTA-PReLU+: own statistics, v from the SE of insta_se.hpp
// instead of Mv, Bv); docs/numerics.md section 10, golden model flows/layers/insta_prelu/golden.py.
// Per frame and channel c:
//
//     S_c = sum_hw (x 2^K - mu_c)^3   (own)    or    S[c mod C_stat] from in_stat (reuse)
//     v_c = sat_INT(VB)(rne((Mv_c S_c + Bv_c) 2^-EV))        g_c = table[v_c - V_MIN]
//     d   = x 2^GF - g_c                  y = sat(rne((d >= 0 ? mp_c : mn_c) d + add_c) 2^-Y_SHIFT)
//
// with Y_SHIFT = shift + GF; every intermediate is exact (types from the exact ranges), only v
// and y saturate, both roundings are half to even (InstaRne).
//
// Schedule (one call per frame). Own form: read the frame into a buffer while S accumulates, C/G
// cycles for v and gamma, then the buffered frame leaves requantised (about 2*H*W*C/PE + C/G
// cycles per frame; the RTL overlaps the phases, see insta_threshold.hpp for why this kernel does
// not use DATAFLOW). Reuse form: read the C_stat/PE words of S, C/G cycles for gamma, then the
// frame streams through at one word per cycle with no buffer. SE form: as the own form, with the
// SE between the statistic and gamma (about 2*C/G + 2*C*HID/PE more cycles per frame).
//
// Cfg members (besides those of insta_common.hpp, which only the own form uses):
//   C, G, SNF          channels; evaluators (divide PE); words of S per frame (own: NF,
//                      reuse: C_stat/PE, channel group nf reads S word nf mod SNF)
//   TStat              reuse: element policy of the S port; acc_t is its value_t
//   mv_t, bv_t         Mv (mantissa_bits), Bv (offset_bits); not in the SE form
//   VSUM_BITS, EV      Mv*S + Bv: exact width, at least EV + 2; its exponent; not in the SE form
//   (SE form: the SE's members, insta_se.hpp)
//   VB, V_MIN, V_MAX, v_t  v: INT(VB), the table has 2^VB entries
//   table_t            gamma table entries (table_type)
//   GF, xg_t, dg_t     gamma_frac_bits; x 2^GF; d = x 2^GF - gamma
//   mul_t, add_t       mp/mn (mul_type); add (add_type)
//   YSUM_BITS, Y_SHIFT     factor*d + add: exact width, at least Y_SHIFT + 2; shift + GF
//   TOut, Y_MIN, Y_MAX     output element policy and its range
#ifndef INSTA_PRELU_HPP
#define INSTA_PRELU_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "bnn_common.hpp"
#include "insta_common.hpp"
#include "insta_se.hpp"

// gamma[pe][nf] of channel nf*PE + pe from the sums s[pe][nf mod SNF]; G channels per cycle.
// `table` holds one copy per evaluator, so the G reads of a cycle hit G ROMs.
template<
    typename Cfg  // layer configuration (see the top of this file)
>
void insta_prelu_gamma(
    const typename Cfg::acc_t s[Cfg::PE][Cfg::SNF],
    const typename Cfg::mv_t mv[Cfg::PE][Cfg::NF],
    const typename Cfg::bv_t bv[Cfg::PE][Cfg::NF],
    const typename Cfg::table_t table[Cfg::G][1 << Cfg::VB],
    typename Cfg::table_t gamma[Cfg::PE][Cfg::NF]
) {
    static_assert(Cfg::PE % Cfg::G == 0, "G must divide PE");
    typedef InstaRne<Cfg::VSUM_BITS, Cfg::EV> v_rne;
    constexpr unsigned STEPS = Cfg::C / Cfg::G;
    unsigned pe0 = 0;
    unsigned nf = 0;
    unsigned snf = 0;
    for (unsigned j = 0; j < STEPS; j++) {
        // G evaluators, one channel each per cycle
        #pragma HLS PIPELINE II=1
        for (unsigned g = 0; g < Cfg::G; g++) {
            // G parallel datapaths: Mv*S (a DSP cascade), + Bv, rounding, saturation, table read
            #pragma HLS UNROLL
            const unsigned pe = pe0 + g;
            ap_int<Cfg::VSUM_BITS> sum = mv[pe][nf] * s[pe][snf] + bv[pe][nf];
            typename v_rne::result_t rounded = v_rne::apply(sum);
            typename Cfg::v_t v =
                insta_saturate<typename Cfg::v_t, Cfg::V_MIN, Cfg::V_MAX>(rounded);
            ap_uint<Cfg::VB> index = v - Cfg::V_MIN;
            gamma[pe][nf] = table[g][index];
        }
        pe0 += Cfg::G;
        if (pe0 == Cfg::PE) {
            pe0 = 0;
            nf++;
            snf++;
            if (snf == Cfg::SNF) {
                snf = 0;
            }
        }
    }
}

// INSTA-PReLU+: gamma[pe][nf] = table[v - V_MIN] from v (the SE's output); G channels per cycle,
// one table copy per evaluator as in insta_prelu_gamma.
template<
    typename Cfg  // layer configuration (see the top of this file)
>
void insta_prelu_lookup(
    const typename Cfg::v_t v[Cfg::PE][Cfg::NF],
    const typename Cfg::table_t table[Cfg::G][1 << Cfg::VB],
    typename Cfg::table_t gamma[Cfg::PE][Cfg::NF]
) {
    static_assert(Cfg::PE % Cfg::G == 0, "G must divide PE");
    constexpr unsigned STEPS = Cfg::C / Cfg::G;
    unsigned pe0 = 0;
    unsigned nf = 0;
    for (unsigned j = 0; j < STEPS; j++) {
        // G evaluators, one channel each per cycle
        #pragma HLS PIPELINE II=1
        for (unsigned g = 0; g < Cfg::G; g++) {
            // G parallel table reads (G ROMs)
            #pragma HLS UNROLL
            const unsigned pe = pe0 + g;
            ap_uint<Cfg::VB> index = v[pe][nf] - Cfg::V_MIN;
            gamma[pe][nf] = table[g][index];
        }
        pe0 += Cfg::G;
        if (pe0 == Cfg::PE) {
            pe0 = 0;
            nf++;
        }
    }
}

// One output word from one input word of channel group nf: PE requantised PReLU lanes.
template<
    typename Cfg  // layer configuration (see the top of this file)
>
ap_uint<Cfg::PE * Cfg::TOut::BITS> insta_prelu_word(
    const ap_uint<Cfg::PE * Cfg::TIn::BITS> &word,
    unsigned nf,
    const typename Cfg::table_t gamma[Cfg::PE][Cfg::NF],
    const typename Cfg::mul_t mul_pos[Cfg::PE][Cfg::NF],
    const typename Cfg::mul_t mul_neg[Cfg::PE][Cfg::NF],
    const typename Cfg::add_t add[Cfg::PE][Cfg::NF]
) {
    typedef InstaRne<Cfg::YSUM_BITS, Cfg::Y_SHIFT> y_rne;
    typedef typename Cfg::TOut::value_t out_t;
    ap_uint<Cfg::PE * Cfg::TOut::BITS> result = 0;
    for (unsigned pe = 0; pe < Cfg::PE; pe++) {
        // PE lanes: subtract, select the slope by the sign of d, one multiplier (a DSP), round
        #pragma HLS UNROLL
        typename Cfg::xg_t xg = Cfg::TIn::decode(bnn_lane<Cfg::TIn::BITS, Cfg::PE>(word, pe));
        xg <<= Cfg::GF;
        typename Cfg::dg_t d = xg - gamma[pe][nf];
        typename Cfg::mul_t factor = d >= 0 ? mul_pos[pe][nf] : mul_neg[pe][nf];
        ap_int<Cfg::YSUM_BITS> y = factor * d + add[pe][nf];
        typename y_rne::result_t rounded = y_rne::apply(y);
        out_t q = insta_saturate<out_t, Cfg::Y_MIN, Cfg::Y_MAX>(rounded);
        result((pe + 1) * Cfg::TOut::BITS - 1, pe * Cfg::TOut::BITS) = q;
    }
    return result;
}

// One frame through INSTA-PReLU with its own statistics (form "alpha").
// Constant layout: [pe][nf] holds channel nf*PE + pe; the caller partitions dimension 1.
template<
    typename Cfg  // layer configuration (see the top of this file)
>
void InstaPReLUOwn(
    hls::stream<ap_uint<Cfg::PE * Cfg::TIn::BITS> > &in,
    hls::stream<ap_uint<Cfg::PE * Cfg::TOut::BITS> > &out,
    const typename Cfg::mu_t mu[Cfg::PE][Cfg::NF],
    const typename Cfg::mv_t mv[Cfg::PE][Cfg::NF],
    const typename Cfg::bv_t bv[Cfg::PE][Cfg::NF],
    const typename Cfg::table_t table[Cfg::G][1 << Cfg::VB],
    const typename Cfg::mul_t mul_pos[Cfg::PE][Cfg::NF],
    const typename Cfg::mul_t mul_neg[Cfg::PE][Cfg::NF],
    const typename Cfg::add_t add[Cfg::PE][Cfg::NF]
) {
    static_assert(Cfg::SNF == Cfg::NF, "own statistics: one S per channel");
    constexpr unsigned WORDS = Cfg::NUM_VECTORS * Cfg::NF;
    // static: one frame (H*W*C/PE words, a block RAM) would overflow the C-simulation stack; no
    // state crosses calls, every word is written before it is read in the same call
    static ap_uint<Cfg::PE * Cfg::TIn::BITS> buffer[WORDS];
    typename Cfg::acc_t acc[Cfg::PE][Cfg::NF];
    typename Cfg::table_t gamma[Cfg::PE][Cfg::NF];
    // PE accumulators and gamma values per cycle: one memory (of NF words) per lane
    #pragma HLS ARRAY_PARTITION variable=acc complete dim=1
    #pragma HLS ARRAY_PARTITION variable=gamma complete dim=1
    insta_accumulate<Cfg>(in, buffer, acc, mu);
    insta_prelu_gamma<Cfg>(acc, mv, bv, table, gamma);
    unsigned nf = 0;
    for (unsigned i = 0; i < WORDS; i++) {
        // one buffered word in, one requantised word out per cycle
        #pragma HLS PIPELINE II=1
        out.write(insta_prelu_word<Cfg>(buffer[i], nf, gamma, mul_pos, mul_neg, add));
        nf++;
        if (nf == Cfg::NF) {
            nf = 0;
        }
    }
}

// One frame through INSTA-PReLU+ (form "se"): own statistics as InstaPReLUOwn, then the SE
// (insta_se.hpp; constants mm .. mo) gives v, the table gamma, and the buffered frame leaves
// requantised. Constant layout: see InstaPReLUOwn and insta_se.
template<
    typename Cfg  // layer configuration (see the top of this file)
>
void InstaPReLUSE(
    hls::stream<ap_uint<Cfg::PE * Cfg::TIn::BITS> > &in,
    hls::stream<ap_uint<Cfg::PE * Cfg::TOut::BITS> > &out,
    const typename Cfg::mu_t mu[Cfg::PE][Cfg::NF],
    const typename Cfg::se_mant_t mm[Cfg::PE][Cfg::NF],
    const typename Cfg::w_t w1[Cfg::PE][Cfg::HID * Cfg::NF],
    const typename Cfg::se_mant_t mh[1][Cfg::HID],
    const typename Cfg::w_t w2[Cfg::PE][Cfg::NF * Cfg::HID],
    const typename Cfg::se_mant_t mo[Cfg::PE][Cfg::NF],
    const typename Cfg::table_t table[Cfg::G][1 << Cfg::VB],
    const typename Cfg::mul_t mul_pos[Cfg::PE][Cfg::NF],
    const typename Cfg::mul_t mul_neg[Cfg::PE][Cfg::NF],
    const typename Cfg::add_t add[Cfg::PE][Cfg::NF]
) {
    static_assert(Cfg::SNF == Cfg::NF, "own statistics: one S per channel");
    constexpr unsigned WORDS = Cfg::NUM_VECTORS * Cfg::NF;
    // static: see InstaPReLUOwn
    static ap_uint<Cfg::PE * Cfg::TIn::BITS> buffer[WORDS];
    typename Cfg::acc_t acc[Cfg::PE][Cfg::NF];
    typename Cfg::v_t v[Cfg::PE][Cfg::NF];
    typename Cfg::table_t gamma[Cfg::PE][Cfg::NF];
    // PE accumulators, v and gamma values per cycle: one memory (of NF words) per lane
    #pragma HLS ARRAY_PARTITION variable=acc complete dim=1
    #pragma HLS ARRAY_PARTITION variable=v complete dim=1
    #pragma HLS ARRAY_PARTITION variable=gamma complete dim=1
    insta_accumulate<Cfg>(in, buffer, acc, mu);
    insta_se<Cfg>(acc, mm, w1, mh, w2, mo, v);
    insta_prelu_lookup<Cfg>(v, table, gamma);
    unsigned nf = 0;
    for (unsigned i = 0; i < WORDS; i++) {
        // one buffered word in, one requantised word out per cycle
        #pragma HLS PIPELINE II=1
        out.write(insta_prelu_word<Cfg>(buffer[i], nf, gamma, mul_pos, mul_neg, add));
        nf++;
        if (nf == Cfg::NF) {
            nf = 0;
        }
    }
}

// One frame through INSTA-PReLU reusing the INSTA-Th's statistic (form "reuse"): S of the frame
// (SNF words of PE lanes) on in_stat first, then the frame on in.
template<
    typename Cfg  // layer configuration (see the top of this file)
>
void InstaPReLUReuse(
    hls::stream<ap_uint<Cfg::PE * Cfg::TIn::BITS> > &in,
    hls::stream<ap_uint<Cfg::PE * Cfg::TStat::BITS> > &in_stat,
    hls::stream<ap_uint<Cfg::PE * Cfg::TOut::BITS> > &out,
    const typename Cfg::mv_t mv[Cfg::PE][Cfg::NF],
    const typename Cfg::bv_t bv[Cfg::PE][Cfg::NF],
    const typename Cfg::table_t table[Cfg::G][1 << Cfg::VB],
    const typename Cfg::mul_t mul_pos[Cfg::PE][Cfg::NF],
    const typename Cfg::mul_t mul_neg[Cfg::PE][Cfg::NF],
    const typename Cfg::add_t add[Cfg::PE][Cfg::NF]
) {
    constexpr unsigned WORDS = Cfg::NUM_VECTORS * Cfg::NF;
    typename Cfg::acc_t stat[Cfg::PE][Cfg::SNF];
    typename Cfg::table_t gamma[Cfg::PE][Cfg::NF];
    // PE sums and gamma values per cycle: one memory per lane
    #pragma HLS ARRAY_PARTITION variable=stat complete dim=1
    #pragma HLS ARRAY_PARTITION variable=gamma complete dim=1
    for (unsigned w = 0; w < Cfg::SNF; w++) {
        // one word of PE sums per cycle
        #pragma HLS PIPELINE II=1
        ap_uint<Cfg::PE * Cfg::TStat::BITS> word = in_stat.read();
        for (unsigned pe = 0; pe < Cfg::PE; pe++) {
            // wiring only: each field to its lane's memory
            #pragma HLS UNROLL
            stat[pe][w] = Cfg::TStat::decode(bnn_lane<Cfg::TStat::BITS, Cfg::PE>(word, pe));
        }
    }
    insta_prelu_gamma<Cfg>(stat, mv, bv, table, gamma);
    unsigned nf = 0;
    for (unsigned i = 0; i < WORDS; i++) {
        // one word in, one requantised word out per cycle
        #pragma HLS PIPELINE II=1
        out.write(insta_prelu_word<Cfg>(in.read(), nf, gamma, mul_pos, mul_neg, add));
        nf++;
        if (nf == Cfg::NF) {
            nf = 0;
        }
    }
}

#endif  // INSTA_PRELU_HPP
