"""Hardware build steps: RTL generation, parity simulation, synthesis, bitstream.

Each step reads and extends the BuildContext (flows/build.py). Xilinx targets stop after the
open-synthesis report with a clear statement of what needs Vivado (docker/).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from flows import memtier, synth, targets, vivado
from flows.artifacts import atomic_dir, write_json
from flows.boards import ulx3s
from flows.codegen import rtl
from flows.codegen.dram_tier import emit_with_dram, load_image, sdram_pins
from flows.codegen.stitch import emit_stitched
from flows.datatypes import UINT
from flows.errors import ConfigError, NumericContractError
from flows.estimate import estimate_graph
from flows.folding import cycles_per_frame

UART_BAUD = 115200


def _first_and_last(graph):
    order = graph.topological()
    return order[0], order[-1]


# Frames a stored batch holds on a board with the DRAM tier (docs/ulx3s.md, batch mode): a
# 224x224x3 frame is 150,528 bytes, so 16 of them take 2.4 MB of the 32 MB.
BATCH_FRAMES = 16


def _image_bytes(words: list[int], dram) -> bytes:
    """The loader's words as the bytes the host sends: each word least significant byte first."""
    n = dram.data_bits // 8
    return b"".join(w.to_bytes(n, "little") for w in words)


def step_rtl(ctx) -> None:
    """Per-layer Verilog, accel_top, hw/lib sources and (ULX3S) the board shell, in out/rtl."""
    g = ctx.graph
    first, last = _first_and_last(g)
    in_type = g.streams[g.inputs[0]].dtype
    if in_type != UINT(8):
        raise NumericContractError(
            f"graph input is {in_type}; the board shells stream UINT8 pixels (numerics section 4)"
        )
    tgt = targets.get(ctx.cfg.target)
    use = memtier.dram_use(g, tgt)  # refuses DRAM buffers on a target without a tier
    # the weight image the host sends once after configuration (weights in DRAM)
    image = _image_bytes(load_image(g, tgt.dram), tgt.dram) if use.buffers else b""
    with atomic_dir(ctx.out / "rtl") as tmp:
        if use.buffers:  # accel_top, the LiteDRAM tier on the board's pins, accel_dram_top
            emit_with_dram(g, tmp, tgt.dram, ctx.cfg.clock_mhz * 1e6, phy="gensdr",
                           batch_frames=BATCH_FRAMES)  # fmt: skip
            if image:
                (tmp / "weights.bin").write_bytes(image)
        else:
            emit_stitched(g, tmp)
        for src in rtl.lib_sources():
            shutil.copy(src, tmp / src.name)
        if not tgt.open_bitstream:
            vivado.emit_ooc_script(
                tmp,
                design=ctx.summary["model"],
                target=tgt.name,
                part=tgt.part,
                clock_mhz=ctx.cfg.clock_mhz,
            )
        if tgt.name == "ulx3s":
            shell = ulx3s.emit_shell(
                tmp,
                clock_mhz=ctx.cfg.clock_mhz,
                baud=UART_BAUD,
                in_lanes=rtl.main_ports(first.config)[0].lanes,
                in_bytes_per_frame=_frame_bytes(ctx),
                out_bits=last.config.output_type.bits,
                design_id=ctx.summary["model"],
                accel_module="accel_dram_top" if use.buffers else "accel_top",
                sdram=sdram_pins(tgt.dram) if use.buffers else None,
                load_bytes=len(image),
                batch_frames=BATCH_FRAMES if use.buffers else 0,
            )
            for src in shell["lib_sources"]:
                shutil.copy(src, tmp / Path(src).name)
            ctx.summary["shell"] = {
                "clock_mhz_requested": ctx.cfg.clock_mhz,
                "clock_mhz": shell["clock_mhz"],
                "baud": UART_BAUD,
                # weights in DRAM: rtl/weights.bin, sent once over the UART (10 bits per byte)
                "weight_image_bytes": len(image),
                "weight_load_seconds": round(len(image) * 10 / UART_BAUD, 1),
                # with the tier: frames a stored batch holds (CMD_BATCH/CMD_RUN, docs/ulx3s.md)
                "batch_frames": BATCH_FRAMES if use.buffers else 0,
            }
    ctx.summary["cycles_per_frame"] = max(cycles_per_frame(g), use.cycles)
    ctx.summary["cycles_per_frame_compute"] = cycles_per_frame(g)
    ctx.summary["cycles_per_frame_dram"] = use.cycles
    ctx.summary["rtl_dir"] = str(ctx.out / "rtl")


def _frame_bytes(ctx) -> int:
    """Bytes of one input frame (one byte per element): vectors x channels."""
    vectors, channels = ctx.graph.streams[ctx.graph.inputs[0]].shape
    return vectors * channels


def rtl_sources(ctx, with_shell: bool) -> list[Path]:
    d = ctx.out / "rtl"
    files = sorted(d.glob("*.v"))
    if not with_shell:
        files = [f for f in files if f.name != "ulx3s_top.v"]
    return files


def step_parity(ctx) -> None:
    """Stitched accel_top in Verilator on test images vs the golden model (stream boundary)."""
    from flows.sim.parity import run_parity

    ctx.summary["parity"] = run_parity(ctx)


# Per-layer out-of-context synthesis (`--layer-synth auto`) runs on designs of at most this many
# layers: digits_bnn, cnv_w1a1 and the small ResNets in minutes; a 224x224 ResNet-18 has about 130
# layers, two Yosys runs each (ECP5 and xc7), hours here, and `--layer-synth all` asks for them.
LAYER_SYNTH_AUTO_MAX = 48


def layer_synth_wanted(ctx) -> bool:
    """Whether step_synth synthesises every layer on its own (the build's `layer_synth`)."""
    mode = ctx.cfg.layer_synth
    if mode not in ("auto", "all", "none"):
        raise ConfigError(f"layer_synth={mode!r}; use auto, all or none")
    return mode == "all" or (mode == "auto" and len(ctx.graph.nodes) <= LAYER_SYNTH_AUTO_MAX)


def step_synth(ctx) -> None:
    """Per-layer out-of-context Yosys (ECP5 and xc7) next to the estimate (`layer_synth`); then
    the whole chip."""
    tgt = targets.get(ctx.cfg.target)
    d = ctx.out / "synth"
    d.mkdir(parents=True, exist_ok=True)
    if layer_synth_wanted(ctx):
        _layer_synthesis(ctx, d)
    else:
        ctx.summary["layer_synthesis"] = (
            f"not run: {len(ctx.graph.nodes)} layers (more than {LAYER_SYNTH_AUTO_MAX}, two Yosys "
            "runs each); `--layer-synth all` runs it"
            if ctx.cfg.layer_synth == "auto"
            else "not run (--layer-synth none)"
        )
        print(f"[synth] per-layer synthesis {ctx.summary['layer_synthesis']}")
    if tgt.name == "ulx3s":
        chip = synth.synth_ecp5(rtl_sources(ctx, True), "ulx3s_top", d / "chip", ooc=False)
        ctx.summary["chip_synthesis"] = {k: chip[k] for k in ("LUT", "FF", "BRAM", "DSP")}
        ctx.chip_netlist = chip["netlist"]


def _layer_synthesis(ctx, d: Path) -> None:
    rows = {}
    libs = [ctx.out / "rtl" / p.name for p in rtl.lib_sources()]
    est = ctx.summary.get("estimate", {}).get("layers", {})
    # estimate_graph, not estimate_layer: window/pool element types come from their streams
    est_ecp5 = estimate_graph(ctx.graph, "ecp5")
    est_xc7 = estimate_graph(ctx.graph, "xc7")
    for node in ctx.graph.topological():
        src = [ctx.out / "rtl" / f for f in rtl.module_files(node)] + libs
        e5 = synth.synth_ecp5(src, node.name, d / node.name / "ecp5", ooc=True)
        x7 = synth.synth_xilinx(src, node.name, d / node.name / "xc7", family="xc7")
        rows[node.name] = {
            "kind": node.kind,
            "estimate_ecp5": est_ecp5[node.name].as_dict(),
            "yosys_ecp5": {k: e5[k] for k in ("LUT", "FF", "BRAM", "DSP", "LUTRAM", "CCU2C")},
            "estimate_xc7": est_xc7[node.name].as_dict(),
            "yosys_xc7": {k: x7[k] for k in ("LUT", "FF", "BRAM", "DSP", "LUTRAM", "CARRY")},
        }
        if node.name in est:
            rows[node.name]["estimate_target"] = est[node.name]
    ctx.summary["layer_synthesis"] = rows
    write_json(ctx.out / "layer_synthesis.json", rows)
    _print_layer_table(rows)


def _print_layer_table(rows: dict) -> None:
    print(
        f"  {'layer':18s} {'est LUT':>8s} {'yosys LUT':>9s} {'est FF':>7s} {'yosys FF':>8s}"
        f" {'est BRAM':>8s} {'yosys BRAM':>10s}   (ECP5)"
    )
    for name, r in rows.items():
        e, y = r["estimate_ecp5"], r["yosys_ecp5"]
        print(
            f"  {name:18s} {e['LUT']:8d} {y['LUT']:9d} {e['FF']:7d} {y['FF']:8d}"
            f" {e['BRAM']:8d} {y['BRAM']:10d}"
        )


NEXTPNR_RESOURCES = {
    "TRELLIS_COMB": "LUT",
    "TRELLIS_FF": "FF",
    "DP16KD": "BRAM",
    "MULT18X18D": "DSP",
    "TRELLIS_IO": "IO",
    "EHXPLLL": "PLL",
}


def step_bitstream(ctx) -> None:
    """ULX3S: nextpnr-ecp5 + ecppack. Xilinx: say which step needs Vivado and how to run it."""
    tgt = targets.get(ctx.cfg.target)
    if not tgt.open_bitstream:
        script = ctx.out / "rtl" / "vivado_ooc.tcl"
        calls = vivado.check_with_stubs(script)
        ctx.summary["vivado_script"] = {
            "path": str(script),
            "status": vivado.UNVERIFIED,
            "stub_calls": len(calls),
        }
        ctx.summary["bitstream"] = None
        ctx.summary["needs_vivado"] = (
            f"the {tgt.name} bitstream ({tgt.part}) needs Vivado and a board shell (not generated "
            f"yet); {script.name} implements accel_top out of context: run `make bitstream "
            f"MODEL={ctx.summary['model']} TARGET={tgt.name}` inside the docker/ image with "
            "Vivado mounted (docker/Dockerfile)"
        )
        print(f"[bitstream] {ctx.summary['needs_vivado']}")
        return
    d = ctx.out / "pnr"
    d.mkdir(parents=True, exist_ok=True)
    lpf = ctx.out / "rtl" / "ulx3s_v20.lpf"
    clock = ctx.summary["shell"]["clock_mhz"]
    pnr = synth.place_route_ecp5(ctx.chip_netlist, d, lpf=lpf, clock_mhz=clock)
    bit = synth.pack_ecp5(pnr["config"], ctx.out / f"{ctx.summary['model']}.bit")
    used = {
        NEXTPNR_RESOURCES[k]: v["used"]
        for k, v in pnr["utilisation"].items()
        if k in NEXTPNR_RESOURCES
    }
    avail = {
        NEXTPNR_RESOURCES[k]: v["available"]
        for k, v in pnr["utilisation"].items()
        if k in NEXTPNR_RESOURCES
    }
    fmax = min((v["achieved_mhz"] for v in pnr["fmax"].values()), default=None)
    cycles = ctx.summary["cycles_per_frame"]
    ctx.summary.update(
        {
            "bitstream": str(bit),
            "fmax_mhz": round(fmax, 2) if fmax else None,
            "timing_met": pnr["timing_met"],
            "resources": {"used": used, "available": avail},
            "fps": round(clock * 1e6 / cycles, 1),
            "fps_compute_bound": round(clock * 1e6 / ctx.summary["cycles_per_frame_compute"], 1),
            "fps_dram_bound": (
                round(clock * 1e6 / ctx.summary["cycles_per_frame_dram"], 1)
                if ctx.summary["cycles_per_frame_dram"]
                else None
            ),
            # 8N1: 10 bit times per byte; the host sends a command byte and the pixels per frame.
            "fps_uart_link": round(UART_BAUD / (10 * (_frame_bytes(ctx) + 1)), 1),
        }
    )
