// Stand-in for accel_dram_top with weights in DRAM, for the shell's weight-loading test: the
// ports of the generated accel_dram_top (init_done, the loader's load_s_axis and loaded, the
// SDRAM pins) around the stand-in accel_top of standin_accel.v.
//
// "Initialises" in 16 cycles, takes LOAD_WORDS 16-bit words on load_s_axis (one every other
// cycle: the shell sees back-pressure), keeps a checksum c = rotl(c, 1) ^ word of them (order
// and value matter), raises `loaded` after the last, and holds the accelerator in reset until
// then. Each result is the stand-in's F mod 10 XOR the four nibbles of c folded together, so a
// frame's answer is right only if every weight word arrived, in order. The `batch` region of the
// tier (dram_tier.Region) is a plain memory of BATCH_WORDS words here: written from its start
// after a rewind, read from its start for r_count words after r_start.
`default_nettype none
/* verilator lint_off DECLFILENAME */
/* verilator lint_off UNUSEDSIGNAL */
/* verilator lint_off WIDTHEXPAND */
/* verilator lint_off WIDTHTRUNC */

module accel_dram_top #(
    parameter integer IN_LANES    = 1,
    parameter integer FRAME_BYTES = 64,
    parameter integer LOAD_WORDS  = 32,
    parameter integer BATCH_WORDS = 256
) (
    input  wire                  clk,
    input  wire                  rst,
    output wire                  init_done,
    input  wire [15:0]           load_s_axis_tdata,
    input  wire                  load_s_axis_tvalid,
    output wire                  load_s_axis_tready,
    output wire                  loaded,
    input  wire [8*IN_LANES-1:0] s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output wire                  s_axis_tready,
    output wire [3:0]            m_axis_tdata,
    output wire                  m_axis_tvalid,
    input  wire                  m_axis_tready,
    input  wire [8*IN_LANES-1:0] batch_w_s_axis_tdata,
    input  wire                  batch_w_s_axis_tvalid,
    output wire                  batch_w_s_axis_tready,
    input  wire                  batch_w_rewind,
    output wire [8*IN_LANES-1:0] batch_r_m_axis_tdata,
    output wire                  batch_r_m_axis_tvalid,
    input  wire                  batch_r_m_axis_tready,
    input  wire                  batch_r_start,
    input  wire [31:0]           batch_r_count,
    output wire                  batch_r_busy,
    output wire [12:0]           sdram_a,
    output wire [1:0]            sdram_ba,
    output wire                  sdram_cs_n,
    output wire                  sdram_cke,
    output wire                  sdram_ras_n,
    output wire                  sdram_cas_n,
    output wire                  sdram_we_n,
    output wire [1:0]            sdram_dm,
    inout  wire [15:0]           sdram_dq
);
    assign {sdram_a, sdram_ba, sdram_dm} = 0;
    assign {sdram_cs_n, sdram_cke, sdram_ras_n, sdram_cas_n, sdram_we_n} = 5'b11111;
    assign sdram_dq = 16'bz;

    reg [4:0] init_count;
    always @(posedge clk) init_count <= rst ? 5'd0 : (init_done ? init_count : init_count + 1'b1);
    assign init_done = init_count[4];

    reg [15:0] checksum;
    reg [$clog2(LOAD_WORDS + 1)-1:0] words;
    reg        toggle;
    assign load_s_axis_tready = init_done && !loaded && toggle;
    assign loaded = (words == LOAD_WORDS);
    always @(posedge clk) begin
        if (rst) begin
            checksum <= 16'd0;
            words    <= 0;
            toggle   <= 1'b0;
        end else begin
            toggle <= ~toggle;
            if (load_s_axis_tvalid && load_s_axis_tready) begin
                checksum <= {checksum[14:0], checksum[15]} ^ load_s_axis_tdata;
                words    <= words + 1'b1;
            end
        end
    end

    // the batch region
    reg [8*IN_LANES-1:0] bmem [0:BATCH_WORDS-1];
    reg [31:0] bw_ptr, br_ptr, br_left;
    assign batch_w_s_axis_tready = 1'b1;
    assign batch_r_m_axis_tdata  = bmem[br_ptr];
    assign batch_r_m_axis_tvalid = (br_left != 0);
    assign batch_r_busy          = (br_left != 0);
    always @(posedge clk) begin
        if (batch_w_s_axis_tvalid) bmem[bw_ptr] <= batch_w_s_axis_tdata;
        if (rst) begin
            bw_ptr <= 0; br_ptr <= 0; br_left <= 0;
        end else begin
            if (batch_w_rewind) bw_ptr <= 0;
            else if (batch_w_s_axis_tvalid) bw_ptr <= bw_ptr + 1;
            if (batch_r_start) begin
                br_ptr <= 0; br_left <= batch_r_count;
            end else if (batch_r_m_axis_tvalid && batch_r_m_axis_tready) begin
                br_ptr <= br_ptr + 1; br_left <= br_left - 1;
            end
        end
    end

    reg accel_rst;
    always @(posedge clk) accel_rst <= rst | ~init_done | ~loaded;
    wire [3:0] result;
    accel_top #(.IN_LANES(IN_LANES), .FRAME_BYTES(FRAME_BYTES)) u_accel (
        .clk(clk), .rst(accel_rst),
        .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid & ~accel_rst),
        .s_axis_tready(s_axis_tready),
        .m_axis_tdata(result), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready)
    );
    assign m_axis_tdata = result ^ checksum[3:0] ^ checksum[7:4] ^ checksum[11:8] ^ checksum[15:12];
endmodule

`default_nettype wire
