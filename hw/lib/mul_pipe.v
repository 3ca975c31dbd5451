// mul_pipe: p = a * b (both signed), two register stages (hand-written library module, Verilog-2005).
//
// Used by the generated INSTA blocks for their wide products (the statistic's coefficient times S,
// the SE block's rescalers). A product wider than one 18x18 multiplier is split on `a`: unsigned
// slices of SW bits from the bottom and a signed top slice of at most 18 bits. Stage 1 registers
// each slice's product (one multiplier block each, its output register); stage 2 registers their
// shifted sum. One multiplier's delay and one adder's per stage instead of a multiplier cascade
// and its adder tree in one cycle: the Fmax runs of benchmarks/synth_baselines.py measure it.
// Every value is exact: the sum of the slice products is a*b, which fits AW + BW bits.
//
// LUT = 1 builds each slice product from LUTs instead of a multiplier block: the BW partial
// products (a's slice shifted by j where bit j of b is set; the sign bit of b weighs -2^(BW-1))
// summed in a balanced adder tree, so no `*` reaches synthesis (Yosys has nothing to map to a
// DSP) and the tree's depth is log2(BW) adders. Same registers, same latency, same result.
module mul_pipe #(
    parameter AW = 18,  // bits of a (signed)
    parameter BW = 18,  // bits of b (signed)
    parameter SW = 17,  // bits of an unsigned slice of a
    parameter LUT = 0   // 1: slice products from LUTs (shift-and-add tree), 0: multiplier blocks
) (
    input  wire                    clk,
    input  wire signed [AW-1:0]    a,
    input  wire signed [BW-1:0]    b,
    output reg  signed [AW+BW-1:0] p
);
    localparam PW = AW + BW;
    // Slices: N - 1 unsigned ones of SW bits, then the signed rest (at most 18 bits).
    localparam N = (AW <= 18) ? 1 : 1 + (AW - 18 + SW - 1) / SW;
    wire signed [PW-1:0] bx = {{AW{b[BW-1]}}, b};
    // Levels of the LUT form's adder tree, and the terms at level l: ceil(BW / 2^l).
    localparam LEVELS = (BW <= 1) ? 0 : $clog2(BW);
    function integer terms;
        input integer l;
        terms = (BW + (1 << l) - 1) >> l;
    endfunction
    genvar i, j, l;
    generate
        for (i = 0; i < N; i = i + 1) begin : g_slice
            localparam LO = i * SW;
            wire signed [PW-1:0] ax;
            if (i == N - 1) begin : g_top
                assign ax = {{(BW + LO){a[AW-1]}}, a[AW-1:LO]};
            end else begin : g_low
                assign ax = {{(PW - SW){1'b0}}, a[LO +: SW]};
            end
            reg signed [PW-1:0] pp;
            if (LUT == 0) begin : g_dsp
                always @(posedge clk) pp <= ax * bx;
            end else begin : g_lut
                for (l = 0; l <= LEVELS; l = l + 1) begin : g_lv
                    wire [PW*terms(l)-1:0] v;
                    for (j = 0; j < terms(l); j = j + 1) begin : g_t
                        if (l == 0) begin : g_pp
                            wire [PW-1:0] shifted = ax << j;
                            if (j == BW - 1) begin : g_neg  // the sign bit of b: -2^(BW-1)
                                assign v[PW*j +: PW] = b[j] ? -shifted : {PW{1'b0}};
                            end else begin : g_pos
                                assign v[PW*j +: PW] = b[j] ? shifted : {PW{1'b0}};
                            end
                        end else if (2*j + 1 < terms(l - 1)) begin : g_add
                            assign v[PW*j +: PW] = g_lv[l - 1].v[PW*2*j +: PW]
                                                   + g_lv[l - 1].v[PW*(2*j + 1) +: PW];
                        end else begin : g_pass
                            assign v[PW*j +: PW] = g_lv[l - 1].v[PW*2*j +: PW];
                        end
                    end
                end
                always @(posedge clk) pp <= g_lv[LEVELS].v[PW-1:0];
            end
            // The running sum of the slice products up to this one.
            wire signed [PW-1:0] sum;
            if (i == 0) begin : g_first
                assign sum = pp;
            end else begin : g_next
                assign sum = g_slice[i - 1].sum + (pp <<< LO);
            end
        end
    endgenerate
    always @(posedge clk) p <= g_slice[N - 1].sum;
endmodule
