// Integer matrix-vector activation unit: integer (or bipolar) weights x integer (or bipolar)
// inputs, exact accumulation (docs/numerics.md, section 2).
//
// For each of NUM_VECTORS input vectors x (MW elements) the unit computes the MH dot products
// y[c] = sum_k W[c][k] * x[k] without wrapping or saturation: the accumulator type is the exact
// range of the dot product (IntMVAU.output_type in flows/layers/mvau/config.py). Folding as in the XNOR
// unit: SIMD elements and PE channels per cycle, the vector is read once and replayed NF-1 times.
#ifndef INT_MVAU_HPP
#define INT_MVAU_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "bnn_common.hpp"

// Weight layout: weights[pe][tile] with tile = nf*SF + sf packs the SIMD weights
// W[nf*PE + pe][sf*SIMD + s] (s = 0..SIMD-1) as TW fields, lane s in bits [s*TW::BITS, ...).
// The caller partitions the array on its first dimension so that all PE rows are read per cycle.
template<
    unsigned MW,           // matrix width: input vector length in elements
    unsigned MH,           // matrix height: output channels
    unsigned SIMD,         // input elements per stream word and per cycle; divides MW
    unsigned PE,           // output channels computed in parallel; divides MH
    unsigned NUM_VECTORS,  // vectors per call (one frame: 1 for FC, H*W for a convolution)
    typename TIn,          // input element policy: UIntElem<n>, IntElem<n> or BipolarElem
    typename TW,           // weight element policy: UIntElem<n>, IntElem<n> or BipolarElem
    typename TOut          // output element policy (UIntElem<n>/IntElem<n>); its value_t is the
                           // accumulator, wide enough for the exact dot-product range
>
void IntMVAU(
    hls::stream<ap_uint<SIMD * TIn::BITS> > &in,
    hls::stream<ap_uint<PE * TOut::BITS> > &out,
    const ap_uint<SIMD * TW::BITS> weights[PE][(MW / SIMD) * (MH / PE)]
) {
    static_assert(MW % SIMD == 0, "SIMD must divide MW");
    static_assert(MH % PE == 0, "PE must divide MH");
    constexpr unsigned SF = MW / SIMD;
    constexpr unsigned NF = MH / PE;
    constexpr unsigned TOTAL_FOLD = NUM_VECTORS * SF * NF;
    typedef typename TOut::value_t acc_t;

    // One input vector; written while nf = 0 and read for nf > 0 (one access per cycle).
    ap_uint<SIMD * TIn::BITS> input_buf[SF];
    // Every partial sum of k products lies in [k*min(product), k*max(product)], inside the exact
    // range of the full MW-term sum (min(product) <= 0 <= max(product) for every allowed type
    // pair), so acc_t never wraps, also not in the middle of a vector.
    acc_t acc[PE];
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
        ap_uint<SIMD * TIn::BITS> x;
        if (nf == 0) {
            x = in.read();
            input_buf[sf] = x;
        } else {
            x = input_buf[sf];
        }
        for (unsigned pe = 0; pe < PE; pe++) {
            // PE independent dot-product datapaths
            #pragma HLS UNROLL
            ap_uint<SIMD * TW::BITS> w = weights[pe][tile];
            acc_t sum = 0;
            for (unsigned s = 0; s < SIMD; s++) {
                // SIMD multipliers feeding one adder tree per PE
                #pragma HLS UNROLL
                typename TIn::value_t xs = TIn::decode(bnn_lane<TIn::BITS, SIMD>(x, s));
                typename TW::value_t ws = TW::decode(bnn_lane<TW::BITS, SIMD>(w, s));
                acc_t product = xs * ws;
                sum += product;
            }
            acc[pe] += sum;
        }
        tile++;
        sf++;
        if (sf == SF) {
            // channel group nf is complete: emit channels nf*PE .. nf*PE + PE - 1, lane 0 in LSBs
            ap_uint<PE * TOut::BITS> word = 0;
            for (unsigned pe = 0; pe < PE; pe++) {
                // wiring only: each accumulator drives its own field (two's complement if signed)
                #pragma HLS UNROLL
                word((pe + 1) * TOut::BITS - 1, pe * TOut::BITS) = acc[pe];
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

#endif  // INT_MVAU_HPP
