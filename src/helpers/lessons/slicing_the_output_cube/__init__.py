"""Notebook 05, slicing the output cube: from ``last_hidden`` (B,T,H) to a sentence classifier.

* :mod:`.slices`: parse a slice spec such as ``"[:, 0, :]"`` and take it (compute only);
* :mod:`.classifier`: the logistic regression on sentence vectors (grid over C, seeds, dummy baseline, errors);
* :mod:`.views`: ``draw_*`` figures and the cube explorer;
* :mod:`.checks`: the Try-it checks.
"""

from __future__ import annotations

from .checks import check_cls_slice, check_shape_answer
from .classifier import ClassifyResult, classify, misclassified
from .slices import (
    AXES,
    NAMES,
    PRESETS,
    SliceResult,
    SliceSpec,
    cube_array,
    describe,
    heatmap_data,
    parse_slice_spec,
    take_slice,
    token_at,
)
from .views import build_cube_explorer, cube_svg, draw_confusion, draw_slice_view, heatmap_png

__all__ = [
    "AXES",
    "NAMES",
    "PRESETS",
    "ClassifyResult",
    "SliceResult",
    "SliceSpec",
    "build_cube_explorer",
    "check_cls_slice",
    "check_shape_answer",
    "classify",
    "cube_array",
    "cube_svg",
    "describe",
    "draw_confusion",
    "draw_slice_view",
    "heatmap_data",
    "heatmap_png",
    "misclassified",
    "parse_slice_spec",
    "take_slice",
    "token_at",
]
