// Image loader: UART bytes -> AXI-Stream words of LANES pixels, and (designs with weights in
// DRAM) the weight image -> 16-bit words for the DRAM tier's loader (docs/ulx3s.md, host protocol).
//
// Received bytes go through a small FIFO, so the accelerator may hold `m_axis_tready` low for a
// while (up to FIFO depth + LANES byte times) without losing data; a byte that finds the FIFO full
// is dropped and sets the sticky `overflow` flag. Out of a frame, a byte is a command: CMD_INFER
// starts a frame of FRAME_BYTES pixel bytes, CMD_ID pulses `id_req`, anything else is ignored (so
// a garbage byte between frames does no harm). Inside a frame every byte is a pixel: the frame
// length, not a marker, ends it, so pixel values need no escaping. Pixels are packed lane 0 in the
// least significant byte (docs/numerics.md section 1). With LOAD_BYTES > 0, CMD_LOAD starts the
// weight image: exactly LOAD_BYTES bytes, paired into 16-bit words on w_axis (first byte in the
// low half), by the same rule (the length ends it). With BATCH_FRAMES > 0, CMD_BATCH, a frame
// count n (u16, low byte first, 1 .. BATCH_FRAMES) and n frames store a batch: `b_start` pulses
// once n is known (the SDRAM region rewinds), the frames' words leave on b_axis instead of
// m_axis, and `batch_n` holds n; CMD_RUN pulses `run_req` (the shell runs the stored batch). A
// count of 0 or above BATCH_FRAMES stores nothing: the bytes that follow are read as commands.
//
// Parameters:
//   LANES        pixels (bytes) per stream word; FRAME_BYTES must be a multiple of it
//   FRAME_BYTES  pixel bytes per frame
//   FIFO_LOG2    log2 of the byte FIFO depth
//   CMD_INFER    command byte that starts a frame
//   CMD_ID       command byte that requests the identification reply
//   CMD_LOAD     command byte that starts the weight image (ignored while LOAD_BYTES = 0)
//   LOAD_BYTES   weight image bytes (even; 0: the design has no weights in DRAM)
//   CMD_BATCH    command byte that stores a batch of frames (ignored while BATCH_FRAMES = 0)
//   CMD_RUN      command byte that runs the stored batch
//   BATCH_FRAMES frames a stored batch may hold (0: no batch mode)
`default_nettype none

module uart_image_loader #(
    parameter integer LANES       = 1,
    parameter integer FRAME_BYTES = 64,
    parameter integer FIFO_LOG2   = 4,
    parameter [7:0]   CMD_INFER   = 8'hA5,
    parameter [7:0]   CMD_ID      = 8'h5A,
    parameter [7:0]   CMD_LOAD    = 8'hB1,
    parameter integer LOAD_BYTES  = 0,
    parameter [7:0]   CMD_BATCH   = 8'hB2,
    parameter [7:0]   CMD_RUN     = 8'hB3,
    parameter integer BATCH_FRAMES = 0
) (
    input  wire                 clk,
    input  wire                 rst,
    input  wire [7:0]           rx_data,
    input  wire                 rx_valid,
    output wire [8*LANES-1:0]   m_axis_tdata,
    output wire                 m_axis_tvalid,
    input  wire                 m_axis_tready,
    output reg                  id_req,      // one-cycle pulse per CMD_ID
    output reg                  overflow,    // sticky: a received byte was dropped
    output wire [15:0]          w_axis_tdata,
    output wire                 w_axis_tvalid,
    input  wire                 w_axis_tready,
    output wire [8*LANES-1:0]   b_axis_tdata,
    output wire                 b_axis_tvalid,
    input  wire                 b_axis_tready,
    output reg                  b_start,     // one-cycle pulse: a batch of batch_n frames follows
    output reg                  run_req,     // one-cycle pulse per CMD_RUN
    output reg  [15:0]          batch_n
);
    localparam integer W     = 8 * LANES;
    localparam integer DEPTH = 1 << FIFO_LOG2;
    localparam integer MAXB  = (LOAD_BYTES > FRAME_BYTES) ? LOAD_BYTES : FRAME_BYTES;
    localparam integer BCW   = $clog2(MAXB + 1);
    localparam integer LCW   = (LANES > 1) ? $clog2(LANES) : 1;
    localparam [31:0] LAST_LANE = LANES - 1;
    localparam [31:0] LAST_BYTE = FRAME_BYTES - 1;
    localparam [31:0] LAST_LOAD = (LOAD_BYTES > 0) ? LOAD_BYTES - 1 : 0;

    // ---- byte FIFO (pointers carry one extra bit to tell full from empty) ----
    reg [7:0]         mem [0:DEPTH-1];
    reg [FIFO_LOG2:0] wr_ptr, rd_ptr;
    wire fifo_empty = (wr_ptr == rd_ptr);
    wire fifo_full  = (wr_ptr[FIFO_LOG2-1:0] == rd_ptr[FIFO_LOG2-1:0])
                      && (wr_ptr[FIFO_LOG2] != rd_ptr[FIFO_LOG2]);
    wire [7:0] head = mem[rd_ptr[FIFO_LOG2-1:0]];

    always @(posedge clk) begin
        if (rx_valid && !fifo_full) mem[wr_ptr[FIFO_LOG2-1:0]] <= rx_data;
    end

    // ---- word assembly ----
    reg [W-1:0]   word;
    reg           word_valid;
    reg [LCW-1:0] lane;
    reg           in_frame;
    reg           in_load;
    reg [BCW-1:0] byte_count;
    reg [15:0]    wword;
    reg           wword_valid;
    reg           whalf;       // the low byte of the next weight word is in
    reg [1:0]     bhdr;        // batch header: 1 = the count's low byte is next, 2 = its high byte
    reg           in_batch;    // the frames of a batch: words go to b_axis
    reg           word_batch;  // the offered word is a batch word
    reg [15:0]    frames_left;
    localparam [31:0] BATCH_MAX32 = BATCH_FRAMES;
    localparam [16:0] BATCH_MAX = BATCH_MAX32[16:0];

    // A byte leaves the FIFO only when the word register can take it; the word is offered on
    // the stream as soon as its last lane is filled.
    wire pop = !fifo_empty && !word_valid && !wword_valid;
    // Shift right by one byte: after LANES bytes the first one sits in lane 0.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [W+7:0] shifted = {head, word} >> 8;
    /* verilator lint_on UNUSEDSIGNAL */

    assign m_axis_tdata  = word;
    assign m_axis_tvalid = word_valid && !word_batch;
    assign b_axis_tdata  = word;
    assign b_axis_tvalid = word_valid && word_batch;
    wire   word_taken    = word_batch ? b_axis_tready : m_axis_tready;
    assign w_axis_tdata  = wword;
    assign w_axis_tvalid = wword_valid;

    always @(posedge clk) begin
        id_req  <= 1'b0;
        b_start <= 1'b0;
        run_req <= 1'b0;
        if (rst) begin
            wr_ptr     <= 0;
            rd_ptr     <= 0;
            overflow   <= 1'b0;
            word       <= {W{1'b0}};
            word_valid <= 1'b0;
            lane       <= 0;
            in_frame   <= 1'b0;
            in_load    <= 1'b0;
            byte_count <= 0;
            wword      <= 16'd0;
            wword_valid <= 1'b0;
            whalf      <= 1'b0;
            bhdr       <= 2'd0;
            in_batch   <= 1'b0;
            word_batch <= 1'b0;
            frames_left <= 16'd0;
            batch_n    <= 16'd0;
        end else begin
            if (rx_valid) begin
                if (fifo_full) overflow <= 1'b1;
                else           wr_ptr   <= wr_ptr + 1'b1;
            end
            if (word_valid && word_taken) word_valid <= 1'b0;
            if (wword_valid && w_axis_tready) wword_valid <= 1'b0;
            if (pop) begin
                rd_ptr <= rd_ptr + 1'b1;
                if (in_load) begin
                    wword <= {head, wword[15:8]};
                    whalf <= ~whalf;
                    if (whalf) wword_valid <= 1'b1;
                    if (byte_count == LAST_LOAD[BCW-1:0]) in_load <= 1'b0;
                    byte_count <= byte_count + 1'b1;
                end else if (bhdr == 2'd1) begin
                    batch_n <= {8'd0, head};
                    bhdr    <= 2'd2;
                end else if (bhdr == 2'd2) begin
                    bhdr <= 2'd0;
                    if ({head, batch_n[7:0]} != 16'd0 && {1'b0, head, batch_n[7:0]} <= BATCH_MAX) begin
                        batch_n     <= {head, batch_n[7:0]};
                        frames_left <= {head, batch_n[7:0]};
                        in_batch    <= 1'b1;
                        in_frame    <= 1'b1;
                        byte_count  <= 0;
                        lane        <= 0;
                        b_start     <= 1'b1;
                    end else begin
                        batch_n <= 16'd0;
                    end
                end else if (!in_frame) begin
                    if (head == CMD_BATCH && BATCH_FRAMES > 0) begin
                        bhdr <= 2'd1;
                    end else if (head == CMD_RUN && BATCH_FRAMES > 0) begin
                        run_req <= 1'b1;
                    end else if (head == CMD_INFER) begin
                        in_frame   <= 1'b1;
                        byte_count <= 0;
                        lane       <= 0;
                    end else if (head == CMD_ID) begin
                        id_req <= 1'b1;
                    end else if (head == CMD_LOAD && LOAD_BYTES > 0) begin
                        in_load    <= 1'b1;
                        byte_count <= 0;
                        whalf      <= 1'b0;
                    end
                end else begin
                    word <= shifted[W-1:0];
                    if (lane == LAST_LANE[LCW-1:0]) begin
                        lane       <= 0;
                        word_valid <= 1'b1;
                        word_batch <= in_batch;
                    end else begin
                        lane <= lane + 1'b1;
                    end
                    if (byte_count == LAST_BYTE[BCW-1:0]) begin
                        byte_count <= 0;
                        if (in_batch && frames_left != 16'd1) begin
                            frames_left <= frames_left - 1'b1;  // the batch's next frame
                        end else begin
                            in_frame <= 1'b0;
                            in_batch <= 1'b0;
                        end
                    end else begin
                        byte_count <= byte_count + 1'b1;
                    end
                end
            end
        end
    end
endmodule

`default_nettype wire
