// eval_serial: y = clamp(round((a + m*s) * 2^-E), LO, HI), one bit per cycle (docs/insta.md,
// "Serial evaluators"). The INSTA blocks evaluate their per-channel thresholds (INSTA-Th) and
// v (INSTA-PReLU) once per frame, a few hundred steps against a frame of many thousand words;
// this form spends N + 1 cycles on a step and no multiplier, and little logic on it.
//
//   cycle c = 0 .. N-1 after `start`: the bit c of s (sign-extended) enters a serial-parallel
//   multiplier (R: m times the bits of s so far, shifted; its LSB is bit c of m*s), bit c of
//   a (sign-extended) is added to it in a serial full adder (bit c of u = a + m*s), and the bits
//   from c = E on are the rounded value r = floor(u 2^-E), or with RNE = 1 that value rounded
//   half to even (the guard bit u[E-1], the sticky OR below it, and a serial +1 from c = E).
//   r is compared with LO and HI least significant bit first, its low OW bits are collected,
//   and after bit N-1 y = r < LO ? LO : r > HI ? HI : r (OW bits), with `done` high for one
//   cycle: N + 1 cycles after `start`. A new `start` may come with `done` or later.
//
// N must hold a + m*s exactly plus one bit (the rounding carry), and r's bits must cover y, LO
// and HI: N >= the exact sum's width + 1 and N - E > OW and N - E >= the widths of LO and HI
// (flows.hwmodel.serial.serial_bits); s, m and a are two's complement, LO and HI signed.
module eval_serial #(
    parameter SW = 16,  // bits of s (signed)
    parameter MW = 16,  // bits of m (signed)
    parameter AW = 16,  // bits of a (signed)
    parameter N = 34,   // bits of u processed
    parameter E = 0,    // the shift
    parameter RNE = 0,  // 0: floor, 1: round half to even
    parameter OW = 8,   // bits of y
    parameter signed [63:0] LO = -128,
    parameter signed [63:0] HI = 127
) (
    input  wire                 clk,
    input  wire                 rst,
    input  wire                 start,
    input  wire signed [SW-1:0] s,
    input  wire signed [MW-1:0] m,
    input  wire signed [AW-1:0] a,
    output reg                  done,
    output reg         [OW-1:0] y
);
    localparam CW = (N < 2) ? 1 : $clog2(N);
    reg [SW-1:0] sr;       // s, then shifted right arithmetically: sr[0] is bit c of s
    reg signed [MW-1:0] mr;
    reg [AW-1:0] ar;       // a, the same
    reg [MW:0] pr;         // the multiplier's partial sum, shifted (|pr| <= |m|)
    reg [CW-1:0] c;
    reg run;
    reg cy;                // the serial adder's carry
    reg guard, sticky;     // RNE: u[c-1] and the OR of the bits below it (c <= E)
    reg inc;               // the +1 of the rounding, carried along r's bits (c > E)
    reg lt, gt;            // r < LO, r > HI on the bits seen
    reg [OW-1:0] yc;       // r's low OW bits, shifted in from the top
    // c's landmarks at c's width: the last bit, E, and E + OW (all below N by N's rule)
    localparam integer EOW = E + OW;
    localparam [CW-1:0] C_LAST = N[CW-1:0] - 1'b1;
    localparam [CW-1:0] C_E = E[CW-1:0];
    localparam [CW-1:0] C_EOW = EOW[CW-1:0];
    wire last = (c == C_LAST);
    // bit c of s and a (shifted right arithmetically once per cycle: cheaper than selecting
    // bit c), and of LO and HI, each sign-extended
    wire sb = sr[0];
    wire ab = ar[0];
    // LO and HI sign-extended and shifted by E: bit c is r's bit c - E of the bound
    localparam [N+63:0] LOX = {{N{LO[63]}}, LO} << E;
    localparam [N+63:0] HIX = {{N{HI[63]}}, HI} << E;
    localparam [N-1:0] LON = LOX[N-1:0];
    localparam [N-1:0] HIN = HIX[N-1:0];
    wire lob = LON[c];
    wire hib = HIN[c];
    // the phase: below E (rounding bits), at E, above
    wire at_e = (c == C_E);
    wire below_e;
    generate
        if (E == 0) begin : g_e0
            assign below_e = 1'b0;
        end else begin : g_e
            assign below_e = (c < C_E);
        end
    endgenerate
    wire above_e = ~below_e & ~at_e;
    // the multiplier: t = pr + s_c * m, bit 0 of t is bit c of m*s
    wire [MW+1:0] t = {pr[MW], pr} + (sb ? {{2{mr[MW-1]}}, mr} : {(MW + 2){1'b0}});
    wire pb = t[0];
    wire ub = pb ^ ab ^ cy;
    wire cy_n = (pb & ab) | (pb & cy) | (ab & cy);
    // rounding: at c = E the increment is guard & (sticky | u[E]); then it ripples
    wire inc_c = (RNE != 0 && E > 0 && at_e) ? (guard & (sticky | ub)) : (above_e ? inc : 1'b0);
    wire rb = ub ^ inc_c;
    wire inc_n = ub & inc_c;
    // LSB-first comparison: a differing bit decides; r's sign bit (c = N - 1) the other way
    wire lt_n = (rb != lob) ? (last ? rb : lob) : lt;
    wire gt_n = (rb != hib) ? (last ? hib : rb) : gt;
    wire [OW-1:0] yc_n = {rb, yc[OW-1:1]};
    localparam [OW-1:0] LOY = LO[OW-1:0];
    localparam [OW-1:0] HIY = HI[OW-1:0];
    always @(posedge clk) begin
        if (rst) run <= 1'b0;
        else if (start) run <= 1'b1;
        else if (run & last) run <= 1'b0;
        done <= ~rst & run & last;
        if (start) begin
            {sr, mr, ar} <= {s, m, a};
        end else if (run) begin
            sr <= {sr[SW-1], sr[SW-1:1]};
            ar <= {ar[AW-1], ar[AW-1:1]};
        end
        if (start) begin
            c <= {CW{1'b0}};
            pr <= {(MW + 1){1'b0}};
            {cy, guard, sticky, inc, lt, gt} <= 6'b0;
        end else if (run) begin
            c <= c + 1'b1;
            pr <= t[MW+1:1];
            cy <= cy_n;
            if (below_e) begin
                sticky <= sticky | guard;
                guard <= ub;
            end else begin
                inc <= inc_n;
                lt <= lt_n;
                gt <= gt_n;
                if (c < C_EOW) yc <= yc_n;
            end
            if (last) y <= lt_n ? LOY : (gt_n ? HIY : yc);
        end
    end
endmodule
