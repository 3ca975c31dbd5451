// UART receiver, 8N1, LSB first.
//
// The line is sampled through a two-flop synchroniser (it comes from another clock domain: the
// FTDI chip). A start bit is a falling edge that is still low half a bit later; data bits are
// sampled in the middle of each bit; the byte is delivered only if the stop bit is high, otherwise
// `frame_err` pulses and the byte is dropped. The receiver returns to idle right after the middle
// of the stop bit, so it re-arms half a bit early and tolerates a few percent of baud mismatch.
//
// Parameters:
//   CLKS_PER_BIT  clock cycles per bit = f_clk / baud (>= 4; simulations use a small value).
`default_nettype none

module uart_rx #(
    parameter integer CLKS_PER_BIT = 217
) (
    input  wire       clk,
    input  wire       rst,        // synchronous, active high
    input  wire       rx,         // serial line, idle high
    output reg  [7:0] data,       // received byte, valid while `valid` is high
    output reg        valid,      // one-cycle pulse per received byte
    output reg        frame_err   // one-cycle pulse: stop bit was low, byte dropped
);
    localparam integer CW = $clog2(CLKS_PER_BIT + 1);
    localparam [31:0] HALF_BIT = CLKS_PER_BIT / 2 - 1;
    localparam [31:0] FULL_BIT = CLKS_PER_BIT - 1;
    localparam [1:0] S_IDLE = 2'd0, S_START = 2'd1, S_DATA = 2'd2, S_STOP = 2'd3;

    // Two-flop synchroniser; reset to the idle level so a reset never fakes a start bit.
    reg rx_meta, rx_sync;
    always @(posedge clk) begin
        if (rst) begin
            rx_meta <= 1'b1;
            rx_sync <= 1'b1;
        end else begin
            rx_meta <= rx;
            rx_sync <= rx_meta;
        end
    end

    reg [1:0]    state;
    reg [CW-1:0] count;   // cycles left until the next sample point
    reg [2:0]    bit_idx;
    reg [7:0]    shift;

    always @(posedge clk) begin
        valid     <= 1'b0;
        frame_err <= 1'b0;
        if (rst) begin
            state   <= S_IDLE;
            count   <= 0;
            bit_idx <= 3'd0;
            shift   <= 8'd0;
            data    <= 8'd0;
        end else begin
            case (state)
                S_IDLE: if (!rx_sync) begin
                    state <= S_START;
                    count <= HALF_BIT[CW-1:0];  // middle of the start bit
                end
                S_START: if (count != 0) begin
                    count <= count - 1'b1;
                end else if (rx_sync) begin
                    state <= S_IDLE;                  // a glitch, not a start bit
                end else begin
                    state   <= S_DATA;
                    count   <= FULL_BIT[CW-1:0];
                    bit_idx <= 3'd0;
                end
                S_DATA: if (count != 0) begin
                    count <= count - 1'b1;
                end else begin
                    shift <= {rx_sync, shift[7:1]};   // LSB first
                    count <= FULL_BIT[CW-1:0];
                    if (bit_idx == 3'd7) state <= S_STOP;
                    bit_idx <= bit_idx + 1'b1;
                end
                default: if (count != 0) begin        // S_STOP
                    count <= count - 1'b1;
                end else begin
                    state <= S_IDLE;
                    if (rx_sync) begin
                        data  <= shift;
                        valid <= 1'b1;
                    end else begin
                        frame_err <= 1'b1;
                    end
                end
            endcase
        end
    end
endmodule

`default_nettype wire
