// Shared building blocks of the BNN compute kernels: element policies for the stream encoding of
// docs/numerics.md (section 1), lane access in packed words and an unrolled popcount.
//
// Every kernel in this folder is a Vitis-HLS-style template over compile-time folding parameters;
// all loop bounds are template parameters or constexpr values, so the scheduler knows every trip
// count (checked by flows/hls_lint.py). C-simulated with g++ against the open ap_types headers.
// Needs C++14 (constexpr functions with loops): g++ -std=c++14 for C-simulation (the flags are in
// flows/codegen/hls.py), `add_files -cflags "-std=c++14"` in a Vitis HLS project.
#ifndef BNN_COMMON_HPP
#define BNN_COMMON_HPP

#include <ap_int.h>

// Number of bits of the unsigned value n (0 for n = 0), like Python's int.bit_length().
// Used in static_asserts that check the widths the Python emitter passes in.
constexpr unsigned bnn_bitlength(unsigned long long n) {
    unsigned bits = 0;
    for (unsigned i = 0; i < 64; i++) {
        if ((n >> i) != 0) {
            bits = i + 1;
        }
    }
    return bits;
}

// Element policies: how a BITS-wide field of a packed stream (or weight) word maps to its semantic
// value `value_t`. The kernels multiply and compare `value_t`s, so the exact ap_int arithmetic
// (full-precision products, sign-aware comparison) follows from the types alone.

// BIPOLAR: one bit, 1 means +1 and 0 means -1. A product with a bipolar factor is a conditional
// negation, which the HLS scheduler maps to LUTs, never to a DSP.
struct BipolarElem {
    static const unsigned BITS = 1;
    typedef ap_int<2> value_t;
    static value_t decode(const ap_uint<1> &field) {
        return field ? value_t(1) : value_t(-1);
    }
};

// UINT<W>: the field is the value.
template<
    unsigned W  // field width in bits
>
struct UIntElem {
    static const unsigned BITS = W;
    typedef ap_uint<W> value_t;
    static value_t decode(const ap_uint<W> &field) {
        return field;
    }
};

// INT<W>: the field is the two's-complement pattern of the value (same width, bits reinterpreted).
template<
    unsigned W  // field width in bits
>
struct IntElem {
    static const unsigned BITS = W;
    typedef ap_int<W> value_t;
    static value_t decode(const ap_uint<W> &field) {
        value_t value = field;
        return value;
    }
};

// Field `lane` of a word of LANES fields of BITS bits each; lane 0 sits in the LSBs.
// Called with a constant lane inside unrolled loops, so it is pure wiring.
template<
    unsigned BITS,   // field width in bits
    unsigned LANES   // fields per word
>
ap_uint<BITS> bnn_lane(const ap_uint<BITS * LANES> &word, unsigned lane) {
    return word((lane + 1) * BITS - 1, lane * BITS);
}

// Number of set bits of x. The unrolled sum becomes an adder tree; its pipeline registers are
// placed by the HLS scheduler to meet the clock target (the RTL's popcount_stages knob has no HLS
// counterpart).
template<
    unsigned N  // width of the operand in bits
>
ap_uint<bnn_bitlength(N)> bnn_popcount(const ap_uint<N> &x) {
    ap_uint<bnn_bitlength(N)> count = 0;
    for (unsigned i = 0; i < N; i++) {
        // one adder-tree leaf per bit, so the whole count is produced every cycle (II = 1)
        #pragma HLS UNROLL
        count += x[i];
    }
    return count;
}

#endif  // BNN_COMMON_HPP
