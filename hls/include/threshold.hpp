// Multi-threshold unit (FINN MultiThreshold semantics, docs/numerics.md, section 3).
//
// For each element x of channel c: out = #{ n : x >= T[c][n] }, 0..N. Thresholds are integers on
// the input grid, ascending per channel, one bit wider than the input (clamped to [min, max + 1]).
// A BIPOLAR output is the N = 1 case: count 1 is stream bit 1 (+1), count 0 is bit 0 (-1), so
// the output field is the count in both cases. PE channels per cycle; C/PE words per vector.
#ifndef THRESHOLD_HPP
#define THRESHOLD_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "bnn_common.hpp"

// Threshold layout: thresholds[pe][nf][n] is T[nf*PE + pe][n]. The caller partitions dimensions 1
// and 3 completely, so the PE x N comparators of a cycle read their thresholds in parallel.
template<
    unsigned C,            // channels
    unsigned PE,           // channels processed in parallel; divides C
    unsigned NUM_VECTORS,  // vectors per call (one frame: 1 for FC, H*W for a feature map)
    unsigned N,            // thresholds per channel
    typename TIn,          // input element policy: UIntElem<n> or IntElem<n>
    typename TThr,         // threshold value type, ap_uint<n+1> or ap_int<n+1> matching TIn
    unsigned OUT_BITS      // output field width, bitlength(N) (1 for a BIPOLAR output)
>
void Threshold(
    hls::stream<ap_uint<PE * TIn::BITS> > &in,
    hls::stream<ap_uint<PE * OUT_BITS> > &out,
    const TThr thresholds[PE][C / PE][N]
) {
    static_assert(C % PE == 0, "PE must divide C");
    static_assert(OUT_BITS >= bnn_bitlength(N), "OUT_BITS cannot hold a count of N thresholds");
    constexpr unsigned NF = C / PE;
    constexpr unsigned TOTAL_FOLD = NUM_VECTORS * NF;

    unsigned nf = 0;
    // One flattened loop over vectors x channel groups.
    for (unsigned i = 0; i < TOTAL_FOLD; i++) {
        // one input word in, one output word out per cycle
        #pragma HLS PIPELINE II=1
        ap_uint<PE * TIn::BITS> x = in.read();
        ap_uint<PE * OUT_BITS> word = 0;
        for (unsigned pe = 0; pe < PE; pe++) {
            // PE independent comparator banks
            #pragma HLS UNROLL
            typename TIn::value_t value = TIn::decode(bnn_lane<TIn::BITS, PE>(x, pe));
            ap_uint<OUT_BITS> count = 0;
            for (unsigned n = 0; n < N; n++) {
                // N parallel comparators; sign-aware ap_int comparison, equality passes
                // (sign(0) = +1)
                #pragma HLS UNROLL
                if (value >= thresholds[pe][nf][n]) {
                    count++;
                }
            }
            word((pe + 1) * OUT_BITS - 1, pe * OUT_BITS) = count;
        }
        out.write(word);
        nf++;
        if (nf == NF) {
            nf = 0;
        }
    }
}

#endif  // THRESHOLD_HPP
