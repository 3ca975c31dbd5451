"""Full-size (224 x 224, 1000 classes) ResNet-18 variants: totals pinned to hand derivations.

The models are exported untrained (seed 0; counts never depend on weight values) and counted by
flows.opcount. The expected numbers are derived here from the architecture, layer by layer, under the
rules of docs/ops.md; each total is also written out as a literal that was worked out by hand.

Topology (sw/models/resnet.py, Bi-Real / ReActNet ResNet-18, shortcut option B):

    stem: int8 7x7/2 conv 3 -> 64 (out 112x112) -> BN -> maxpool 3x3/2 (out 56x56)
    16 units = 4 stages x 2 basic blocks x 2 units; one unit = one binary 3x3 conv + shortcut:
        act (RSign | INSTA-Th) -> pad(-1) -> binary conv -> BN -> (+ shortcut) -> post
        (RPReLU | INSTA-PReLU); the first unit of stages 1-3 halves the map (stride-2 conv,
        shortcut = avgpool 2x2 + int8 1x1 conv + BN)
    global avgpool -> int8 FC 512 -> 1000 with bias

Readings of ambiguous rules used below (docs/ops.md section 3):

* int8 layers (stem conv, downsample 1x1 convs, FC) are real-valued: MACs = FLOPs, 32-bit params.
* Binary weight scaling factors are merged (every binary conv is followed by its BN: conv-BN order).
* No BN sits directly before a sign in these models (the sign follows RSign's shift / INSTA-Th),
  so every BN costs 2C parameters and HWC FLOPs: the stem BN, 16 unit BNs, 3 downsample BNs.
* RSign = 1 shift (C_in params), RPReLU = shift + PReLU slope + shift (3 C_out params), no FLOPs.
* INSTA-Th on the unit's input (H_in, W_in, C_in); INSTA-PReLU on the sum (H_out, W_out, C_out).
* Reuse INSTA-PReLU: 7C parameters, HWC + 2C FLOPs (the cube and the averaging go, the
  normalisation stays). SE: r = 16, per-channel params minus C, + 2C^2/r 8-bit weights,
  + (C + C/r) step sizes; FLOPs + 2C^2/r + C + C/r.
* insta_resnet18_lat: INSTA from stage 1 (the first map halved three times, 28x28), all four units
  of stages 1-3 including the downsampling unit whose INSTA-Th sees 56x56x64 (sw/models/resnet.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from flows.opcount import count_ops

# (H_in, H_out, C_in, C_out) of the 16 binary units; W = H.
UNITS = (
    [(56, 56, 64, 64)] * 4  # stage 0
    + [(56, 28, 64, 128)] + [(28, 28, 128, 128)] * 3  # stage 1
    + [(28, 14, 128, 256)] + [(14, 14, 256, 256)] * 3  # stage 2
    + [(14, 7, 256, 512)] + [(7, 7, 512, 512)] * 3  # stage 3
)  # fmt: skip
R = 16  # SE reduction ratio of insta_resnet18_plus


@dataclass(frozen=True)
class Totals:
    flops: int
    bops: int
    real_params: int  # 32-bit
    se_params: int  # 8-bit
    binary_params: int  # 1-bit

    @property
    def ops(self) -> float:
        return self.flops + self.bops / 64

    @property
    def params(self) -> int:
        return self.real_params + self.se_params + self.binary_params

    @property
    def params_bits(self) -> int:
        return 32 * self.real_params + 8 * self.se_params + self.binary_params


def backbone() -> Totals:
    """Everything but the units' activation / post-add modules.

    stem conv   112*112*64 * 3*7*7          = 118,013,952 FLOPs   9,408 params
    stem BN     112*112*64                  =     802,816 FLOPs     128 params
    binary 3x3  H_out^2 * C_out * C_in * 9 per unit:
                same-width unit 56*56*64*64*9 = 28*28*128*128*9 = ... = 115,605,504 BOPs (x13)
                halving unit  28*28*128*64*9 = 14*14*256*128*9 = ... = 57,802,752 BOPs (x3)
                total 13*115,605,504 + 3*57,802,752 = 1,676,279,808 BOPs
                weights 36,864*4 + (73,728 + 147,456*3) + (294,912 + 589,824*3)
                        + (1,179,648 + 2,359,296*3) = 10,985,472 bits
    unit BNs    H_out^2 * C_out: 200,704*4 + 100,352*4 + 50,176*4 + 25,088*4 = 1,505,280 FLOPs,
                2*C_out: 128*4 + 256*4 + 512*4 + 1024*4 = 7,680 params
    downsample  1x1 conv 28*28*128*64 = 14*14*256*128 = 7*7*512*256 = 6,422,528 FLOPs (x3)
                = 19,267,584 FLOPs, 8,192 + 32,768 + 131,072 = 172,032 params
                BN 100,352 + 50,176 + 25,088 = 175,616 FLOPs, 2*(128+256+512) = 1,792 params
    FC          512*1000 = 512,000 FLOPs, 512,000 weights + 1,000 bias params
    """
    flops = 112 * 112 * 64 * 3 * 7 * 7 + 112 * 112 * 64  # stem conv + stem BN
    bops, binary, real = 0, 0, 64 * 3 * 7 * 7 + 2 * 64
    for h_in, h_out, c_in, c_out in UNITS:
        bops += h_out * h_out * c_out * c_in * 9
        binary += c_out * c_in * 9
        flops += h_out * h_out * c_out  # BN after the conv (the weight scale merges into it)
        real += 2 * c_out
        if h_in != h_out:  # downsample shortcut: avgpool (free) + 1x1 conv + BN
            flops += h_out * h_out * c_out * c_in + h_out * h_out * c_out
            real += c_in * c_out + 2 * c_out
    flops += 512 * 1000
    real += 512 * 1000 + 1000
    return Totals(flops, bops, real, 0, binary)


def test_backbone_arithmetic():
    b = backbone()
    assert b.bops == 13 * 115_605_504 + 3 * 57_802_752 == 1_676_279_808
    assert b.binary_params == 10_985_472
    stem, unit_bns, downsample, fc = 118_013_952 + 802_816, 1_505_280, 19_267_584 + 175_616, 512_000
    assert b.flops == stem + unit_bns + downsample + fc == 140_277_248
    assert b.real_params == 9_408 + 128 + 7_680 + 172_032 + 1_792 + 513_000 == 704_040


def with_modules(act: list[str], post: list[str]) -> Totals:
    """The backbone plus each unit's activation (`act[i]`) and post-add module (`post[i]`)."""
    b = backbone()
    flops, real, se = b.flops, b.real_params, 0
    for (h_in, h_out, c_in, c_out), a, p in zip(UNITS, act, post, strict=True):
        hwc_in, hwc_out = h_in * h_in * c_in, h_out * h_out * c_out
        if a == "rsign":  # one shift per channel, free
            real += c_in
        elif a == "insta":  # mu, sigma, alpha, beta; normalise + cube, average + alpha
            real += 4 * c_in
            flops += 3 * hwc_in + 2 * c_in
        elif a == "insta_se":  # mu, sigma, beta + SE (alpha replaced)
            real += 3 * c_in + c_in + c_in // R
            se += 2 * c_in * c_in // R
            flops += 3 * hwc_in + 2 * c_in + 2 * c_in * c_in // R + c_in + c_in // R
        if p == "rprelu":  # shift, slope, shift, free
            real += 3 * c_out
        elif p == "insta":  # mu, sigma, a, slope, zeta; + 3*tanh(./3)
            real += 5 * c_out
            flops += 3 * hwc_out + 3 * c_out
        elif p == "insta_se":
            real += 4 * c_out + c_out + c_out // R
            se += 2 * c_out * c_out // R
            flops += 3 * hwc_out + 3 * c_out + 2 * c_out * c_out // R + c_out + c_out // R
        elif p == "reuse":  # 5C + p, q; normalisation only, no cube, no averaging
            real += 7 * c_out
            flops += hwc_out + 2 * c_out
    return Totals(flops, b.bops, real, se, b.binary_params)


N = len(UNITS)
# Sums over the units used below: sum(HWC_in) = 1,680,896, sum(C_in) = 3,392,
# sum(HWC_out) = 1,505,280, sum(C_out) = 3,840, sum(C_in^2) = 1,134,592, sum(C_out^2) = 1,392,640.
EXPECTED = {
    # RSign 3,392 + RPReLU 3*3,840 = 11,520 params; no extra FLOPs.
    # FLOPs 140,277,248; OPs 140,277,248 + 1,676,279,808/64 = 140,277,248 + 26,191,872.
    "reactnet_resnet18": (
        with_modules(["rsign"] * N, ["rprelu"] * N),
        Totals(140_277_248, 1_676_279_808, 704_040 + 3_392 + 11_520, 0, 10_985_472),
    ),
    # INSTA-Th: 3*1,680,896 + 2*3,392 = 5,049,472 FLOPs, 4*3,392 = 13,568 params.
    # INSTA-PReLU: 3*1,505,280 + 3*3,840 = 4,527,360 FLOPs, 5*3,840 = 19,200 params.
    "insta_resnet18": (
        with_modules(["insta"] * N, ["insta"] * N),
        Totals(140_277_248 + 5_049_472 + 4_527_360, 1_676_279_808, 704_040 + 32_768, 0, 10_985_472),
    ),
    # INSTA-Th+: 5,042,688 + 6,784 + SE 1,134,592/8 = 141,824 + steps 3,392 + 212 = 5,194,900
    #   FLOPs; 3*3,392 + 3,604 = 13,780 real + 141,824 8-bit params.
    # INSTA-PReLU+: 4,515,840 + 11,520 + 1,392,640/8 = 174,080 + 3,840 + 240 = 4,705,520 FLOPs;
    #   4*3,840 + 4,080 = 19,440 real + 174,080 8-bit params.
    "insta_resnet18_plus": (
        with_modules(["insta_se"] * N, ["insta_se"] * N),
        Totals(
            140_277_248 + 5_194_900 + 4_705_520,
            1_676_279_808,
            704_040 + 13_780 + 19_440,
            141_824 + 174_080,
            10_985_472,
        ),
    ),
    # Stage 0 keeps RSign (256) + RPReLU (768). Stages 1-3: INSTA-Th on sum(HWC_in) = 878,080,
    # sum(C_in) = 3,136: 2,634,240 + 6,272 = 2,640,512 FLOPs, 12,544 params; reuse INSTA-PReLU on
    # sum(HWC_out) = 702,464, sum(C_out) = 3,584: 702,464 + 7,168 = 709,632 FLOPs, 25,088 params.
    "insta_resnet18_lat": (
        with_modules(["rsign"] * 4 + ["insta"] * 12, ["rprelu"] * 4 + ["reuse"] * 12),
        Totals(
            140_277_248 + 2_640_512 + 709_632,
            1_676_279_808,
            704_040 + 256 + 768 + 12_544 + 25_088,
            0,
            10_985_472,
        ),
    ),
}


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_hand_arithmetic_agrees_with_the_literals(model):
    derived, literal = EXPECTED[model]
    assert derived == literal


@pytest.fixture(scope="session")
def full_size_onnx(tmp_path_factory):
    """Export a zoo model once per session (untrained, seed 0)."""
    cache: dict = {}

    def get(name: str):
        if name not in cache:
            import torch

            from sw import models
            from sw.export import export

            torch.set_num_threads(1)  # one per xdist worker, as in tests/conftest.py
            torch.manual_seed(0)
            path = tmp_path_factory.mktemp(name) / f"{name}.onnx"
            cache[name] = export(models.build(name), path)
        return cache[name]

    return get


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_full_size_totals(model, full_size_onnx):
    _, want = EXPECTED[model]
    r = count_ops(full_size_onnx(model))
    got = (r.flops, r.bops, r.ops, r.params, r.params_bits)
    assert got == (want.flops, want.bops, want.ops, want.params, want.params_bits)
