"""The compiler: QONNX import, streamlining, the integer dataflow graph, code generation, builds."""
