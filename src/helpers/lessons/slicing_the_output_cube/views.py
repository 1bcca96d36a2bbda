"""Drawing the output cube and its slices, the confusion matrix, and the cube explorer of notebook 05.

Every ``draw_*`` returns a Figure built with :func:`helpers.ui.figures.new_figure`; the explorer
uses fast SVG and PNG views instead (a few milliseconds per change).
"""

from __future__ import annotations

import html
import io
from typing import Sequence

import numpy as np

from ...ui.explorer import Explorer
from ...ui.figures import new_figure
from .slices import PRESETS, SliceResult, cube_array, heatmap_data, take_slice

# ----------------------------------------------------------------------------- matplotlib figures


def _box_faces(x0, x1, y0, y1, z0, z1):
    p = [(x0, y0, z0), (x1, y0, z0), (x1, y1, z0), (x0, y1, z0), (x0, y0, z1), (x1, y0, z1), (x1, y1, z1), (x0, y1, z1)]
    ids = [(0, 1, 2, 3), (4, 5, 6, 7), (0, 1, 5, 4), (2, 3, 7, 6), (1, 2, 6, 5), (0, 3, 7, 4)]
    return [[p[i] for i in face] for face in ids]


def _cube_on(ax, shape: Sequence[int], box: Sequence[tuple] | None = None, title: str = "") -> None:
    """Paint the cube (B,T,H) as a wire box on a 3-D axis, with ``box`` (per-axis start/stop) filled."""
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


def _heatmap_on(ax, data: dict, title: str = "") -> None:
    """Paint heatmap_data() on a 2-D axis."""
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
    fig = new_figure(9, 3.4, dpi=80)
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    _cube_on(ax3, cube_shape, result.box, title=f"{result.resolved_code}  ->  shape {result.shape}")
    ax2 = fig.add_subplot(1, 2, 2)
    _heatmap_on(ax2, heatmap_data(result, tokens), title="values of the slice")
    return fig


def draw_confusion(confusion, label_names: Sequence[str], title: str = "confusion matrix (test)"):
    """A Figure of a (K,K) confusion matrix (rows = true label, columns = predicted) with counts in the cells."""
    cm = np.asarray(confusion)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(label_names):
        raise ValueError(f"confusion must be (K,K) with one label name per class; got shape {cm.shape} "
                         f"and {len(label_names)} names.")
    fig = new_figure(3.4, 3.0, dpi=90)
    ax = fig.subplots()
    ax.imshow(cm, cmap="Blues")
    for (r, c), v in np.ndenumerate(cm):
        ax.text(c, r, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black")
    ax.set_xticks(range(len(label_names)), label_names)
    ax.set_yticks(range(len(label_names)), label_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    return fig


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


# ----------------------------------------------------------------------------- explorer


def build_cube_explorer(last_hidden, tokens: Sequence[Sequence[str]] | None = None, spec: str = "[:, 0, :]") -> Explorer:
    """The cube explorer: a slice spec, sliders for i (sentence), t (token) and k (hidden unit); the cube with the
    slice highlighted, the resulting shape and code, and the values as a heatmap.

    Args:
        last_hidden: (B,T,H) tensor or array (``cube.last_hidden``).
        tokens: optional real tokens of each row (``cube.tokens``), to name the sentence and token.
        spec: the slice spec shown first.

    Returns:
        an Explorer with controls ``spec``, ``i``, ``t``, ``k`` and views ``info``, ``drawing``, ``caption``,
        ``heatmap``; ``state["result"]`` is the SliceResult drawn (a bad spec leaves ``state["error"]``).
    """
    import ipywidgets as w

    arr = cube_array(last_hidden)
    b, t, h = arr.shape
    style = {"description_width": "90px"}
    controls = {
        "spec": w.Combobox(value=spec, options=list(PRESETS), description="slice spec", ensure_option=False,
                           continuous_update=False, style=style),
        "i": w.IntSlider(0, 0, b - 1, description="i (sentence)", continuous_update=False, style=style),
        "t": w.IntSlider(0, 0, t - 1, description="t (token)", continuous_update=False, style=style),
        "k": w.IntSlider(0, 0, h - 1, description="k (hidden)", continuous_update=False, style=style),
    }
    views = {"info": w.HTML(), "drawing": w.HTML(), "caption": w.HTML(), "heatmap": w.Image(format="png")}

    def update(values: dict, views: dict) -> dict:
        picked = {"i": values["i"], "t": values["t"], "k": values["k"]}
        try:
            result = take_slice(arr, values["spec"], picked)
        except ValueError:
            views["info"].value = ""  # the error goes to the status line; no stale shape next to it
            raise
        lines = [f"<code>{html.escape(result.resolved_code)}</code> &rarr; shape <b>{result.shape}</b> "
                 f"({' x '.join(result.kept_axes) or 'a single number'})"]
        if tokens is not None:
            sentence = tokens[picked["i"]]
            if "i" in result.spec.parts:
                lines.append(f"sentence i={picked['i']}: <i>{html.escape(' '.join(sentence))}</i>")
            if "t" in result.spec.parts:
                tok = sentence[picked["t"]] if picked["t"] < len(sentence) else "[PAD]"
                lines.append(f"token t={picked['t']} of sentence i: <code>{html.escape(tok)}</code>")
        where = f"i={picked['i']}, t={picked['t']}, k={picked['k']}"
        unused = [n for n in ("i", "t", "k") if n not in result.spec.parts]
        lines.append(f"one entry of the cube, last_hidden[{picked['i']}, {picked['t']}, {picked['k']}] = "
                     f"<b>{arr[picked['i'], picked['t'], picked['k']]:.3f}</b> ({where})"
                     + (f"; this spec does not use {', '.join(unused)}" if unused else ""))
        views["info"].value = "<br>".join(lines)
        views["drawing"].value = cube_svg(arr.shape, result.box)
        grid = heatmap_data(result, tokens)
        views["heatmap"].value = heatmap_png(grid["grid"])
        views["caption"].value = (f"values: rows = {grid['rows'] or 'one row'}, columns = {grid['cols'] or 'one value'}; "
                                  f"blue &lt; 0 &lt; red, |max| = {np.abs(grid['grid']).max():.3f}")
        return {"result": result, "shape": result.shape, "code": result.resolved_code}

    layout = ["spec", ["i", "t", "k"], "info",
              w.HBox([views["drawing"], w.VBox([views["caption"], views["heatmap"]])])]
    return Explorer(controls, views, update, rows=layout)
