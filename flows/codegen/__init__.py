"""Code generation: Verilog RTL (`flows.codegen.rtl`) and HLS C++ (`flows.codegen.hls`)."""
