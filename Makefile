# User entry points: thin wrappers over the Python CLI (python -m flows ...). See README.md.
PY      := .venv/bin/python
MODEL   ?= digits_bnn
TARGET  ?= ulx3s
CLOCK   ?= 100
JOBS    ?= 2
OUT     ?= build
# Folding: FPS=frames/s at CLOCK, or CYCLES=cycles per frame; neither: the fastest design that fits.
SPEED   := $(if $(FPS),--fps $(FPS)) $(if $(CYCLES),--target-cycles $(CYCLES))
export PYTHONPATH := $(CURDIR)

.PHONY: setup test test-all lint format train export bitstream parity report explore clean doctor ops bench-golden synth-baselines snapshots bench-explore bench-dwc bench-window bench-mvau-dram bench-insta-shared bench-dram bench-resnet18-dram bench-fifo

setup:                     ## venv + Python deps + Verilator/Icarus/Yosys/nextpnr (idempotent)
	@bash scripts/setup.sh

test: lint                 ## fast suite: lint, unit, transformations, HLS csim, cocotb RTL, digits bitstream
	$(PY) -m pytest -n $(JOBS) -m "not slow" $(PYTEST_ARGS)

test-all: lint             ## everything, including the slow sweeps and synthesis baselines
	$(PY) -m pytest -n $(JOBS) $(PYTEST_ARGS)

lint:
	$(PY) -m ruff check flows sw tests benchmarks
	$(PY) -m ruff format --check flows sw tests benchmarks

format:
	$(PY) -m ruff format flows sw tests benchmarks

doctor:
	$(PY) -m flows.doctor

train:
	$(PY) -m sw.train $(MODEL)

export:
	$(PY) -m flows export --model $(MODEL) --out $(OUT)

bitstream:                 ## MODEL=... TARGET=... [CLOCK=MHz] [FPS=|CYCLES=]: model -> QONNX -> RTL -> bitstream
	$(PY) -m flows build --model $(MODEL) --target $(TARGET) --clock $(CLOCK) $(SPEED) --out $(OUT)

parity:
	$(PY) -m flows build --model $(MODEL) --target $(TARGET) --clock $(CLOCK) $(SPEED) --out $(OUT) --until parity

ops:                       ## MODEL=... or FILE=x.onnx: the papers' OPs/params accounting (docs/ops.md)
	$(PY) -m flows ops $(if $(FILE),--file $(FILE),--model $(MODEL)) --out $(OUT)

report:
	$(PY) -m flows build --model $(MODEL) --target $(TARGET) --clock $(CLOCK) $(SPEED) --out $(OUT) --until estimate

explore:                   ## MODEL=... TARGET=... [FPS=]: Pareto front + fastest fit (OUT/MODEL/TARGET/explore.json)
	$(PY) -m flows explore --model $(MODEL) --target $(TARGET) --clock $(CLOCK) $(if $(FPS),--fps $(FPS)) --out $(OUT)

bench-golden:              ## images/s: integer graph vs Brevitas float vs qonnx (build/bench/golden.json)
	$(PY) benchmarks/golden.py --out $(OUT)/bench/golden.json

snapshots:                 ## after an intended emitter/template change: rewrite the code snapshots
	$(PY) -m tests.snapshots

bench-explore:             ## every zoo model x target: fastest design that fits, or why not (build/bench/explore.json)
	$(PY) -m benchmarks.explore

bench-dwc:                 ## width-converter estimator vs Yosys, fitted and held-out (build/bench/width_converter.json)
	$(PY) -m benchmarks.width_converter

bench-window:              ## SlidingWindow estimator vs Yosys, fitted and held-out (build/bench/sliding_window.json)
	$(PY) -m benchmarks.sliding_window

bench-mvau-dram:           ## MVAU estimator vs Yosys, deep weight ROMs and weights in DRAM, fitted and held-out (build/bench/mvau_dram.json)
	$(PY) -m benchmarks.mvau_dram

bench-insta-shared:        ## INSTA estimator vs Yosys, parallel and shared multipliers, fitted and held-out (build/bench/insta_shared.json)
	$(PY) -m benchmarks.insta_shared

bench-dram:                ## DRAM tier: sustained rate (LiteDRAM model) and logic (Yosys) vs the records (build/bench/dram.json)
	$(PY) -m benchmarks.dram

bench-fifo:                ## stream_fifo estimate vs Yosys (ECP5, xc7), fitted and held-out widths (build/bench/fifo.json)
	$(PY) -m benchmarks.fifo

bench-resnet18-dram:       ## one 224x224 insta_resnet18 image in RTL, everything in simulated SDRAM, native testbench (~1 h; build/bench/resnet18_dram.json)
	$(PY) -m benchmarks.resnet18_dram

synth-baselines:           ## Yosys ECP5/xc7 per block + nextpnr Fmax vs estimator -> tests/baselines/synth.json
	$(PY) -m benchmarks.synth_baselines

clean:
	rm -rf build
