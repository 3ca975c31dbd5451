"""Small configurations of every zoo model that keep the full models' structure (stages, unit
kinds, downsampling, INSTA placement) at a fraction of the width and input size."""

from __future__ import annotations

RESNET18 = {"width": 8, "blocks": (1, 1, 1, 1), "input_size": 32, "num_classes": 10}

SMALL = {
    "digits_bnn": {"hidden": 32},
    "cnv_w1a1": {"channels": (8, 8, 16, 16, 16, 16), "fc": (32, 32)},
    "reactnet_resnet18": RESNET18,
    "insta_resnet18": RESNET18,
    "insta_resnet18_plus": {**RESNET18, "width": 16, "reduction": 4},
    "insta_resnet18_lat": RESNET18,
    "insta_resnet20": {"width": 8, "blocks": (1, 1, 1), "input_size": 16},
}
