"""Slicing the output cube ``last_hidden`` (B,T,H): parse a slice spec and take the slice (no drawing here).

A spec is written as in NumPy/PyTorch: ``"[:, 0, :]"``, ``"[i, :, :]"``, ``"[:, :, k]"``,
``"[i, t, :]"``, ``"[2:5, 0, :]"``. Each entry is ``:``, an int (negative counts from the end),
a range ``a:b``, or one of the names ``i`` (a sentence), ``t`` (a token) and ``k`` (a hidden unit)
whose values come from the explorer's sliders. Missing trailing entries mean ``:``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ...core.stats import as_numpy

AXES = ("sentences", "tokens", "hidden")
NAMES = {"i": "sentence", "t": "token", "k": "hidden unit"}
PRESETS = ("[:, 0, :]", "[i, :, :]", "[:, t, :]", "[:, :, k]", "[i, t, :]", "[i, :, k]", "[i, t, k]", "[:, -1, :]")

_INT = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class SliceSpec:
    """A parsed spec: one entry per axis, each ``":"``, an int, a name, or a (start, stop) range."""

    text: str
    parts: tuple

    def code(self, array: str = "last_hidden", values: dict | None = None) -> str:
        """The Python that takes this slice, e.g. ``last_hidden[:, 0, :]`` (names filled from ``values``)."""
        out = []
        for p in self.parts:
            if isinstance(p, tuple):
                out.append(f"{'' if p[0] is None else p[0]}:{'' if p[1] is None else p[1]}")
            elif isinstance(p, str) and p in NAMES and values is not None and p in values:
                out.append(str(values[p]))
            else:
                out.append(str(p))
        return f"{array}[{', '.join(out)}]"


def parse_slice_spec(spec: str) -> SliceSpec:
    """Parse ``"[:, 0, :]"``-style text into a SliceSpec (three entries; missing trailing ones are ``:``).

    Raises:
        ValueError: not bracketed, more than three entries, an empty entry, a step, or an unknown name.
    """
    if not isinstance(spec, str):
        raise ValueError(f"A slice spec is text such as '[:, 0, :]', got {type(spec).__name__}.")
    text = spec.strip()
    if not (text.startswith("[") and text.endswith("]")):
        raise ValueError(f"Slice spec {spec!r} must be written in square brackets, e.g. '[:, 0, :]'.")
    inner = text[1:-1].strip()
    if not inner:
        raise ValueError("The slice spec is empty: write one entry per axis, e.g. '[:, 0, :]'.")
    raw = [p.strip() for p in inner.split(",")]
    if len(raw) > 3:
        raise ValueError(
            f"{spec!r} has {len(raw)} entries but the cube has 3 axes [sentences, tokens, hidden]: "
            "use at most three, e.g. '[:, 0, :]'."
        )
    parts: list = []
    for pos, p in enumerate(raw):
        axis = AXES[pos]
        if p == "":
            raise ValueError(f"Entry {pos} ({axis}) of {spec!r} is empty: write ':' to keep the whole axis.")
        if p == ":":
            parts.append(":")
        elif _INT.match(p):
            parts.append(int(p))
        elif p in NAMES:
            parts.append(p)
        elif ":" in p:
            bits = [b.strip() for b in p.split(":")]
            if len(bits) != 2:
                raise ValueError(f"Entry {pos} ({axis}) {p!r}: steps are not supported here; use 'a:b' or ':'.")
            ends = []
            for b in bits:
                if b == "":
                    ends.append(None)
                elif _INT.match(b):
                    ends.append(int(b))
                else:
                    raise ValueError(f"Entry {pos} ({axis}) {p!r}: a range needs whole numbers, e.g. '2:5'.")
            parts.append(tuple(ends))
        else:
            raise ValueError(
                f"Entry {pos} ({axis}) {p!r} is not understood: use ':', a whole number, a range 'a:b', "
                f"or a name: {', '.join(f'{n} ({w})' for n, w in NAMES.items())}."
            )
    parts += [":"] * (3 - len(parts))
    return SliceSpec(text, tuple(parts))


@dataclass
class SliceResult:
    """A slice of the cube and everything needed to explain it.

    Attributes:
        spec: the parsed spec.
        code: e.g. ``"last_hidden[:, 0, :]"``; ``resolved_code`` has the names' values filled in.
        shape: the result's shape (the axes taken with an int disappear).
        kept_axes: names of the axes that remain, in order.
        values: the sliced numbers as a NumPy array of ``shape``.
        box: per axis (start, stop) indices of the selected block, for drawing.
    """

    spec: SliceSpec
    code: str
    resolved_code: str
    shape: tuple
    kept_axes: tuple
    values: np.ndarray
    box: tuple


def _index(part, axis: int, size: int, values: dict):
    name = AXES[axis]
    if isinstance(part, str) and part in NAMES:
        if part not in values or values[part] is None:
            raise ValueError(f"The spec uses {part!r} ({NAMES[part]}) but no value was given for it.")
        part = int(values[part])
    if part == ":":
        return slice(None), (0, size)
    if isinstance(part, tuple):
        s = slice(*part)
        start, stop, _ = s.indices(size)
        if stop <= start:
            raise ValueError(f"The range {part[0]}:{part[1]} on the {name} axis (size {size}) selects nothing.")
        return s, (start, stop)
    if not -size <= part < size:
        raise ValueError(f"Index {part} is out of range for the {name} axis, which has size {size} (0..{size - 1}).")
    j = part % size
    return j, (j, j + 1)


def cube_array(last_hidden) -> np.ndarray:
    """A (B,T,H) tensor or array as a NumPy array of the same dtype; a clear error when it is not 3-D."""
    arr = as_numpy(last_hidden, dtype=None)
    if arr.ndim != 3:
        raise ValueError(f"The cube must be 3-D [sentences, tokens, hidden], got shape {arr.shape}.")
    return arr


def take_slice(last_hidden, spec: str | SliceSpec, values: dict | None = None, array: str = "last_hidden") -> SliceResult:
    """Apply a spec to a (B,T,H) cube (tensor or array).

    Args:
        last_hidden: (B,T,H) tensor or array.
        spec: text like ``"[:, 0, :]"`` or a parsed SliceSpec.
        values: values for the names i, t, k used in the spec.

    Raises:
        ValueError: a bad spec, an index out of range, or a cube that is not 3-D.
    """
    arr = cube_array(last_hidden)
    parsed = parse_slice_spec(spec) if isinstance(spec, str) else spec
    values = dict(values or {})
    idx, box, kept = [], [], []
    for axis, part in enumerate(parsed.parts):
        index, span = _index(part, axis, arr.shape[axis], values)
        idx.append(index)
        box.append(span)
        if isinstance(index, slice):
            kept.append(AXES[axis])
    out = arr[tuple(idx)]
    return SliceResult(parsed, parsed.code(array), parsed.code(array, values), tuple(out.shape), tuple(kept),
                       out, tuple(box))


def heatmap_data(result: SliceResult, tokens: Sequence[Sequence[str]] | None = None) -> dict:
    """The slice as a 2-D grid with axis names and tick labels (compute apart from drawing)."""
    vals = np.asarray(result.values, dtype=float)
    kept = list(result.kept_axes)
    if vals.ndim == 0:
        grid, rows, cols = vals.reshape(1, 1), "", ""
    elif vals.ndim == 1:
        grid, rows, cols = vals.reshape(1, -1), "", kept[0]
    elif vals.ndim == 2:
        grid, rows, cols = vals, kept[0], kept[1]
    else:
        grid = vals.reshape(-1, vals.shape[-1])
        rows, cols = f"{kept[0]} x {kept[1]}", kept[2]
    row_labels = None
    if rows == "tokens" and tokens is not None and result.box[0][1] - result.box[0][0] == 1:
        row_toks = list(tokens[result.box[0][0]])
        start = result.box[1][0]
        row_labels = [(row_toks[start + j] if start + j < len(row_toks) else "[PAD]") for j in range(grid.shape[0])]
    return {"grid": grid, "rows": rows, "cols": cols, "row_labels": row_labels}


def describe(result: SliceResult) -> str:
    """One line: code, resolved code, shape and the axes that remain."""
    kept = " x ".join(result.kept_axes) if result.kept_axes else "a single number"
    return f"{result.resolved_code}  ->  shape {result.shape}  ({kept})"


def token_at(tokens: Sequence[Sequence[str]], position: int, width: int, pad: str = "[PAD]") -> list[str]:
    """The token each row holds at ``position`` of a padded batch ``width`` tokens wide (negative counts from the end).

    Args:
        tokens: the real tokens of each row (as in ``Cube.tokens``), B lists.
        position: a token index into the padded (B,T) batch.
        width: T, the padded length.
        pad: what to report for padding positions.

    Returns:
        B strings, one per row.
    """
    j = position % width
    return [row[j] if j < len(row) else pad for row in tokens]
