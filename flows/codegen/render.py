"""Rendering of the Verilog templates (hw/templates) and of memory images, shared by every RTL
emitter: the jinja2 environment with its one-line helpers `ext`, `lit` and `index`."""

from __future__ import annotations

from pathlib import Path

import jinja2

from flows.hwmodel.memory import buffer_style, rom_style
from flows.hwmodel.structure import csd_digits

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = REPO_ROOT / "hw" / "templates"


# --- one-line fragments for the templates --------------------------------------------------------
def ext(sig: str, frm: int, to: int, signed: bool) -> str:
    """`sig` (a plain wire of `frm` bits) sign/zero-extended or truncated to `to` bits."""
    if to == frm:
        return sig
    if to < frm:
        return f"{sig}[{to - 1}:0]"
    fill = f"{sig}[{frm - 1}]" if signed else "1'b0"
    return f"{{{{{to - frm}{{{fill}}}}}, {sig}}}"


def lit(value: int, bits: int) -> str:
    return f"{bits}'d{value}"


def slit(value: int, bits: int) -> str:
    """A signed Verilog literal of `bits` bits (two's complement pattern in hex)."""
    return f"{bits}'sh{value & ((1 << bits) - 1):x}"


def hlit(value: int, bits: int) -> str:
    """An unsigned Verilog literal of `bits` bits (the two's complement pattern of `value`)."""
    return f"{bits}'h{value & ((1 << bits) - 1):x}"


def index(sig: str, depth: int) -> str:
    """Address of a memory of `depth` words (a 1-word memory takes the constant 0)."""
    return sig if depth > 1 else "0"


def cmul(sig: str, k: int) -> str:
    """`sig * k` for a constant k >= 0 as shifts and adds (canonical signed digits), in the width
    of the expression it stands in (the product modulo 2^width, as `*` would give): synthesis
    makes adders of it, not a multiplier block. For address arithmetic, where a DSP would be
    wasted (the sliding window's row * words-per-row)."""
    if k < 0:
        raise ValueError(f"cmul: k = {k} must be >= 0")
    if k == 0:
        return "0"
    terms = [(f"({sig} <<< {n})" if n else f"({sig})", d) for n, d in reversed(csd_digits(k))]
    first, d0 = terms[0]
    expr = first if d0 > 0 else f"(-{first})"
    for t, d in terms[1:]:
        expr += f" {'+' if d > 0 else '-'} {t}"
    return f"({expr})"


ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
ENV.globals.update(ext=ext, lit=lit, slit=slit, hlit=hlit, index=index, rom_style=rom_style,
                   ram_style=buffer_style, cmul=cmul)  # fmt: skip


def render(template: str, path: Path, ctx: dict) -> Path:
    """Render hw/templates/`template` with `ctx` into `path`."""
    path.write_text(ENV.get_template(template).render(**ctx))
    return path


def write_mem(path: Path, words: list[int], width: int) -> Path:
    """A $readmemh image: one hex word of `width` bits per line."""
    digits = (width + 3) // 4
    path.write_text("".join(f"{w:0{digits}x}\n" for w in words))
    return path
