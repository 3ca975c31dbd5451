// mul_seq: p = a * b (both signed) on ONE multiplier block over N cycles (hand-written library
// module, Verilog-2005).
//
// The shared-multiplier form of the INSTA evaluators (docs/insta.md, "Shared multipliers"): the
// same slicing as mul_pipe (a cut into unsigned slices of SW bits from the bottom and a signed top
// slice of at most 18 bits; b at most 18 bits), but the N slice products take turns on one
// multiplier instead of N multipliers side by side.
//
// Timing: `start` is high in the cycle a and b are presented; the edge that ends it (edge 0)
// registers them. Slice j's product is registered at edge j + 1 and added into `p` at edge j + 2,
// so p holds a*b after edge N + 1 (latency N + 1 edges; N = 1 is mul_pipe's two stages). Starts may
// follow each other every N cycles; p then holds each product for exactly one cycle.
module mul_seq #(
    parameter AW = 18,  // bits of a (signed)
    parameter BW = 18,  // bits of b (signed), at most 18
    parameter SW = 17   // bits of an unsigned slice of a (at most 17)
) (
    input  wire                    clk,
    input  wire                    start,
    input  wire signed [AW-1:0]    a,
    input  wire signed [BW-1:0]    b,
    output reg  signed [AW+BW-1:0] p
);
    localparam PW = AW + BW;
    localparam N = (AW <= 18) ? 1 : 1 + (AW - 18 + SW - 1) / SW;
    localparam TW = AW - (N - 1) * SW;  // bits of the signed top slice
    reg [AW-1:0] ra;
    reg signed [BW-1:0] rb;
    // ph[j]: slice j is on the multiplier (j < N); ph[j + 1]: its product is in pp.
    reg [N:0] ph;
    always @(posedge clk) begin
        if (start) {ra, rb} <= {a, b};
        ph <= {ph[N-1:0], start};
    end
    // The slice on the multiplier: a one-hot choice by phase, as an 18-bit signed operand.
    wire [18:0] top = {{(19 - TW){ra[AW-1]}}, ra[AW-1:AW-TW]};  // sign-extended
    // zero-padded so that a slice select stays in range when there is one slice only
    wire [AW+SW-1:0] ra_pad = {{SW{1'b0}}, ra};
    reg signed [17:0] ax;
    integer j;
    always @(*) begin
        ax = top[17:0];  // the top slice (the last phase)
        for (j = 0; j < N - 1; j = j + 1)
            if (ph[j]) ax = {1'b0, ra_pad[j*SW +: SW]};
    end
    reg signed [BW+17:0] pp;
    always @(posedge clk) pp <= ax * rb;
    wire [PW+18:0] ppx = {{(AW + 1){pp[BW+17]}}, pp};  // sign-extended
    integer k;
    always @(posedge clk) begin
        if (ph[1]) p <= ppx[PW-1:0];
        for (k = 1; k < N; k = k + 1)
            if (ph[k + 1]) p <= p + (ppx[PW-1:0] << (k * SW));
    end
endmodule
