// Stand-in accelerator for shell tests (same ports as the generated accel_top): the result of a
// frame is the sum of its FRAME_BYTES UINT8 pixels mod 10. It holds s_axis_tready low while a
// result waits to be taken, so the shell sees back-pressure, and has LATENCY extra cycles before
// the result appears.
`default_nettype none
/* verilator lint_off DECLFILENAME */

module accel_top #(
    parameter integer IN_LANES    = 1,
    parameter integer FRAME_BYTES = 64,
    parameter integer LATENCY     = 3
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [8*IN_LANES-1:0] s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output wire                  s_axis_tready,
    output reg  [3:0]            m_axis_tdata,
    output reg                   m_axis_tvalid,
    input  wire                  m_axis_tready
);
    localparam integer WORDS = FRAME_BYTES / IN_LANES;
    localparam integer SW    = $clog2(255 * FRAME_BYTES + 1);
    localparam integer WCW   = $clog2(WORDS + 1);
    localparam [31:0] LAST_WORD = WORDS - 1;
    localparam [31:0] WAIT      = LATENCY;

    reg [SW-1:0]  sum;
    reg [WCW-1:0] words;
    reg [7:0]     wait_count;
    reg           busy;        // a finished frame is being reduced or waits to be taken

    // Sum of the lanes of the current word.
    reg [SW-1:0] word_sum;
    integer k;
    always @(*) begin
        word_sum = 0;
        for (k = 0; k < IN_LANES; k = k + 1)
            word_sum = word_sum + {{(SW-8){1'b0}}, s_axis_tdata[8*k +: 8]};
    end

    assign s_axis_tready = !busy;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [SW-1:0] mod10 = sum % 10;
    /* verilator lint_on UNUSEDSIGNAL */

    always @(posedge clk) begin
        if (rst) begin
            sum           <= 0;
            words         <= 0;
            busy          <= 1'b0;
            wait_count    <= 0;
            m_axis_tvalid <= 1'b0;
            m_axis_tdata  <= 4'd0;
        end else begin
            if (s_axis_tvalid && s_axis_tready) begin
                sum <= sum + word_sum;
                if (words == LAST_WORD[WCW-1:0]) begin
                    words      <= 0;
                    busy       <= 1'b1;
                    wait_count <= WAIT[7:0];
                end else begin
                    words <= words + 1'b1;
                end
            end
            if (busy && !m_axis_tvalid) begin
                if (wait_count != 0) begin
                    wait_count <= wait_count - 1'b1;
                end else begin
                    m_axis_tdata  <= mod10[3:0];
                    m_axis_tvalid <= 1'b1;
                end
            end
            if (m_axis_tvalid && m_axis_tready) begin
                m_axis_tvalid <= 1'b0;
                busy          <= 1'b0;
                sum           <= 0;
            end
        end
    end
endmodule

`default_nettype wire
