// cube_seq: c = d^3 (d signed) on ONE multiplier block over N + 1 cycles (hand-written library
// module, Verilog-2005).
//
// The shared-multiplier form of the INSTA write side (docs/insta.md, "Shared multipliers"):
// d * d first, then d^2 * d in the slices of mul_pipe (d^2 cut into unsigned slices of SW bits
// from the bottom and a signed top of at most 18 bits), all on one multiplier of 18 x DW bits.
//
// Timing: `start` is high in the cycle d is presented; the edge that ends it (edge 0) registers
// it. d^2 is registered at edge 1; slice j of it times d at edge j + 2 and added into `c` at edge
// j + 3, so c holds d^3 after edge N + 2 (latency N + 2 edges). Starts may follow each other every
// N + 1 cycles; c then holds each cube for two cycles.
module cube_seq #(
    parameter DW = 13,  // bits of d (signed), at most 18
    parameter SQW = 25, // bits of d^2 (signed, so non-negative values need a sign bit)
    parameter SW = 17   // bits of an unsigned slice of d^2 (at most 17)
) (
    input  wire                     clk,
    input  wire                     start,
    input  wire signed [DW-1:0]     d,
    output reg  signed [SQW+DW-1:0] c
);
    localparam CW = SQW + DW;
    localparam N = (SQW <= 18) ? 1 : 1 + (SQW - 18 + SW - 1) / SW;
    localparam TW = SQW - (N - 1) * SW;  // bits of the signed top slice of d^2
    reg signed [DW-1:0] rd;
    reg [SQW-1:0] sq;
    // ph[0]: d * d is on the multiplier; ph[j + 1]: slice j of d^2 is (j < N); ph[j + 2]: its
    // product is in pp.
    reg [N+1:0] ph;
    reg signed [DW+17:0] pp;
    always @(posedge clk) begin
        if (start) rd <= d;
        ph <= {ph[N:0], start};
        if (ph[1]) sq <= pp[SQW-1:0];
    end
    // d^2 is in pp while slice 0 is on the multiplier and in `sq` after that.
    wire [SQW-1:0] sq_now = ph[1] ? pp[SQW-1:0] : sq;
    wire [18:0] top = {{(19 - TW){sq_now[SQW-1]}}, sq_now[SQW-1:SQW-TW]};  // sign-extended
    wire [18:0] rdx = {{(19 - DW){rd[DW-1]}}, rd};
    // zero-padded so that a slice select stays in range when there is one slice only
    wire [SQW+SW-1:0] sq_pad = {{SW{1'b0}}, sq_now};
    reg signed [17:0] ax;
    integer j;
    always @(*) begin
        ax = top[17:0];  // the top slice
        for (j = 0; j < N - 1; j = j + 1)
            if (ph[j + 1]) ax = {1'b0, sq_pad[j*SW +: SW]};
        if (ph[0]) ax = rdx[17:0];  // d * d
    end
    always @(posedge clk) pp <= ax * rd;
    wire [CW+18:0] ppx = {{(SQW + 1){pp[DW+17]}}, pp};  // sign-extended
    integer k;
    always @(posedge clk) begin
        if (ph[2]) c <= ppx[CW-1:0];
        for (k = 1; k < N; k = k + 1)
            if (ph[k + 2]) c <= c + (ppx[CW-1:0] << (k * SW));
    end
endmodule
