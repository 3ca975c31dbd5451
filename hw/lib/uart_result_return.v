// Result return: AXI-Stream result words -> UART bytes, plus the identification reply
// (docs/ulx3s.md, host protocol).
//
// Each result word is sent as RESULT_BYTES bytes, least significant first, zero-extended (one
// byte for a class index of up to 8 bits). On `id_req` the ID_BYTES-byte identification reply
// ID_VALUE is sent (least significant byte first) with `status` in byte STATUS_BYTE. On `cyc_req`
// the 32-bit `cycles` (sampled then) is sent as 4 bytes, least significant first (the cycle count
// of a batch run). A reply, once started, is sent whole; a pending identification request goes
// before a pending cycle count, and both before the next result.
//
// Parameters:
//   OUT_BITS      width of a result word
//   RESULT_BYTES  bytes per result reply, ceil(OUT_BITS / 8)
//   ID_BYTES      length of the identification reply
//   ID_VALUE      the identification reply, byte 0 in bits [7:0]
//   STATUS_BYTE   index of the byte replaced by `status`
`default_nettype none

module uart_result_return #(
    parameter integer             OUT_BITS     = 4,
    parameter integer             RESULT_BYTES = 1,
    parameter integer             ID_BYTES     = 10,
    parameter [8*ID_BYTES-1:0]    ID_VALUE     = 0,
    parameter integer             STATUS_BYTE  = 3
) (
    input  wire                clk,
    input  wire                rst,
    input  wire [OUT_BITS-1:0] s_axis_tdata,
    input  wire                s_axis_tvalid,
    output wire                s_axis_tready,
    input  wire                id_req,
    input  wire [7:0]          status,
    input  wire                cyc_req,
    input  wire [31:0]         cycles,
    output wire [7:0]          tx_data,
    output wire                tx_valid,
    input  wire                tx_ready,
    output reg  [OUT_BITS-1:0] last_result   // for the board's LEDs
);
    localparam integer NB0 = (ID_BYTES > RESULT_BYTES) ? ID_BYTES : RESULT_BYTES;
    localparam integer NB = (NB0 > 5) ? NB0 : 5;  // a cycle count's 4 bytes fit, with room
    localparam [31:0] CYC_LEN = 4;
    localparam integer CW = $clog2(NB + 1);
    localparam [31:0] ID_LEN  = ID_BYTES;
    localparam [31:0] RES_LEN = RESULT_BYTES;

    reg [8*NB-1:0] buffer;       // bytes still to send, next one in [7:0]
    reg [CW-1:0]   bytes_left;
    reg            id_pending;
    reg            cyc_pending;
    reg [31:0]     cyc_value;

    wire idle = (bytes_left == 0);
    assign s_axis_tready = idle && !id_pending && !id_req && !cyc_pending;
    assign tx_data       = buffer[7:0];
    assign tx_valid      = !idle;

    wire [8*NB-1:0] id_word     = ID_VALUE;
    wire [8*NB-1:0] status_mask = {{(8*NB-8){1'b0}}, 8'hff} << (8 * STATUS_BYTE);
    wire [8*NB-1:0] status_word = {{(8*NB-8){1'b0}}, status} << (8 * STATUS_BYTE);
    wire [8*NB-1:0] result_word = {{(8*NB-OUT_BITS){1'b0}}, s_axis_tdata};

    always @(posedge clk) begin
        if (rst) begin
            buffer      <= {8*NB{1'b0}};
            bytes_left  <= 0;
            id_pending  <= 1'b0;
            cyc_pending <= 1'b0;
            cyc_value   <= 32'd0;
            last_result <= {OUT_BITS{1'b0}};
        end else begin
            if (!idle) begin
                if (tx_ready) begin
                    buffer     <= buffer >> 8;
                    bytes_left <= bytes_left - 1'b1;
                end
            end else if (id_pending) begin
                buffer     <= (id_word & ~status_mask) | status_word;
                bytes_left <= ID_LEN[CW-1:0];
                id_pending <= 1'b0;
            end else if (cyc_pending) begin
                buffer      <= {{(8*NB-32){1'b0}}, cyc_value};
                bytes_left  <= CYC_LEN[CW-1:0];
                cyc_pending <= 1'b0;
            end else if (s_axis_tvalid && !id_req) begin
                buffer      <= result_word;
                bytes_left  <= RES_LEN[CW-1:0];
                last_result <= s_axis_tdata;
            end
            if (id_req) id_pending <= 1'b1;  // after the reply's start: a new request wins
            if (cyc_req) begin
                cyc_pending <= 1'b1;
                cyc_value   <= cycles;
            end
        end
    end
endmodule

`default_nettype wire
