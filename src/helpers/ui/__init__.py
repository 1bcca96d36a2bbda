"""The course's user interface layer: one figure convention and one explorer contract (built on the core)."""

from .explorer import Explorer
from .figures import Blitter, figure_png, new_figure, save_figure, show

__all__ = ["Blitter", "Explorer", "figure_png", "new_figure", "save_figure", "show"]
