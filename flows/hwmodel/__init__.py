"""The hardware model: what the layer kinds, the code generators and the estimator share about
hardware, with no layer kind in it (docs/architecture.md, section 2).

* `ranges`     exact value ranges and the bits that hold them (one `width`, one `product_range`)
* `structure`  counters and reduction trees (`clog2`, `tree_nodes`, `tree_registers`)
* `ports`      a stream port: lanes per word, element type, channels and vectors per frame
* `memory`     how a memory maps: block RAM, URAM, LUT RAM or LUT ROM, and what it costs
* `logic`      LUT and multiplier mapping per target family (DSP blocks, LUT multipliers)
* `requant`    the widths of `sat(rne(y * 2^-shift))` (requantising Affine, RPReLU)
* `cube`       the widths and cost of the INSTA write side's exact cube
* `resources`  `Estimate`: cycles per frame and LUT/FF/BRAM/DSP/URAM/LUTRAM of a block
"""
