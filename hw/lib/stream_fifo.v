// stream_fifo: a DEPTH-word AXI-Stream FIFO (hand-written library module, Verilog-2005).
//
// Used twice by the generated designs:
//  * DEPTH = 2 as the output skid buffer of every layer. s_tready is a function of registers only
//    (the fill count), so a layer can use it as the global enable of its pipeline without
//    m_tready reaching the datapath combinationally. Two entries sustain one word per clock:
//    with a push and a pop in the same cycle the count stays below DEPTH.
//  * DEPTH = fifo_depth between the layers of accel_top, to absorb the bursts of an MVAU
//    (it reads SF words, then replays them for NF - 1 channel groups).
// Storage: DEPTH = 2 is a skid buffer (an output register and a second register); deeper, a
// circular buffer with an asynchronous read (LUT RAM, or block RAM with Yosys's read bypass). A
// transfer happens on a rising edge where tvalid && tready. Reset is synchronous and active high.
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

    wire push = s_tvalid & s_tready;
    wire pop = m_tvalid & m_tready;

    generate
        if (DEPTH == 2) begin : g_skid
            // Two words as a skid buffer: the output word in `out_q` (m_tdata straight from a
            // register, no read multiplexer), a second word in `skid_q` while the output is
            // stalled. The same transfers, cycle for cycle, as the two-word circular buffer
            // below, at about W LUTs and 2W flip-flops (the buffer mapped to ECP5 LUT RAM took
            // W/4 DPR16X4 cells, six LUT4 sites each, plus its pointers).
            reg [WIDTH-1:0] out_q, skid_q;
            reg out_v, skid_v;
            assign s_tready = ~skid_v;
            assign m_tvalid = out_v;
            assign m_tdata = out_q;
            always @(posedge clk) begin
                if (rst) begin
                    out_v <= 1'b0;
                    skid_v <= 1'b0;
                end else begin
                    // the output register is free after this edge: empty or being read
                    if (~out_v | pop) begin
                        out_v <= skid_v | push;
                        skid_v <= 1'b0;
                    end else if (push) begin
                        skid_v <= 1'b1;
                    end
                end
            end
            always @(posedge clk) begin
                if (~out_v | pop) out_q <= skid_v ? skid_q : s_tdata;
                if (push & ~(~out_v | pop)) skid_q <= s_tdata;
            end
        end else begin : g_ring
            reg [WIDTH-1:0] mem [0:DEPTH-1];
            reg [AW-1:0] wr_ptr;
            reg [AW-1:0] rd_ptr;
            reg [AW:0] count;

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
        end
    endgenerate
endmodule
