// UART transmitter, 8N1, LSB first, with a valid/ready byte input.
//
// `ready` is high while the transmitter is idle; a byte is taken on a cycle where `valid` and
// `ready` are both high and then occupies the line for 10 bit times (start, 8 data, stop).
//
// Parameters:
//   CLKS_PER_BIT  clock cycles per bit = f_clk / baud (>= 2; simulations use a small value).
`default_nettype none

module uart_tx #(
    parameter integer CLKS_PER_BIT = 217
) (
    input  wire       clk,
    input  wire       rst,    // synchronous, active high
    input  wire [7:0] data,
    input  wire       valid,
    output wire       ready,
    output reg        tx      // serial line, idle high
);
    localparam integer CW = $clog2(CLKS_PER_BIT + 1);
    localparam [31:0] FULL_BIT = CLKS_PER_BIT - 1;

    reg [8:0]    shift;    // {data, start bit}; the stop bit is shifted in behind it
    reg [3:0]    bits_left;
    reg [CW-1:0] count;

    assign ready = (bits_left == 4'd0);

    always @(posedge clk) begin
        if (rst) begin
            tx        <= 1'b1;
            shift     <= 9'h1ff;
            bits_left <= 4'd0;
            count     <= 0;
        end else if (ready) begin
            if (valid) begin
                tx        <= 1'b0;                    // start bit
                shift     <= {1'b1, data};            // data, then the stop bit
                bits_left <= 4'd10;
                count     <= FULL_BIT[CW-1:0];
            end
        end else if (count != 0) begin
            count <= count - 1'b1;
        end else begin
            bits_left <= bits_left - 1'b1;
            count     <= FULL_BIT[CW-1:0];
            if (bits_left != 4'd1) begin
                tx    <= shift[0];
                shift <= {1'b1, shift[8:1]};
            end
        end
    end
endmodule

`default_nettype wire
