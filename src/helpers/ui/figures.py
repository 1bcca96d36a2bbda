"""The course's one figure convention.

Every ``draw_*`` function builds its Figure with :func:`new_figure` (a ``matplotlib.figure.Figure``,
never pyplot, so nothing is shown twice and no global state is left behind) and returns it. The
notebook shows it with :func:`show`, an explorer turns it into PNG bytes with :func:`figure_png`,
and a save button writes it with :func:`save_figure`. :class:`Blitter` redraws a few changing
artists of one figure quickly, for sliders.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Sequence

import numpy as np


def new_figure(width: float, height: float, *, dpi: int = 100, layout: str | None = "constrained"):
    """A new Figure of ``width`` x ``height`` inches, not registered with pyplot."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=dpi, layout=layout)


def figure_png(fig, dpi: int = 80) -> bytes:
    """PNG bytes of a Figure (what the explorers show in an ipywidgets Image)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def show(fig, dpi: int = 100) -> None:
    """Display a Figure in the notebook as a PNG (the same in JupyterLab, VS Code and exported HTML)."""
    from IPython.display import Image, display

    display(Image(figure_png(fig, dpi=dpi)))


def save_figure(fig, name: str, folder: str | Path | None = None, formats: Sequence[str] = ("png", "svg")) -> list[str]:
    """Save ``fig`` as ``name.png``/``name.svg`` in ``folder`` (default .cache/figures); returns the paths."""
    from ..core import config

    folder = Path(folder) if folder is not None else config.CACHE_DIR / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = folder / f"{name}.{fmt}"
        fig.savefig(path, format=fmt, dpi=150)
        paths.append(str(path))
    return paths


class Blitter:
    """Fast redraws of a Figure whose only changing parts are a few artists (slider callbacks).

    The static parts (axes, tick labels, colour bar) are drawn once; each ``png()`` restores them,
    draws the ``animated`` artists on top and encodes the pixels (Agg + Pillow), about 10-30 ms.
    """

    def __init__(self, fig, animated: Sequence, dpi: int = 80):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.fig = fig
        self.fig.set_dpi(dpi)
        self.canvas = FigureCanvasAgg(fig)
        self.animated = list(animated)
        for artist in self.animated:
            artist.set_animated(True)
        self.canvas.draw()
        self.fig.set_layout_engine("none")  # freeze the layout found by the first draw
        self.background = self.canvas.copy_from_bbox(fig.bbox)

    def png(self) -> bytes:
        """PNG bytes of the figure with the animated artists in their current state."""
        from PIL import Image

        self.canvas.restore_region(self.background)
        for artist in self.animated:
            self.fig.draw_artist(artist)
        buf = io.BytesIO()
        Image.fromarray(np.asarray(self.canvas.buffer_rgba())[..., :3]).save(buf, format="png", compress_level=1)
        return buf.getvalue()


@functools.lru_cache(maxsize=8)
def pillow_font(size: int):
    """Matplotlib's own DejaVu Sans as a Pillow font (so Pillow previews match the saved figures)."""
    from matplotlib import font_manager
    from PIL import ImageFont

    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))
    return ImageFont.truetype(path, size)
