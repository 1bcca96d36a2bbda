"""Notebook 05, slicing the output cube: from ``last_hidden`` (B,T,H) to a sentence classifier.

* :mod:`.slices`: parse a slice spec such as ``"[:, 0, :]"`` and take it (compute only);
* :mod:`.classifier`: the logistic regression on sentence vectors (a wide grid over C, seeds, dummy baseline, errors);
* :mod:`.demos`: ``pooler_output`` against the [CLS] vector, and the warning of a new classification head;
* :mod:`.findings`: the "With this model we found: ..." sentences, from this run's numbers;
* :mod:`.views`: ``draw_*`` figures and the cube explorer;
* :mod:`.checks`: the Try-it checks.
"""

from __future__ import annotations

from .checks import check_cls_slice, check_shape_answer
from .classifier import WIDE_CS, ClassifyResult, classify, edge_note, grid_edge, misclassified
from .demos import (
    NewHead,
    PoolerVsCls,
    head_probabilities,
    load_with_new_head,
    new_head_sentence,
    pooler_sentence,
    pooler_vs_cls,
)
from .findings import classify_findings, error_lean
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
    "WIDE_CS",
    "ClassifyResult",
    "NewHead",
    "PoolerVsCls",
    "SliceResult",
    "SliceSpec",
    "build_cube_explorer",
    "check_cls_slice",
    "check_shape_answer",
    "classify",
    "classify_findings",
    "cube_array",
    "cube_svg",
    "describe",
    "draw_confusion",
    "draw_slice_view",
    "edge_note",
    "error_lean",
    "grid_edge",
    "head_probabilities",
    "heatmap_data",
    "heatmap_png",
    "load_with_new_head",
    "misclassified",
    "new_head_sentence",
    "parse_slice_spec",
    "pooler_sentence",
    "pooler_vs_cls",
    "take_slice",
    "token_at",
]
