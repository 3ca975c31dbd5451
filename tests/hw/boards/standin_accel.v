// Stand-in accelerator for the shell tests (same ports as the generated accel_top).
//
// The result of a frame of pixels b_0 .. b_{N-1} (N = FRAME_BYTES; b_0 arrives first, lane 0 of
// a word before lane 1) is the position-weighted sum  F = sum_i (N - i) * b_i  mod 10 (Fletcher's
// second sum), so a wrong lane order or a lost byte changes it. Bytes are consumed one per cycle
// and F mod 10 is computed bit-serially (one remainder step per cycle), so the stand-in is not the
// critical path of the shell's place-and-route test. It holds s_axis_tready low while it consumes a
// word and from the end of a frame until its result is taken: the shell sees back-pressure.
`default_nettype none
/* verilator lint_off DECLFILENAME */
// Test-only arithmetic with integer constants; widths are large enough by construction.
/* verilator lint_off WIDTHEXPAND */
/* verilator lint_off WIDTHTRUNC */
/* verilator lint_off UNUSEDSIGNAL */

module accel_top #(
    parameter integer IN_LANES    = 1,
    parameter integer FRAME_BYTES = 64
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
    localparam integer SW  = $clog2(255 * FRAME_BYTES * (FRAME_BYTES + 1) / 2 + 1);
    localparam integer BCW = $clog2(FRAME_BYTES + 1);
    localparam integer LCW = $clog2(IN_LANES + 1);
    localparam integer RCW = $clog2(SW + 1);

    // ---- a word is taken whole, then consumed one byte (lane 0 first) per cycle ----
    reg [8*IN_LANES-1:0] word;
    reg [LCW-1:0]        lanes_left;
    reg [BCW-1:0]        bytes_done;
    reg                  busy;        // from the frame's last byte until its result is taken
    wire [7:0]           byte_in = word[7:0];

    assign s_axis_tready = (lanes_left == 0) && !busy;

    // F = sum_i P_i with P_i = b_0 + .. + b_i: `fletcher` adds the previous prefix sum each byte
    // and the last one when the frame ends, so every cycle has one adder per register.
    reg [SW-1:0] sum, fletcher;
    reg          finishing;

    // ---- F mod 10 by restoring division, one dividend bit per cycle ----
    reg [SW-1:0]  dividend;
    reg [3:0]     rem;
    reg [RCW-1:0] bits_left;
    reg           reducing;
    wire [4:0]    rem_shift = {rem, dividend[SW-1]};
    wire [4:0]    rem_next  = (rem_shift >= 5'd10) ? rem_shift - 5'd10 : rem_shift;

    always @(posedge clk) begin
        finishing <= 1'b0;
        if (rst) begin
            lanes_left    <= 0;
            bytes_done    <= 0;
            busy          <= 1'b0;
            sum           <= 0;
            fletcher      <= 0;
            finishing     <= 1'b0;
            reducing      <= 1'b0;
            m_axis_tvalid <= 1'b0;
            m_axis_tdata  <= 4'd0;
        end else begin
            if (s_axis_tvalid && s_axis_tready) begin
                word       <= s_axis_tdata;
                lanes_left <= IN_LANES;
            end
            if (lanes_left != 0) begin
                word       <= word >> 8;
                lanes_left <= lanes_left - 1'b1;
                sum        <= sum + byte_in;
                fletcher   <= fletcher + sum;
                bytes_done <= bytes_done + 1'b1;
                if (bytes_done == FRAME_BYTES - 1) begin
                    bytes_done <= 0;
                    busy       <= 1'b1;
                    finishing  <= 1'b1;
                end
            end
            if (finishing) begin
                dividend  <= fletcher + sum;
                sum       <= 0;
                fletcher  <= 0;
                rem       <= 4'd0;
                bits_left <= SW;
                reducing  <= 1'b1;
            end
            if (reducing) begin
                rem       <= rem_next[3:0];
                dividend  <= dividend << 1;
                bits_left <= bits_left - 1'b1;
                if (bits_left == 1) begin
                    reducing      <= 1'b0;
                    m_axis_tdata  <= rem_next[3:0];
                    m_axis_tvalid <= 1'b1;
                end
            end
            if (m_axis_tvalid && m_axis_tready) begin
                m_axis_tvalid <= 1'b0;
                busy          <= 1'b0;
            end
        end
    end
endmodule

`default_nettype wire
