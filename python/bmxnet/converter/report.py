"""What a conversion did: the layers packed, the layers left float and why, the sizes."""

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .attrs import format_shape
from .expectations import below_best


@dataclass
class BinaryLayer:
    """A layer replaced by a packed binary op."""
    name: str
    kind: str                   # "conv" or "dense"
    weight_shape: Tuple[int, ...]
    packed_shape: Tuple[int, ...]
    float_bytes: int            # float weight bytes before
    packed_bytes: int           # packed int32 weight bytes after
    pad_value: Optional[int] = None
    folded_batchnorm: Optional[str] = None
    notes: List[str] = field(default_factory=list)


@dataclass
class SkippedLayer:
    """A Convolution/FullyConnected that stays float, and why."""
    name: str
    kind: str
    reason: str
    folded_batchnorm: Optional[str] = None  # a BatchNorm folded into its float weights


@dataclass
class ConversionReport:
    symbol_in: str
    params_in: str
    symbol_out: str
    params_out: str
    converted: List[BinaryLayer]
    skipped: List[SkippedLayer]
    size_before: int            # symbol + params file bytes
    size_after: int
    params_before: int
    params_after: int
    input_shape: Optional[Tuple[int, ...]] = None   # recorded in the output symbol

    def format(self) -> str:
        lines = [f"model-converter: {self.symbol_in} + {self.params_in}",
                 f"  -> {self.symbol_out} + {self.params_out}", ""]
        if self.converted:
            rows = [("layer", "kind", "float weights", "packed", "bytes before", "bytes after",
                     "ratio", "notes")]
            for layer in self.converted:
                notes = []
                if layer.pad_value is not None:
                    notes.append(f"pad_value={layer.pad_value}")
                if layer.folded_batchnorm:
                    notes.append(f"folded {layer.folded_batchnorm}")
                notes += layer.notes + below_best(layer)
                rows.append((layer.name, layer.kind, format_shape(layer.weight_shape),
                             format_shape(layer.packed_shape), f"{layer.float_bytes:,}",
                             f"{layer.packed_bytes:,}",
                             f"{layer.float_bytes / max(layer.packed_bytes, 1):.1f}x",
                             ", ".join(notes)))
            lines.append(f"Binary layers ({len(self.converted)}, packed and accelerated):")
            lines += _table(rows)
        else:
            lines.append("No binary layers found (nothing to pack).")
        if self.skipped:
            lines += ["", f"Not accelerated ({len(self.skipped)}, left in float):"]
            lines += _table([("layer", "kind", "reason")] + [
                (s.name, s.kind, s.reason + (f"; folded {s.folded_batchnorm} into its weights"
                                             if s.folded_batchnorm else "")) for s in self.skipped])
        lines += ["",
                  f"Params file: {_fmt_bytes(self.params_before)} -> "
                  f"{_fmt_bytes(self.params_after)} "
                  f"({self.params_before / max(self.params_after, 1):.1f}x smaller)",
                  f"Total (symbol + params): {_fmt_bytes(self.size_before)} -> "
                  f"{_fmt_bytes(self.size_after)}",
                  f"Input shape: {format_shape(self.input_shape)}" if self.input_shape else
                  "Input shape: not recorded (exported without it); pass --input-shape N,C,H,W "
                  "to record it for bmxnet summary, bmxnet predict and the C example"]
        return "\n".join(lines)

    __str__ = format


def _table(rows) -> List[str]:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    out = []
    for k, row in enumerate(rows):
        cells = [str(c).ljust(w) if i in (0, 1) or k == 0 or i == len(row) - 1
                 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024.0
    return str(n)
