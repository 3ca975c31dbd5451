"""The result of the OPs accounting: one row per counted node, totals, JSON and a text table."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

#: Binary operations per FLOP in the papers' convention (ReActNet, Bi-Real): OPs = FLOPs + BOPs/64.
BOPS_PER_FLOP = 64


@dataclass(frozen=True)
class LayerOps:
    """The cost of one graph node (or of a part of it, e.g. a conv's weight scaling factor).

    `flops` counts real-valued multiplications (one MAC = one FLOP), `bops` binary MACs;
    `params` is the number of stored parameters and `params_bits` their size under the papers'
    widths (binary 1, SE weights 8, everything else 32).
    """

    name: str
    op_type: str
    kind: str
    flops: int = 0
    bops: int = 0
    params: int = 0
    params_bits: int = 0
    in_shape: tuple[int, ...] = ()
    out_shape: tuple[int, ...] = ()
    note: str = ""

    @property
    def costs_something(self) -> bool:
        return bool(self.flops or self.bops or self.params)


@dataclass
class OpsReport:
    """Per-layer rows and totals of a model; `ops = flops + bops / 64`."""

    model: str
    layers: list[LayerOps] = field(default_factory=list)

    @property
    def flops(self) -> int:
        return sum(r.flops for r in self.layers)

    @property
    def bops(self) -> int:
        return sum(r.bops for r in self.layers)

    @property
    def ops(self) -> float:
        return self.flops + self.bops / BOPS_PER_FLOP

    @property
    def params(self) -> int:
        return sum(r.params for r in self.layers)

    @property
    def params_bits(self) -> int:
        return sum(r.params_bits for r in self.layers)

    def by_kind(self) -> dict[str, dict[str, int]]:
        """Totals per row kind (e.g. "binary conv", "batchnorm"), for reports and docs."""
        out: dict[str, dict[str, int]] = {}
        for r in self.layers:
            d = out.setdefault(r.kind, {"count": 0, "flops": 0, "bops": 0, "params_bits": 0})
            d["count"] += 1
            d["flops"] += r.flops
            d["bops"] += r.bops
            d["params_bits"] += r.params_bits
        return out

    def to_json(self) -> dict:
        """Totals first (`flops`, `bops`, `ops`, `params`, `params_bits`), then the rows."""
        return {
            "model": self.model,
            "convention": "OPs = FLOPs + BOPs/64; INSTA-BNN supplementary section C; docs/ops.md",
            "flops": self.flops,
            "bops": self.bops,
            "ops": self.ops,
            "params": self.params,
            "params_bits": self.params_bits,
            "params_mbit": self.params_bits / 1e6,
            "by_kind": self.by_kind(),
            "layers": [asdict(r) for r in self.layers],
        }

    def table(self, *, all_rows: bool = False) -> str:
        """A fixed-width text table; nodes that cost nothing are left out unless `all_rows`."""
        head = f"{'layer':40s} {'kind':20s} {'out shape':18s} {'FLOPs':>13s} {'BOPs':>14s}"
        head += f" {'params':>10s} {'bits':>11s}"
        lines = [head, "-" * len(head)]
        for r in self.layers:
            if not (all_rows or r.costs_something):
                continue
            shape = "x".join(str(d) for d in r.out_shape)
            lines.append(
                f"{r.name[:40]:40s} {r.kind[:20]:20s} {shape[:18]:18s} {r.flops:13,d} "
                f"{r.bops:14,d} {r.params:10,d} {r.params_bits:11,d}"
            )
        lines.append("-" * len(head))
        lines.append(
            f"{'total':40s} {'':20s} {'':18s} {self.flops:13,d} {self.bops:14,d} "
            f"{self.params:10,d} {self.params_bits:11,d}"
        )
        lines.append(
            f"FLOPs {self.flops:.4e}  BOPs {self.bops:.4e}  OPs = FLOPs + BOPs/64 = "
            f"{self.ops:.4e}  params {self.params_bits / 1e6:.3f} Mbit"
        )
        return "\n".join(lines)
