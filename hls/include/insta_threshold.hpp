// INSTA-Th: the instance-aware threshold (docs/insta.md, docs/numerics.md sections 8-9,
// golden model flows/layers/insta_threshold/golden.py). Per frame and channel c over the H*W vectors:
//
//     S_c  = sum_hw (x 2^K - mu_c)^3                   exact, acc_t; K = MU_SHIFT = mu_frac_bits
//     th_c = clamp((A'_c + M_c * S_c) >> E, min, max + 1)
//     y    = (x >= th_c) XOR neg_c                     bit 1 = +1 (BIPOLAR)
//
// with A' = A + 2^E - 1 (sigma > 0: th = ceil(T)) or A + 2^E (sigma < 0: th = floor(T) + 1), so
// one arithmetic shift gives both roundings and ties give +1 (numerics section 9). mu_c is on
// the input grid refined by K bits (units of 2^-K input steps) and S in units of 2^-3K; the
// folded M carries the 2^-3K, so the kernel only shifts x (insta_accumulate) and needs K more
// bits in x 2^K, mu and d and 3K more in d^3 and S (numerics section 8).
//
// Schedule (one call per frame): the frame is read into a buffer while S accumulates (one word
// per cycle), C/G cycles evaluate the thresholds (G evaluators), then the buffered frame leaves on
// `out` (activations) and `out_delay` (the input itself, for the residual shortcut), one word per
// cycle. The phases run one after the other, so a frame takes about 2*H*W*C/PE + C/G cycles; the
// RTL (hw/templates/insta_threshold.v.j2) overlaps them with a circular buffer. Vitis HLS's
// DATAFLOW could overlap them too, but it would double-buffer the frame (ping-pong), which
// docs/insta.md rules out (one circular buffer); so this kernel keeps it and the lower rate.
//
// INSTA-Th+ (InstaThresholdSE, InstaThresholdSEStat, the SE form): S goes through the SE
// (insta_se.hpp) to v, and th_c = clamp((A'_c + M_c * tanh[v_c - V_MIN]) >> E, min, max + 1)
// with the 2^VB-entry table rne(3 tanh(v / 3) 2^tanh_frac_bits); the SE runs once per frame
// between the statistic and the thresholds (about 2*C/G + 2*C*HID/PE more cycles per frame).
//
// Cfg members (besides those of insta_common.hpp, with MU_SHIFT = mu_frac_bits):
//   C, G, E            channels; evaluators (divides PE); the exponent
//   mant_t, offs_t     M (mantissa_bits); A' (offset_bits + the 2^E term)
//   sum_t              A' + M*S (INSTA-Th+: A' + M*tanh), exact and at least E + 2 bits
//   th_t, TH_MIN, TH_MAX   thresholds: N + 1 bits, clamped to [min, max + 1] of the input
//   TStat              element policy of S on the statistic port (the *Stat kernels only)
//   tanh_t             INSTA-Th+: tanh table entries (|entry| <= 3 * 2^tanh_frac_bits); the SE's
//                      members are listed in insta_se.hpp
#ifndef INSTA_THRESHOLD_HPP
#define INSTA_THRESHOLD_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "bnn_common.hpp"
#include "insta_common.hpp"
#include "insta_se.hpp"

// One threshold: clamp((A' + M x) >> E, TH_MIN, TH_MAX), x = S (INSTA-Th) or tanh[v] (INSTA-Th+).
template<
    typename Cfg,  // layer configuration (see the top of this file)
    typename X     // operand type: acc_t or tanh_t
>
typename Cfg::th_t insta_threshold_of(
    const typename Cfg::offs_t &offs,
    const typename Cfg::mant_t &mant,
    const X &x
) {
    typename Cfg::sum_t sum = offs + mant * x;
    typename Cfg::sum_t floored = sum >> Cfg::E;  // arithmetic shift: floor
    return insta_saturate<typename Cfg::th_t, Cfg::TH_MIN, Cfg::TH_MAX>(floored);
}

// th[pe][nf] of channel nf*PE + pe from S; G channels (of one channel group) per cycle.
template<
    typename Cfg  // layer configuration (see the top of this file)
>
void insta_thresholds(
    const typename Cfg::acc_t acc[Cfg::PE][Cfg::NF],
    const typename Cfg::mant_t mant[Cfg::PE][Cfg::NF],
    const typename Cfg::offs_t offs[Cfg::PE][Cfg::NF],
    typename Cfg::th_t th[Cfg::PE][Cfg::NF]
) {
    static_assert(Cfg::PE % Cfg::G == 0, "G must divide PE");
    constexpr unsigned STEPS = Cfg::C / Cfg::G;
    unsigned pe0 = 0;
    unsigned nf = 0;
    for (unsigned j = 0; j < STEPS; j++) {
        // G evaluators, one channel each per cycle
        #pragma HLS PIPELINE II=1
        for (unsigned g = 0; g < Cfg::G; g++) {
            // G parallel multiply-add-shift datapaths (M*S: a DSP cascade)
            #pragma HLS UNROLL
            const unsigned pe = pe0 + g;
            th[pe][nf] = insta_threshold_of<Cfg>(offs[pe][nf], mant[pe][nf], acc[pe][nf]);
        }
        pe0 += Cfg::G;
        if (pe0 == Cfg::PE) {
            pe0 = 0;
            nf++;
        }
    }
}

// INSTA-Th+: th[pe][nf] from v (the SE's output) through the tanh table; G channels per cycle.
// `table` holds one copy per evaluator, so the G reads of a cycle hit G ROMs.
template<
    typename Cfg  // layer configuration (see the top of this file)
>
void insta_thresholds_se(
    const typename Cfg::v_t v[Cfg::PE][Cfg::NF],
    const typename Cfg::tanh_t table[Cfg::G][1 << Cfg::VB],
    const typename Cfg::mant_t mant[Cfg::PE][Cfg::NF],
    const typename Cfg::offs_t offs[Cfg::PE][Cfg::NF],
    typename Cfg::th_t th[Cfg::PE][Cfg::NF]
) {
    static_assert(Cfg::PE % Cfg::G == 0, "G must divide PE");
    constexpr unsigned STEPS = Cfg::C / Cfg::G;
    unsigned pe0 = 0;
    unsigned nf = 0;
    for (unsigned j = 0; j < STEPS; j++) {
        // G evaluators, one channel each per cycle
        #pragma HLS PIPELINE II=1
        for (unsigned g = 0; g < Cfg::G; g++) {
            // G parallel datapaths: table read, M*tanh (a DSP), + A', shift, clamp
            #pragma HLS UNROLL
            const unsigned pe = pe0 + g;
            ap_uint<Cfg::VB> index = v[pe][nf] - Cfg::V_MIN;
            th[pe][nf] = insta_threshold_of<Cfg>(offs[pe][nf], mant[pe][nf], table[g][index]);
        }
        pe0 += Cfg::G;
        if (pe0 == Cfg::PE) {
            pe0 = 0;
            nf++;
        }
    }
}

// Emits the buffered frame: activations on `out`, the words themselves on `out_delay`.
template<
    typename Cfg  // layer configuration (see the top of this file)
>
void insta_compare(
    const ap_uint<Cfg::PE * Cfg::TIn::BITS> buffer[Cfg::NUM_VECTORS * Cfg::NF],
    const typename Cfg::th_t th[Cfg::PE][Cfg::NF],
    const bool neg[Cfg::PE][Cfg::NF],
    hls::stream<ap_uint<Cfg::PE> > &out,
    hls::stream<ap_uint<Cfg::PE * Cfg::TIn::BITS> > &out_delay
) {
    constexpr unsigned WORDS = Cfg::NUM_VECTORS * Cfg::NF;
    unsigned nf = 0;
    for (unsigned i = 0; i < WORDS; i++) {
        // one buffer read, PE comparisons and both output words per cycle
        #pragma HLS PIPELINE II=1
        ap_uint<Cfg::PE * Cfg::TIn::BITS> word = buffer[i];
        ap_uint<Cfg::PE> bits = 0;
        for (unsigned pe = 0; pe < Cfg::PE; pe++) {
            // PE comparators of N + 1 bits (sign-aware ap_int comparison)
            #pragma HLS UNROLL
            typename Cfg::TIn::value_t x =
                Cfg::TIn::decode(bnn_lane<Cfg::TIn::BITS, Cfg::PE>(word, pe));
            bool pass = x >= th[pe][nf];
            bits[pe] = pass != neg[pe][nf];
        }
        out.write(bits);
        out_delay.write(word);
        nf++;
        if (nf == Cfg::NF) {
            nf = 0;
        }
    }
}

// S of the frame on the statistic port: NF words of PE lanes (lane pe = channel nf*PE + pe).
template<
    typename Cfg  // layer configuration (see the top of this file)
>
void insta_write_statistic(
    const typename Cfg::acc_t acc[Cfg::PE][Cfg::NF],
    hls::stream<ap_uint<Cfg::PE * Cfg::TStat::BITS> > &out_stat
) {
    for (unsigned nf = 0; nf < Cfg::NF; nf++) {
        // one word of PE sums per cycle
        #pragma HLS PIPELINE II=1
        ap_uint<Cfg::PE * Cfg::TStat::BITS> word = 0;
        for (unsigned pe = 0; pe < Cfg::PE; pe++) {
            // wiring only: each sum drives its field (two's complement)
            #pragma HLS UNROLL
            word((pe + 1) * Cfg::TStat::BITS - 1, pe * Cfg::TStat::BITS) = acc[pe][nf];
        }
        out_stat.write(word);
    }
}

// One frame through INSTA-Th: two outputs (activations, delayed input).
// Constant layout: [pe][nf] holds channel nf*PE + pe; the caller partitions dimension 1.
template<
    typename Cfg  // layer configuration (see the top of this file)
>
void InstaThreshold(
    hls::stream<ap_uint<Cfg::PE * Cfg::TIn::BITS> > &in,
    hls::stream<ap_uint<Cfg::PE> > &out,
    hls::stream<ap_uint<Cfg::PE * Cfg::TIn::BITS> > &out_delay,
    const typename Cfg::mu_t mu[Cfg::PE][Cfg::NF],
    const typename Cfg::mant_t mant[Cfg::PE][Cfg::NF],
    const typename Cfg::offs_t offs[Cfg::PE][Cfg::NF],
    const bool neg[Cfg::PE][Cfg::NF]
) {
    // static: one frame (H*W*C/PE words, a block RAM) would overflow the C-simulation stack; no
    // state crosses calls, every word is written before it is read in the same call
    static ap_uint<Cfg::PE * Cfg::TIn::BITS> buffer[Cfg::NUM_VECTORS * Cfg::NF];
    typename Cfg::acc_t acc[Cfg::PE][Cfg::NF];
    typename Cfg::th_t th[Cfg::PE][Cfg::NF];
    // PE accumulators and thresholds per cycle: one memory (of NF words) per lane
    #pragma HLS ARRAY_PARTITION variable=acc complete dim=1
    #pragma HLS ARRAY_PARTITION variable=th complete dim=1
    insta_accumulate<Cfg>(in, buffer, acc, mu);
    insta_thresholds<Cfg>(acc, mant, offs, th);
    insta_compare<Cfg>(buffer, th, neg, out, out_delay);
}

// INSTA-Th with the statistic port (statistic_output): S leaves before the activations.
template<
    typename Cfg  // layer configuration (see the top of this file)
>
void InstaThresholdStat(
    hls::stream<ap_uint<Cfg::PE * Cfg::TIn::BITS> > &in,
    hls::stream<ap_uint<Cfg::PE> > &out,
    hls::stream<ap_uint<Cfg::PE * Cfg::TIn::BITS> > &out_delay,
    hls::stream<ap_uint<Cfg::PE * Cfg::TStat::BITS> > &out_stat,
    const typename Cfg::mu_t mu[Cfg::PE][Cfg::NF],
    const typename Cfg::mant_t mant[Cfg::PE][Cfg::NF],
    const typename Cfg::offs_t offs[Cfg::PE][Cfg::NF],
    const bool neg[Cfg::PE][Cfg::NF]
) {
    // static: see InstaThreshold
    static ap_uint<Cfg::PE * Cfg::TIn::BITS> buffer[Cfg::NUM_VECTORS * Cfg::NF];
    typename Cfg::acc_t acc[Cfg::PE][Cfg::NF];
    typename Cfg::th_t th[Cfg::PE][Cfg::NF];
    // PE accumulators and thresholds per cycle: one memory (of NF words) per lane
    #pragma HLS ARRAY_PARTITION variable=acc complete dim=1
    #pragma HLS ARRAY_PARTITION variable=th complete dim=1
    insta_accumulate<Cfg>(in, buffer, acc, mu);
    insta_write_statistic<Cfg>(acc, out_stat);
    insta_thresholds<Cfg>(acc, mant, offs, th);
    insta_compare<Cfg>(buffer, th, neg, out, out_delay);
}

// One frame through INSTA-Th+ (the SE form): as InstaThreshold, with the SE (insta_se.hpp)
// between the statistic and the thresholds. SE constants: see insta_se; `table` = tanh table.
template<
    typename Cfg  // layer configuration (see the top of this file)
>
void InstaThresholdSE(
    hls::stream<ap_uint<Cfg::PE * Cfg::TIn::BITS> > &in,
    hls::stream<ap_uint<Cfg::PE> > &out,
    hls::stream<ap_uint<Cfg::PE * Cfg::TIn::BITS> > &out_delay,
    const typename Cfg::mu_t mu[Cfg::PE][Cfg::NF],
    const typename Cfg::mant_t mant[Cfg::PE][Cfg::NF],
    const typename Cfg::offs_t offs[Cfg::PE][Cfg::NF],
    const bool neg[Cfg::PE][Cfg::NF],
    const typename Cfg::se_mant_t mm[Cfg::PE][Cfg::NF],
    const typename Cfg::w_t w1[Cfg::PE][Cfg::HID * Cfg::NF],
    const typename Cfg::se_mant_t mh[1][Cfg::HID],
    const typename Cfg::w_t w2[Cfg::PE][Cfg::NF * Cfg::HID],
    const typename Cfg::se_mant_t mo[Cfg::PE][Cfg::NF],
    const typename Cfg::tanh_t table[Cfg::G][1 << Cfg::VB]
) {
    // static: see InstaThreshold
    static ap_uint<Cfg::PE * Cfg::TIn::BITS> buffer[Cfg::NUM_VECTORS * Cfg::NF];
    typename Cfg::acc_t acc[Cfg::PE][Cfg::NF];
    typename Cfg::v_t v[Cfg::PE][Cfg::NF];
    typename Cfg::th_t th[Cfg::PE][Cfg::NF];
    // PE accumulators, v and thresholds per cycle: one memory (of NF words) per lane
    #pragma HLS ARRAY_PARTITION variable=acc complete dim=1
    #pragma HLS ARRAY_PARTITION variable=v complete dim=1
    #pragma HLS ARRAY_PARTITION variable=th complete dim=1
    insta_accumulate<Cfg>(in, buffer, acc, mu);
    insta_se<Cfg>(acc, mm, w1, mh, w2, mo, v);
    insta_thresholds_se<Cfg>(v, table, mant, offs, th);
    insta_compare<Cfg>(buffer, th, neg, out, out_delay);
}

// INSTA-Th+ with the statistic port (statistic_output): S leaves before the SE runs.
template<
    typename Cfg  // layer configuration (see the top of this file)
>
void InstaThresholdSEStat(
    hls::stream<ap_uint<Cfg::PE * Cfg::TIn::BITS> > &in,
    hls::stream<ap_uint<Cfg::PE> > &out,
    hls::stream<ap_uint<Cfg::PE * Cfg::TIn::BITS> > &out_delay,
    hls::stream<ap_uint<Cfg::PE * Cfg::TStat::BITS> > &out_stat,
    const typename Cfg::mu_t mu[Cfg::PE][Cfg::NF],
    const typename Cfg::mant_t mant[Cfg::PE][Cfg::NF],
    const typename Cfg::offs_t offs[Cfg::PE][Cfg::NF],
    const bool neg[Cfg::PE][Cfg::NF],
    const typename Cfg::se_mant_t mm[Cfg::PE][Cfg::NF],
    const typename Cfg::w_t w1[Cfg::PE][Cfg::HID * Cfg::NF],
    const typename Cfg::se_mant_t mh[1][Cfg::HID],
    const typename Cfg::w_t w2[Cfg::PE][Cfg::NF * Cfg::HID],
    const typename Cfg::se_mant_t mo[Cfg::PE][Cfg::NF],
    const typename Cfg::tanh_t table[Cfg::G][1 << Cfg::VB]
) {
    // static: see InstaThreshold
    static ap_uint<Cfg::PE * Cfg::TIn::BITS> buffer[Cfg::NUM_VECTORS * Cfg::NF];
    typename Cfg::acc_t acc[Cfg::PE][Cfg::NF];
    typename Cfg::v_t v[Cfg::PE][Cfg::NF];
    typename Cfg::th_t th[Cfg::PE][Cfg::NF];
    // PE accumulators, v and thresholds per cycle: one memory (of NF words) per lane
    #pragma HLS ARRAY_PARTITION variable=acc complete dim=1
    #pragma HLS ARRAY_PARTITION variable=v complete dim=1
    #pragma HLS ARRAY_PARTITION variable=th complete dim=1
    insta_accumulate<Cfg>(in, buffer, acc, mu);
    insta_write_statistic<Cfg>(acc, out_stat);
    insta_se<Cfg>(acc, mm, w1, mh, w2, mo, v);
    insta_thresholds_se<Cfg>(v, table, mant, offs, th);
    insta_compare<Cfg>(buffer, th, neg, out, out_delay);
}

#endif  // INSTA_THRESHOLD_HPP
