"""RTL simulation: Verilator builds cached by content, the cocotb stream bench, AXI-Stream checks.

Shared by the tests (tests/hw) and the build's parity step, so the parity figure in a build's
summary comes from the same driver, monitors and checker as the unit tests.
"""
