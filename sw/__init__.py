"""PyTorch + Brevitas models, quantisers, training recipes and QONNX export."""
