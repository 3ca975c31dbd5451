"""StreamWidthConverter: re-packs a stream from `in_lanes` to `out_lanes` elements per word.

The flow inserts one wherever a producer writes a different number of lanes per word than its
consumer reads (`flows.transforms.width_converters`), so each layer's folding is free. The
elements and their order are unchanged (the golden function is the identity); only the word
boundaries move. Both lane counts divide `channels`, so every vector, and every frame, starts on
a word boundary on both sides, and the converter needs no notion of vectors.

Hardware (hw/templates/width_converter.v.j2), one of three structures by the lane ratio; each
sends its words through the SKID_WORDS-word output skid FIFO, and its `s_axis_tready` depends on
registers only (`m_axis_tready` reaches no datapath combinationally):

* *down* (out_lanes divides in_lanes, ratio k = in/out): one input word held and sent out_lanes
  elements at a time, lowest first, shifting down; the next word is taken as the last leaves.
* *up* (in_lanes divides out_lanes, k = out/in): input words enter at the top of an out_lanes
  register and shift down; the word leaves when k are in, while the next enters.
* *general* (neither divides the other): a buffer of CAP = in_lanes + out_lanes elements and its
  count `cnt`, a multiple of g = gcd(in_lanes, out_lanes). A word leaves when cnt >= out_lanes,
  the buffer shifting down by out_lanes; a word enters at element base = cnt - (out_lanes if a
  word leaves else 0) when base + in_lanes <= CAP. Base is a multiple of g in [0, out_lanes], so
  the write is a case over out_lanes/g + 1 constant positions.

With a free output every structure moves min(in_lanes, out_lanes) elements per cycle: a frame of
E elements takes E / min(in, out) cycles, which never exceeds the slower of its producer and
consumer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from flows.datatypes import DataType
from flows.hwmodel.ports import SKID_WORDS, Port
from flows.hwmodel.resources import Estimate
from flows.hwmodel.structure import clog2
from flows.layers.backends import LayerRTL
from flows.layers.checks import check_divides, check_positive
from flows.layers.registry import INPUTS, OUTPUTS, Fold, LayerKind


@dataclass(frozen=True)
class StreamWidthConverter:
    """`num_vectors` vectors of `channels` elements of `input_type`, read `in_lanes` per word and
    written `out_lanes` per word."""

    name: str
    channels: int
    input_type: DataType
    in_lanes: int = 1
    out_lanes: int = 1
    num_vectors: int = 1

    def __post_init__(self) -> None:
        check_positive(self.name, channels=self.channels, num_vectors=self.num_vectors)
        check_divides(self.name, self.channels, "in_lanes", self.in_lanes)
        check_divides(self.name, self.channels, "out_lanes", self.out_lanes)

    @property
    def output_type(self) -> DataType:
        return self.input_type

    @property
    def mode(self) -> str:
        """The structure: "down", "up" or "general" (module docstring)."""
        if self.in_lanes % self.out_lanes == 0:
            return "down"
        return "up" if self.out_lanes % self.in_lanes == 0 else "general"

    @property
    def ratio(self) -> int:
        """Input words per output word (up) or output words per input word (down); 0 in general."""
        big, small = max(self.in_lanes, self.out_lanes), min(self.in_lanes, self.out_lanes)
        return big // small if self.mode != "general" else 0

    @property
    def capacity(self) -> int:
        """Elements the converter holds besides its skid FIFO."""
        return (
            self.in_lanes + self.out_lanes
            if self.mode == "general"
            else max(self.in_lanes, self.out_lanes)
        )

    @property
    def count_width(self) -> int:
        """Bits of the count: input or output words held (down, up), elements (general)."""
        return clog2((self.ratio if self.mode != "general" else self.capacity) + 1)

    @property
    def bases(self) -> list[int]:
        """Element positions an input word can be written at."""
        g = math.gcd(self.in_lanes, self.out_lanes)
        return list(range(0, self.out_lanes + 1, g))

    @property
    def cycles_per_frame(self) -> int:
        return self.num_vectors * self.channels // min(self.in_lanes, self.out_lanes)


def execute(cfg: StreamWidthConverter, params, inputs):
    (x,) = inputs
    return [np.array(x, copy=True)]


def ports(cfg: StreamWidthConverter) -> tuple[dict[str, Port], dict[str, Port]]:
    t, c, nv = cfg.input_type, cfg.channels, cfg.num_vectors
    return {"s_axis": Port(cfg.in_lanes, t, c, nv)}, {"m_axis": Port(cfg.out_lanes, t, c, nv)}


def rtl(cfg: StreamWidthConverter, params: dict) -> LayerRTL:
    """No memory: the buffer, its count and the output skid FIFO."""
    return LayerRTL(
        dict(
            b=max(1, cfg.input_type.bits),
            in_lanes=cfg.in_lanes,
            out_lanes=cfg.out_lanes,
            mode=cfg.mode,
            ratio=cfg.ratio,
            cap=cfg.capacity,
            cnt_w=cfg.count_width,
            bases=cfg.bases,
            channels=cfg.channels,
        )
    )


def buffer_words(cfg: StreamWidthConverter) -> int:
    """Input words the buffer holds beyond the pipeline (the stitcher's shortcut rule)."""
    return math.ceil(cfg.capacity / cfg.in_lanes)


def _skid(width: int, family: str) -> tuple[int, int]:
    """(FF, LUT RAM) of the 2-word output skid FIFO: registers up to 8 bits wide, distributed RAM
    above (16x4 DPR cells on ECP5, 6 bits per RAM32M LUT on Xilinx), as Yosys 0.70 maps it."""
    if width <= 8:
        return SKID_WORDS * width, 0
    return 0, math.ceil(width / (4 if family == "ecp5" else 6))


def estimate(cfg: StreamWidthConverter, family: str) -> Estimate:
    """Per structure, fitted on Yosys 0.70 (`synth_ecp5 -noiopad`, `synth_xilinx`) over 10
    converters (1- to 8-bit elements, 2 to 64 lanes, each structure at least three times):

    * down: a k:1 multiplexer of the output word (k = in/out): LUT = 1.4 (ECP5) or 0.45 (xc7)
      x out_bits x (k - 1) + 20, within 20 % (e.g. 64 -> 8 BIPOLAR: ECP5 89, xc7 48);
    * up: the input word shifts in under an enable, so only control: 32 / 16 LUT;
    * general: about 6 (ECP5) / 3 (xc7) LUT per buffer bit, within 25 % (6 -> 4 INT6: 394 / 150).

    FF: the held word(s), the count (and the down structure's word select), the skid FIFO's
    pointers, and the skid FIFO itself where it is registers (`_skid`)."""
    b = max(1, cfg.input_type.bits)
    in_w, out_w, cw = cfg.in_lanes * b, cfg.out_lanes * b, cfg.count_width
    k = cfg.ratio
    if cfg.mode == "down":
        x = out_w * (k - 1)
        lut, held = (1.4 * x if family == "ecp5" else 0.45 * x) + 20, in_w + cw
    elif cfg.mode == "up":
        lut, held = (32 if family == "ecp5" else 16), out_w
    else:
        lut, held = (6 if family == "ecp5" else 3) * cfg.capacity * b + 20, cfg.capacity * b
    skid_ff, lutram = _skid(out_w, family)
    return Estimate(cfg.cycles_per_frame, math.ceil(lut), held + cw + 4 + skid_ff, 0, 0, 0, lutram)


KIND = LayerKind(
    config=StreamWidthConverter,
    execute=execute,
    ports=ports,
    folds={"in_lanes": Fold(INPUTS), "out_lanes": Fold(OUTPUTS)},
    buffer_words=buffer_words,
    template="width_converter.v.j2",
    rtl=rtl,
    estimate=estimate,
)
