// XNOR matrix-vector activation unit: binary weights x binary inputs (docs/numerics.md, section 2).
//
// For each of NUM_VECTORS input vectors x (MW bits, one bit per bipolar element, 1 = +1) the unit
// computes MH popcounts p[c] = popcount(XNOR(x, W[c])) = number of agreeing signs, 0..MW.
// Folding: SIMD input bits and PE output channels per cycle; SF = MW/SIMD input words per vector,
// NF = MH/PE channel groups, so one vector takes SF*NF cycles at II = 1. The vector is read from
// the stream once (during channel group 0) and replayed from a buffer for the other NF-1 groups.
#ifndef XNOR_MVAU_HPP
#define XNOR_MVAU_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "bnn_common.hpp"

// Weight layout: weights[pe][tile] with tile = nf*SF + sf holds the SIMD bits
// W[nf*PE + pe][sf*SIMD .. sf*SIMD + SIMD - 1], element sf*SIMD + s in bit s. The caller partitions
// the array on its first dimension so that all PE rows are read in the same cycle.
template<
    unsigned MW,           // matrix width: input vector length in bits
    unsigned MH,           // matrix height: output channels
    unsigned SIMD,         // input bits per stream word and per cycle; divides MW
    unsigned PE,           // output channels computed in parallel; divides MH
    unsigned NUM_VECTORS,  // vectors per call (one frame: 1 for FC, H*W for a convolution)
    unsigned OUT_BITS      // popcount field width, bitlength(MW)
>
void XnorMVAU(
    hls::stream<ap_uint<SIMD> > &in,
    hls::stream<ap_uint<PE * OUT_BITS> > &out,
    const ap_uint<SIMD> weights[PE][(MW / SIMD) * (MH / PE)]
) {
    static_assert(MW % SIMD == 0, "SIMD must divide MW");
    static_assert(MH % PE == 0, "PE must divide MH");
    static_assert(OUT_BITS >= bnn_bitlength(MW), "OUT_BITS cannot hold a popcount of MW bits");
    constexpr unsigned SF = MW / SIMD;
    constexpr unsigned NF = MH / PE;
    constexpr unsigned TOTAL_FOLD = NUM_VECTORS * SF * NF;

    // One input vector; written while nf = 0 and read for nf > 0: one access per cycle, so it can
    // stay a single-port memory (LUTRAM or BRAM by size).
    ap_uint<SIMD> input_buf[SF];
    // Accumulators never wrap: a partial sum is at most MW, which fits OUT_BITS.
    ap_uint<OUT_BITS> acc[PE];
    // one register per PE: all accumulators update in the same cycle
    #pragma HLS ARRAY_PARTITION variable=acc complete dim=1
    for (unsigned pe = 0; pe < PE; pe++) {
        // reset of PE parallel registers, no loop hardware
        #pragma HLS UNROLL
        acc[pe] = 0;
    }

    unsigned sf = 0;
    unsigned nf = 0;
    unsigned tile = 0;
    // One flattened loop over vectors x channel groups x input words, so the pipeline never
    // drains between vectors.
    for (unsigned i = 0; i < TOTAL_FOLD; i++) {
        // one input word (or replayed word) and one weight tile per PE per cycle
        #pragma HLS PIPELINE II=1
        ap_uint<SIMD> x;
        if (nf == 0) {
            x = in.read();
            input_buf[sf] = x;
        } else {
            x = input_buf[sf];
        }
        for (unsigned pe = 0; pe < PE; pe++) {
            // PE independent XNOR-popcount datapaths
            #pragma HLS UNROLL
            ap_uint<SIMD> agree = ~(x ^ weights[pe][tile]);
            acc[pe] += bnn_popcount<SIMD>(agree);
        }
        tile++;
        sf++;
        if (sf == SF) {
            // channel group nf is complete: emit channels nf*PE .. nf*PE + PE - 1, lane 0 in LSBs
            ap_uint<PE * OUT_BITS> word = 0;
            for (unsigned pe = 0; pe < PE; pe++) {
                // wiring only: each accumulator drives its own field of the output word
                #pragma HLS UNROLL
                word((pe + 1) * OUT_BITS - 1, pe * OUT_BITS) = acc[pe];
                acc[pe] = 0;
            }
            out.write(word);
            sf = 0;
            nf++;
            if (nf == NF) {
                nf = 0;
                tile = 0;
            }
        }
    }
}

#endif  // XNOR_MVAU_HPP
