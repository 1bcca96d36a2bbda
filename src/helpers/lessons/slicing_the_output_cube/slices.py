"""Slicing the output cube ``last_hidden`` (B,T,H): parse a slice spec, take the slice, draw it.

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

from ..core.checks import CheckResult
from ..core.checks import unanswered as _unanswered

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


def take_slice(last_hidden, spec: str | SliceSpec, values: dict | None = None, array: str = "last_hidden") -> SliceResult:
    """Apply a spec to a (B,T,H) cube (tensor or array).

    Args:
        last_hidden: (B,T,H) tensor or array.
        spec: text like ``"[:, 0, :]"`` or a parsed SliceSpec.
        values: values for the names i, t, k used in the spec.

    Raises:
        ValueError: a bad spec, an index out of range, or a cube that is not 3-D.
    """
    arr = last_hidden.detach().cpu().numpy() if hasattr(last_hidden, "detach") else np.asarray(last_hidden)
    if arr.ndim != 3:
        raise ValueError(f"The cube must be 3-D [sentences, tokens, hidden], got shape {arr.shape}.")
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


# ----------------------------------------------------------------------------- drawing


def _box_faces(x0, x1, y0, y1, z0, z1):
    p = [(x0, y0, z0), (x1, y0, z0), (x1, y1, z0), (x0, y1, z0), (x0, y0, z1), (x1, y0, z1), (x1, y1, z1), (x0, y1, z1)]
    ids = [(0, 1, 2, 3), (4, 5, 6, 7), (0, 1, 5, 4), (2, 3, 7, 6), (1, 2, 6, 5), (0, 3, 7, 4)]
    return [[p[i] for i in face] for face in ids]


def draw_cube(ax, shape: Sequence[int], box: Sequence[tuple] | None = None, title: str = "") -> None:
    """Draw the cube (B,T,H) as a wire box on a 3-D axis, with ``box`` (per-axis start/stop) filled."""
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    b, t, h = shape
    # x = tokens, y = sentences (depth), z = hidden units (height)
    whole = Poly3DCollection(_box_faces(0, t, 0, b, 0, h), facecolors=(0.8, 0.8, 0.85, 0.08),
                             edgecolors=(0.3, 0.3, 0.4, 0.6), linewidths=0.6)
    ax.add_collection3d(whole)
    if box is not None:
        (s0, s1), (t0, t1), (h0, h1) = box
        sel = Poly3DCollection(_box_faces(t0, t1, s0, s1, h0, h1), facecolors=(0.85, 0.2, 0.1, 0.55),
                               edgecolors=(0.6, 0.1, 0.05, 0.9), linewidths=0.8)
        ax.add_collection3d(sel)
    ax.set_xlim(0, t)
    ax.set_ylim(0, b)
    ax.set_zlim(0, h)
    ax.set_box_aspect((1.4, 1.0, 1.2))
    ax.set_xlabel(f"tokens ({t})", labelpad=-8)
    ax.set_ylabel(f"sentences ({b})", labelpad=-8)
    ax.set_zlabel(f"hidden ({h})", labelpad=-8)
    ax.tick_params(labelsize=6, pad=-2)
    ax.view_init(elev=22, azim=-55)
    if title:
        ax.set_title(title, fontsize=9)


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


def draw_heatmap(ax, data: dict, title: str = "") -> None:
    """Draw heatmap_data() on a 2-D axis."""
    grid = data["grid"]
    lim = float(np.abs(grid).max()) or 1.0
    im = ax.imshow(grid, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    ax.set_xlabel(data["cols"] or "", fontsize=8)
    ax.set_ylabel(data["rows"] or "", fontsize=8)
    if data["row_labels"] is not None and len(data["row_labels"]) <= 40:
        ax.set_yticks(range(len(data["row_labels"])))
        ax.set_yticklabels(data["row_labels"], fontsize=6)
    if grid.size == 1:
        ax.text(0, 0, f"{grid[0, 0]:.3f}", ha="center", va="center", fontsize=12)
    ax.tick_params(labelsize=6)
    ax.figure.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    if title:
        ax.set_title(title, fontsize=9)


def draw_slice_view(result: SliceResult, cube_shape: Sequence[int], tokens=None):
    """Figure with the cube (slice highlighted) on the left and the slice's values on the right."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(9, 3.4), dpi=80)
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    draw_cube(ax3, cube_shape, result.box, title=f"{result.resolved_code}  ->  shape {result.shape}")
    ax2 = fig.add_subplot(1, 2, 2)
    draw_heatmap(ax2, heatmap_data(result, tokens), title="values of the slice")
    fig.tight_layout()
    return fig


def describe(result: SliceResult) -> str:
    """One line: code, resolved code, shape and the axes that remain."""
    kept = " x ".join(result.kept_axes) if result.kept_axes else "a single number"
    return f"{result.resolved_code}  ->  shape {result.shape}  ({kept})"


# ----------------------------------------------------------------------------- fast views for the widget

_SCREEN = {"x": 190.0, "depth": 110.0, "z": 150.0}  # display lengths (px) of the token, sentence, hidden axes


def _project(x: float, y: float, z: float) -> tuple[float, float]:
    """Oblique projection of unit-cube coordinates (x tokens, y sentences/depth, z hidden) to SVG pixels."""
    u = 30 + x * _SCREEN["x"] + y * _SCREEN["depth"] * 0.75
    v = 40 + _SCREEN["z"] + _SCREEN["depth"] * 0.5 - z * _SCREEN["z"] - y * _SCREEN["depth"] * 0.5
    return round(u, 1), round(v, 1)


def _faces_svg(x0, x1, y0, y1, z0, z1, fill: str, opacity: float, stroke: str) -> str:
    faces = [  # visible faces: front (y0), top (z1), right (x1)
        [(x0, y0, z0), (x1, y0, z0), (x1, y0, z1), (x0, y0, z1)],
        [(x0, y0, z1), (x1, y0, z1), (x1, y1, z1), (x0, y1, z1)],
        [(x1, y0, z0), (x1, y1, z0), (x1, y1, z1), (x1, y0, z1)],
    ]
    out = []
    for face in faces:
        pts = " ".join(f"{u},{v}" for u, v in (_project(*p) for p in face))
        out.append(f'<polygon points="{pts}" fill="{fill}" fill-opacity="{opacity}" stroke="{stroke}" stroke-width="1"/>')
    return "".join(out)


def _span(start: int, stop: int, size: int, least: float = 0.025) -> tuple[float, float]:
    a, b = start / size, stop / size
    if b - a < least:  # keep a single index visible
        mid = (a + b) / 2
        a, b = max(0.0, mid - least / 2), min(1.0, mid + least / 2)
    return a, b


def cube_svg(shape: Sequence[int], box: Sequence[tuple] | None = None, caption: str = "") -> str:
    """An SVG drawing of the cube [sentences, tokens, hidden] with the ``box`` block filled (fast: no matplotlib)."""
    b, t, h = shape
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="340" height="300" font-family="sans-serif" font-size="11">']
    parts.append(_faces_svg(0, 1, 0, 1, 0, 1, "#dde", 0.35, "#557"))
    if box is not None:
        (s0, s1), (t0, t1), (h0, h1) = box
        xa, xb = _span(t0, t1, t)
        ya, yb = _span(s0, s1, b)
        za, zb = _span(h0, h1, h)
        parts.append(_faces_svg(xa, xb, ya, yb, za, zb, "#d33", 0.75, "#900"))
    u, v = _project(0.5, 0, 0)
    parts.append(f'<text x="{u}" y="{v + 16}" text-anchor="middle">tokens ({t})</text>')
    u, v = _project(1, 0.5, 0)
    parts.append(f'<text x="{u + 8}" y="{v + 8}">sentences ({b})</text>')
    u, v = _project(0, 0, 0.5)
    parts.append(f'<text x="{u - 8}" y="{v}" text-anchor="end" transform="rotate(-90 {u - 8} {v})">hidden ({h})</text>')
    if caption:
        parts.append(f'<text x="10" y="16" font-family="monospace">{caption}</text>')
    parts.append("</svg>")
    return "".join(parts)


def heatmap_png(grid, max_pixels: tuple[int, int] = (200, 480)) -> bytes:
    """PNG bytes of a 2-D grid (blue negative, red positive), each cell scaled up to whole pixels."""
    import io

    import matplotlib
    from matplotlib.image import imsave

    grid = np.asarray(grid, dtype=float)
    lim = float(np.abs(grid).max()) or 1.0
    rgba = matplotlib.colormaps["RdBu_r"]((grid / lim + 1) / 2)
    ry = max(1, max_pixels[0] // grid.shape[0])
    rx = max(1, max_pixels[1] // grid.shape[1])
    rgba = np.repeat(np.repeat(rgba, ry, axis=0), rx, axis=1)
    buf = io.BytesIO()
    imsave(buf, rgba, format="png")
    return buf.getvalue()


# ----------------------------------------------------------------------------- widget


def build_cube_explorer(last_hidden, tokens: Sequence[Sequence[str]] | None = None, spec: str = "[:, 0, :]"):
    """A widget tree: spec chooser, sliders for i (sentence), t (token), k (hidden unit), the cube with the
    slice highlighted, the resulting shape and code, and the values as a heatmap.

    Returns:
        ipywidgets.VBox; ``.controls`` holds the widgets by name, ``.state`` the latest SliceResult
        (or the error text), ``.render()`` redraws.
    """
    import html

    import ipywidgets as w

    arr = last_hidden.detach().cpu().numpy() if hasattr(last_hidden, "detach") else np.asarray(last_hidden)
    if arr.ndim != 3:
        raise ValueError(f"The cube must be 3-D [sentences, tokens, hidden], got shape {arr.shape}.")
    b, t, h = arr.shape
    style = {"description_width": "90px"}
    spec_box = w.Combobox(value=spec, options=list(PRESETS), description="slice spec", ensure_option=False,
                          continuous_update=False, style=style)
    i_slider = w.IntSlider(0, 0, b - 1, description="i (sentence)", continuous_update=False, style=style)
    t_slider = w.IntSlider(0, 0, t - 1, description="t (token)", continuous_update=False, style=style)
    k_slider = w.IntSlider(0, 0, h - 1, description="k (hidden)", continuous_update=False, style=style)
    info = w.HTML()
    drawing = w.HTML()
    heat = w.Image(format="png")
    heat_caption = w.HTML()
    box = w.VBox([spec_box, w.HBox([i_slider, t_slider, k_slider]), info,
                  w.HBox([drawing, w.VBox([heat_caption, heat])])])
    box.controls = {"spec": spec_box, "i": i_slider, "t": t_slider, "k": k_slider, "info": info,
                    "drawing": drawing, "heatmap": heat}
    box.state = None

    def render(*_):
        values = {"i": i_slider.value, "t": t_slider.value, "k": k_slider.value}
        try:
            result = take_slice(arr, spec_box.value, values)
        except ValueError as exc:
            box.state = str(exc)
            info.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            return
        box.state = result
        lines = [f"<code>{html.escape(result.resolved_code)}</code> &rarr; shape <b>{result.shape}</b> "
                 f"({' x '.join(result.kept_axes) or 'a single number'})"]
        if tokens is not None:
            sentence = tokens[values["i"]]
            if "i" in result.spec.parts:
                lines.append(f"sentence i={values['i']}: <i>{html.escape(' '.join(sentence))}</i>")
            if "t" in result.spec.parts:
                tok = sentence[values["t"]] if values["t"] < len(sentence) else "[PAD]"
                lines.append(f"token t={values['t']} of sentence i: <code>{html.escape(tok)}</code>")
        info.value = "<br>".join(lines)
        drawing.value = cube_svg(arr.shape, result.box)
        data = heatmap_data(result, tokens)
        grid = data["grid"]
        heat.value = heatmap_png(grid)
        rows = data["rows"] or "one row"
        heat_caption.value = (f"values: rows = {rows}, columns = {data['cols'] or 'one value'}; "
                              f"blue &lt; 0 &lt; red, |max| = {np.abs(grid).max():.3f}")

    for control in (spec_box, i_slider, t_slider, k_slider):
        control.observe(render, names="value")
    box.render = render
    render()
    return box


# ----------------------------------------------------------------------------- exercise check


def check_shape_answer(answer, spec: str, cube_shape: Sequence[int], values: dict | None = None) -> CheckResult:
    """Check a reader's guess of the shape ``spec`` gives on a cube of ``cube_shape``; never raises."""
    if _unanswered(answer):
        return CheckResult(None, "Not answered yet: replace the ... with a tuple such as (2, 3).")
    try:
        guess = tuple(int(x) for x in answer)
    except (TypeError, ValueError):
        return CheckResult(False, "Not quite: give the shape as a tuple of whole numbers, e.g. (2, 3); "
                                  f"got {answer!r}.")
    values = values or {"i": 0, "t": 0, "k": 0}
    result = take_slice(np.zeros(tuple(cube_shape), dtype=np.float32), spec, values)
    details = {"shape": result.shape, "kept_axes": result.kept_axes}
    if guess == result.shape:
        return CheckResult(True, f"Right: {result.code} has shape {result.shape} "
                                 f"({' x '.join(result.kept_axes) or 'one number'}).", details)
    return CheckResult(False, (
        f"Not quite: {result.code} has shape {result.shape}, not {guess}. An int index removes its axis; "
        f"':' keeps it. Here the axes {result.kept_axes or 'none'} remain."
    ), details)


def _token_at(tokens: Sequence[Sequence[str]], position: int, width: int, pad: str = "[PAD]") -> list[str]:
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


def check_cls_slice(answer, tokens: Sequence[Sequence[str]], cube_shape: Sequence[int],
                    cls_token: str = "[CLS]") -> CheckResult:
    """Check a slice spec meant to give one vector per sentence, taken at the [CLS] position; never raises.

    Args:
        answer: the reader's spec, text such as ``"[i, :, :]"``; ``...``/None = not answered.
        tokens: the real tokens of each row of the cube (``cube.tokens``).
        cube_shape: (B, T, H) of the cube the tokens belong to.
        cls_token: the tokenizer's classification token (``lm.tokenizer.cls_token``).
    """
    if _unanswered(answer):
        return CheckResult(None, "Not answered yet: replace the ... with a slice spec as text, e.g. '[i, :, :]'.")
    if not isinstance(answer, str):
        return CheckResult(False, f"Not quite: write the spec as text in quotes, e.g. '[i, :, :]'; got {answer!r}.")
    b, t, h = (int(n) for n in cube_shape)
    try:
        spec = parse_slice_spec(answer)
    except ValueError as err:
        return CheckResult(False, f"Not quite: {err}")
    names = [p for p in spec.parts if isinstance(p, str) and p in NAMES]
    if names:
        return CheckResult(False, f"Not quite: {answer} uses the slider name(s) {', '.join(names)}; write plain "
                                  f"numbers and ':' so the spec means the same whatever the sliders say.")
    try:
        result = take_slice(np.zeros((b, t, h), dtype=np.float32), spec)
    except ValueError as err:
        return CheckResult(False, f"Not quite: {err}")
    details = {"shape": result.shape, "kept_axes": result.kept_axes}
    if result.shape != (b, h):
        return CheckResult(False, (
            f"Not quite: {result.code} has shape {result.shape} (axes kept: {', '.join(result.kept_axes) or 'none'}), "
            f"but one vector per sentence is shape ({b}, {h}) = [sentences, hidden]: keep every sentence and "
            f"every hidden unit, and pick ONE token position with a number."
        ), details)
    position = spec.parts[1]
    found = _token_at(tokens, position, t)
    details["tokens"] = found
    if all(tok == cls_token for tok in found):
        return CheckResult(True, f"Right: {result.code} takes position {position % t}, which holds {cls_token} in "
                                 f"every row, and gives shape ({b}, {h}): one vector per sentence.", details)
    seen = ", ".join(sorted(set(found)))
    return CheckResult(False, (
        f"Not quite: {result.code} has the right shape ({b}, {h}), but position {position} holds {seen} "
        f"(rows are padded to {t} tokens, so a position counted from the end is not the same token in every row). "
        f"Print cube.tokens[0] to see where {cls_token} is."
    ), details)
