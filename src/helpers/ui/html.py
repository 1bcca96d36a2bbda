"""HTML views: small tables and bars that redraw in well under a millisecond (no image encoding).

Explorers whose views are numbers use these instead of figures, so sliders stay fast.
"""

from __future__ import annotations

import html
from typing import Sequence

import numpy as np


def hex_colours(values: np.ndarray, vmin: float, vmax: float, cmap: str = "viridis") -> np.ndarray:
    """Colours of a matplotlib colour map (default viridis) as '#rrggbb' strings for an array of values (same shape)."""
    from matplotlib import colormaps

    v = np.asarray(values, dtype=float)
    t = np.zeros_like(v) if vmax <= vmin else np.clip((v - vmin) / (vmax - vmin), 0.0, 1.0)
    rgb = (colormaps[cmap](t)[..., :3] * 255).astype(int)
    flat = ["#%02x%02x%02x" % tuple(c) for c in rgb.reshape(-1, 3)]
    return np.array(flat, dtype=object).reshape(v.shape)


def matrix_html(matrix: np.ndarray, labels: Sequence[str], vmin: float = 0.0, vmax: float = 1.0) -> str:
    """An (N,N) matrix as a coloured HTML table (viridis, ``vmin``..``vmax``), rows labelled."""
    m = np.asarray(matrix)
    colours = hex_colours(m, vmin, vmax)
    mid = (vmin + vmax) / 2
    head = "".join(f'<th style="font-size:75%;padding:0 4px">{j}</th>' for j in range(len(m)))
    rows = []
    for i, row in enumerate(m):
        cells = "".join(
            f'<td style="background:{colours[i, j]};color:{"#000" if v > mid else "#fff"};'
            f'font-size:75%;padding:2px 5px;text-align:center">{v:.2f}</td>'
            for j, v in enumerate(row)
        )
        label = html.escape(str(labels[i])[:40])
        rows.append(f'<tr><th style="text-align:right;font-size:75%;padding-right:6px">{i}: {label}</th>{cells}</tr>')
    return f'<table style="border-collapse:collapse"><tr><th></th>{head}</tr>{"".join(rows)}</table>'


def grid_html(matrix: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str], vmin: float = -1.0,
              vmax: float = 1.0, cmap: str = "RdBu_r", fmt: str = "{:.2f}") -> str:
    """An (R,C) matrix as a coloured HTML table with labelled rows and columns (a diverging map by default)."""
    m = np.asarray(matrix, dtype=float)
    if m.shape != (len(row_labels), len(col_labels)):
        raise ValueError(f"matrix {m.shape} does not match {len(row_labels)} row and {len(col_labels)} column labels.")
    colours = hex_colours(m, vmin, vmax, cmap)
    span = max(vmax - vmin, 1e-12)
    head = "".join(f'<th style="font-size:70%;padding:0 3px;writing-mode:vertical-rl;transform:rotate(180deg)">'
                   f"{html.escape(str(c))}</th>" for c in col_labels)
    rows = []
    for i, row in enumerate(m):
        cells = "".join(
            f'<td style="background:{colours[i, j]};color:{"#fff" if abs((v - vmin) / span - 0.5) > 0.35 else "#000"};'
            f'font-size:65%;padding:2px 3px;text-align:center">{fmt.format(v)}</td>'
            for j, v in enumerate(row))
        rows.append(f'<tr><th style="text-align:right;font-size:75%;padding-right:6px;white-space:nowrap">'
                    f"{html.escape(str(row_labels[i]))}</th>{cells}</tr>")
    return f'<table style="border-collapse:collapse"><tr><th></th>{head}</tr>{"".join(rows)}</table>'


def bars_html(labels: Sequence[str], series: dict[str, Sequence[float]], vmax: float | None = None,
              width_px: int = 260) -> str:
    """Horizontal HTML bars: one row per label, one bar per series (at most three series)."""
    colours = ["#5b8fc7", "#e39b54", "#7fb069"]
    top = vmax if vmax is not None else max(max(float(v) for v in vals) for vals in series.values()) or 1.0
    legend = " ".join(
        f'<span style="background:{c};padding:0 6px;margin-right:4px"></span>{html.escape(name)}'
        for name, c in zip(series, colours)
    )
    rows = []
    for i, label in enumerate(labels):
        bars = "".join(
            f'<div style="display:flex;align-items:center;height:11px"><div style="background:{c};height:9px;'
            f'width:{max(0.0, float(vals[i])) / top * width_px:.0f}px"></div>'
            f'<span style="font-size:70%;margin-left:4px">{float(vals[i]):.3f}</span></div>'
            for vals, c in zip(series.values(), colours)
        )
        rows.append(f'<tr><td style="text-align:right;font-size:80%;padding-right:6px">{html.escape(str(label))}</td>'
                    f"<td>{bars}</td></tr>")
    return f'<div style="font-size:80%">{legend}</div><table>{"".join(rows)}</table>'


