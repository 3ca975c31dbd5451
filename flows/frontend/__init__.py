"""QONNX import: an ONNX file -> a DataflowGraph of transient float kinds and integer streams."""
