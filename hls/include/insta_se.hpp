// The integer SE block of INSTA-Th+ / INSTA-PReLU+ (docs/numerics.md section 10, golden model
// flows.layers.insta_se.se_v). Once per frame, from the statistic S of the C channels:
//
//     m3_c = sat_INT8(rne(Mm_c S_c 2^-M3_SHIFT))
//     h_j  = sat_UINT8(rne(Mh_j max(sum_c w1[j][c] m3_c, 0) 2^-HID_SHIFT))
//     v_c  = sat_INT(VB)(rne(Mo_c (sum_j w2[c][j] h_j) 2^-V_SHIFT))
//
// with 18-bit mantissas (se_mant_t) and INT8 weights. Every product and sum is exact (the types
// come from the exact ranges, flows/layers/insta_se/hls.py: the accumulators from widths.py's
// se_widths, each rescaler's product as in the RTL's rescaler: max(operand bits + mantissa bits,
// shift + output bits + 1)); only the three rescalings round (half to even, InstaRne) and saturate.
//
// Schedule (`insta_se`, sequential phases as the rest of the INSTA kernels): G rescalers make m3
// in C/G cycles; FC1 takes PE products (one channel group) per cycle, HID*NF cycles; FC2 PE
// channels per cycle, one hidden unit each, NF*HID cycles; G rescalers make v in C/G cycles. In
// all about 2*C/G + 2*C*HID/PE cycles per frame, between the statistics and the thresholds.
//
// Cfg members (besides those of insta_common.hpp):
//   C, G, HID          channels; rescalers of the m3 and v phases (divides PE); hidden units
//   se_mant_t, w_t     Mm, Mh, Mo (INT(mantissa_bits)); w1, w2 (INT8)
//   m3_t, hid_t, v_t   m3 (INT8), h (UINT8), v (INT(VB))
//   fc1_t, fc2_t       w1 m3 and w2 h, exact
//   M3_SHIFT, M3_W     m3 rescaler: shift, width of Mm*S (at least M3_SHIFT + 9)
//   HID_SHIFT, HID_W   h rescaler: shift, width of Mh*relu(w1 m3) (at least HID_SHIFT + 9)
//   V_SHIFT, V_W       v rescaler: shift, width of Mo*(w2 h) (at least V_SHIFT + VB + 1)
//   VB, V_MIN, V_MAX   v: INT(VB)
#ifndef INSTA_SE_HPP
#define INSTA_SE_HPP

#include <ap_int.h>

#include "insta_common.hpp"

// sat(rne(m x 2^-SH)) onto [LO, HI]: one exact product, round half to even, saturation.
template<
    typename Out,  // result type, holds [LO, HI]
    long long LO,  // lower saturation bound
    long long HI,  // upper saturation bound
    int W,         // width of the exact product; at least SH + 2
    int SH,        // right shift of the rounding
    typename M,    // mantissa type
    typename X     // operand type
>
Out insta_rescale(const M &m, const X &x) {
    ap_int<W> product = m * x;
    typename InstaRne<W, SH>::result_t rounded = InstaRne<W, SH>::apply(product);
    return insta_saturate<Out, LO, HI>(rounded);
}

// m3[pe][nf] of channel nf*PE + pe from S; G rescalers, C/G cycles.
template<
    typename Cfg  // layer configuration (see the top of this file)
>
void insta_se_m3(
    const typename Cfg::acc_t s[Cfg::PE][Cfg::NF],
    const typename Cfg::se_mant_t mm[Cfg::PE][Cfg::NF],
    typename Cfg::m3_t m3[Cfg::PE][Cfg::NF]
) {
    static_assert(Cfg::PE % Cfg::G == 0, "G must divide PE");
    constexpr unsigned STEPS = Cfg::C / Cfg::G;
    unsigned pe0 = 0;
    unsigned nf = 0;
    for (unsigned i = 0; i < STEPS; i++) {
        // G rescalers, one channel each per cycle
        #pragma HLS PIPELINE II=1
        for (unsigned g = 0; g < Cfg::G; g++) {
            // G parallel datapaths: Mm*S (a DSP cascade), rounding, saturation
            #pragma HLS UNROLL
            const unsigned pe = pe0 + g;
            m3[pe][nf] = insta_rescale<typename Cfg::m3_t, -128, 127, Cfg::M3_W, Cfg::M3_SHIFT>(
                mm[pe][nf], s[pe][nf]);
        }
        pe0 += Cfg::G;
        if (pe0 == Cfg::PE) {
            pe0 = 0;
            nf++;
        }
    }
}

// FC1, ReLU and the h rescaler: h[j] for j < HID. Step i = j*NF + nf takes the PE products of
// channel group nf, w1 at [pe][i] (= w1[j][nf*PE + pe]); the last group of j rescales the sum.
template<
    typename Cfg  // layer configuration (see the top of this file)
>
void insta_se_fc1(
    const typename Cfg::m3_t m3[Cfg::PE][Cfg::NF],
    const typename Cfg::w_t w1[Cfg::PE][Cfg::HID * Cfg::NF],
    const typename Cfg::se_mant_t mh[1][Cfg::HID],
    typename Cfg::hid_t h[Cfg::HID]
) {
    typename Cfg::fc1_t acc = 0;
    unsigned nf = 0;
    unsigned j = 0;
    for (unsigned i = 0; i < Cfg::HID * Cfg::NF; i++) {
        // one channel group per cycle: PE 8x8-bit products, an adder tree and the accumulator
        #pragma HLS PIPELINE II=1
        typename Cfg::fc1_t part = 0;
        for (unsigned pe = 0; pe < Cfg::PE; pe++) {
            // PE parallel products (every partial sum lies inside fc1_t's range)
            #pragma HLS UNROLL
            part += w1[pe][i] * m3[pe][nf];
        }
        typename Cfg::fc1_t before = 0;
        if (nf != 0) {
            before = acc;
        }
        typename Cfg::fc1_t total = before + part;
        acc = total;
        if (nf == Cfg::NF - 1) {
            typename Cfg::fc1_t relu = 0;
            if (total > 0) {
                relu = total;
            }
            h[j] = insta_rescale<typename Cfg::hid_t, 0, 255, Cfg::HID_W, Cfg::HID_SHIFT>(
                mh[0][j], relu);
        }
        nf++;
        if (nf == Cfg::NF) {
            nf = 0;
            j++;
        }
    }
}

// FC2: sums[pe][nf] = (w2 h) of channel nf*PE + pe. Step i = nf*HID + j adds w2 at [pe][i]
// (= w2[nf*PE + pe][j]) times h[j] in PE lanes; the last unit of a group stores the PE sums.
template<
    typename Cfg  // layer configuration (see the top of this file)
>
void insta_se_fc2(
    const typename Cfg::hid_t h[Cfg::HID],
    const typename Cfg::w_t w2[Cfg::PE][Cfg::NF * Cfg::HID],
    typename Cfg::fc2_t sums[Cfg::PE][Cfg::NF]
) {
    typename Cfg::fc2_t acc[Cfg::PE];
    // PE accumulators, all read and written every cycle: registers
    #pragma HLS ARRAY_PARTITION variable=acc complete dim=1
    unsigned nf = 0;
    unsigned j = 0;
    for (unsigned i = 0; i < Cfg::NF * Cfg::HID; i++) {
        // one hidden unit for PE channels per cycle
        #pragma HLS PIPELINE II=1
        for (unsigned pe = 0; pe < Cfg::PE; pe++) {
            // PE parallel 8x9-bit multiply-accumulates
            #pragma HLS UNROLL
            typename Cfg::fc2_t before = 0;
            if (j != 0) {
                before = acc[pe];
            }
            typename Cfg::fc2_t total = before + w2[pe][i] * h[j];
            acc[pe] = total;
            if (j == Cfg::HID - 1) {
                sums[pe][nf] = total;
            }
        }
        j++;
        if (j == Cfg::HID) {
            j = 0;
            nf++;
        }
    }
}

// v[pe][nf] from the FC2 sums; G rescalers, C/G cycles.
template<
    typename Cfg  // layer configuration (see the top of this file)
>
void insta_se_out(
    const typename Cfg::fc2_t sums[Cfg::PE][Cfg::NF],
    const typename Cfg::se_mant_t mo[Cfg::PE][Cfg::NF],
    typename Cfg::v_t v[Cfg::PE][Cfg::NF]
) {
    constexpr unsigned STEPS = Cfg::C / Cfg::G;
    unsigned pe0 = 0;
    unsigned nf = 0;
    for (unsigned i = 0; i < STEPS; i++) {
        // G rescalers, one channel each per cycle
        #pragma HLS PIPELINE II=1
        for (unsigned g = 0; g < Cfg::G; g++) {
            // G parallel datapaths: Mo*(w2 h) (a DSP), rounding, saturation
            #pragma HLS UNROLL
            const unsigned pe = pe0 + g;
            v[pe][nf] = insta_rescale<typename Cfg::v_t, Cfg::V_MIN, Cfg::V_MAX, Cfg::V_W,
                                      Cfg::V_SHIFT>(mo[pe][nf], sums[pe][nf]);
        }
        pe0 += Cfg::G;
        if (pe0 == Cfg::PE) {
            pe0 = 0;
            nf++;
        }
    }
}

// The SE of one frame: v[pe][nf] of channel nf*PE + pe from S (acc[pe][nf]), bit-exact to se_v.
// Weight layouts: see insta_se_fc1 and insta_se_fc2; Mh is one row of HID mantissas.
template<
    typename Cfg  // layer configuration (see the top of this file)
>
void insta_se(
    const typename Cfg::acc_t s[Cfg::PE][Cfg::NF],
    const typename Cfg::se_mant_t mm[Cfg::PE][Cfg::NF],
    const typename Cfg::w_t w1[Cfg::PE][Cfg::HID * Cfg::NF],
    const typename Cfg::se_mant_t mh[1][Cfg::HID],
    const typename Cfg::w_t w2[Cfg::PE][Cfg::NF * Cfg::HID],
    const typename Cfg::se_mant_t mo[Cfg::PE][Cfg::NF],
    typename Cfg::v_t v[Cfg::PE][Cfg::NF]
) {
    typename Cfg::m3_t m3[Cfg::PE][Cfg::NF];
    typename Cfg::hid_t h[Cfg::HID];
    typename Cfg::fc2_t sums[Cfg::PE][Cfg::NF];
    // PE m3 values and FC2 sums per cycle: one memory (of NF words) per lane
    #pragma HLS ARRAY_PARTITION variable=m3 complete dim=1
    #pragma HLS ARRAY_PARTITION variable=sums complete dim=1
    insta_se_m3<Cfg>(s, mm, m3);
    insta_se_fc1<Cfg>(m3, w1, mh, h);
    insta_se_fc2<Cfg>(h, w2, sums);
    insta_se_out<Cfg>(sums, mo, v);
}

#endif  // INSTA_SE_HPP
