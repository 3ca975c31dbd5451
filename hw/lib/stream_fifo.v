// stream_fifo: a DEPTH-word AXI-Stream FIFO (hand-written library module, Verilog-2005).
//
// Used twice by the generated designs:
//  * DEPTH = 2 as the output skid buffer of every layer. s_tready is a function of registers only
//    (the fill count), so a layer can use it as the global enable of its pipeline without
//    m_tready reaching the datapath combinationally. Two entries sustain one word per clock:
//    with a push and a pop in the same cycle the count stays below DEPTH.
//  * DEPTH = fifo_depth between the layers of accel_top, to absorb the bursts of an MVAU
//    (it reads SF words, then replays them for NF - 1 channel groups).
// Storage is a register array with an asynchronous read (LUT RAM or flip-flops); a transfer
// happens on a rising edge where tvalid && tready. Reset is synchronous and active high.
module stream_fifo #(
    parameter WIDTH = 8,
    parameter DEPTH = 2
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [WIDTH-1:0] s_tdata,
    input  wire             s_tvalid,
    output wire             s_tready,
    output wire [WIDTH-1:0] m_tdata,
    output wire             m_tvalid,
    input  wire             m_tready
);
    localparam AW = (DEPTH < 2) ? 1 : $clog2(DEPTH);
    // 32-bit copies so that the sized constants below are plain part-selects (no truncation).
    localparam [31:0] DEPTH32 = DEPTH;
    localparam [31:0] LAST32 = DEPTH - 1;
    localparam [AW:0] FULL = DEPTH32[AW:0];
    localparam [AW-1:0] LAST = LAST32[AW-1:0];

    reg [WIDTH-1:0] mem [0:DEPTH-1];
    reg [AW-1:0] wr_ptr;
    reg [AW-1:0] rd_ptr;
    reg [AW:0] count;

    wire push = s_tvalid & s_tready;
    wire pop = m_tvalid & m_tready;

    assign s_tready = (count != FULL);
    assign m_tvalid = (count != {(AW + 1){1'b0}});
    assign m_tdata = mem[rd_ptr];

    always @(posedge clk) begin
        if (push) mem[wr_ptr] <= s_tdata;
    end

    always @(posedge clk) begin
        if (rst) begin
            wr_ptr <= {AW{1'b0}};
            rd_ptr <= {AW{1'b0}};
            count <= {(AW + 1){1'b0}};
        end else begin
            if (push) wr_ptr <= (wr_ptr == LAST) ? {AW{1'b0}} : wr_ptr + 1'b1;
            if (pop) rd_ptr <= (rd_ptr == LAST) ? {AW{1'b0}} : rd_ptr + 1'b1;
            if (push & ~pop) count <= count + 1'b1;
            else if (pop & ~push) count <= count - 1'b1;
        end
    end
endmodule
