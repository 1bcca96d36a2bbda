"""Why is the first token's output the sentence's summary? Helpers for notebook 02 (the position of [CLS]).

Three parts: :mod:`.experiments` (compute: identity and movement of [CLS], far-word and stripping
experiments, the position study), :mod:`.views` (``draw_*`` Figures and the three explorers) and
:mod:`.checks` (the Try-it checks). Similarity measures (``alikeness``, ``cosine_matrix``) and the
comparison of two probe results (``noise_margin``, ``compare_estimates``) are the core's, in
:mod:`helpers.core.stats`.
"""

from __future__ import annotations

from .checks import SAME_INPUT_TOL, check_best_readout, check_input_cls
from .experiments import (
    LAYOUTS,
    READOUTS,
    SENTENCE_SPECIFIC_BELOW,
    PositionResult,
    PositionStudy,
    alikeness_by_layer,
    cls_identity,
    cls_movement,
    cls_vs_mean,
    conclusion,
    far_word_effect,
    first_specific_layer,
    layer_view,
    layout_row,
    position_experiment,
    position_readouts,
    results_table,
    strip_words,
    word_influence,
)
from .views import (
    build_layer_explorer,
    build_position_explorer,
    build_sentence_explorer,
    draw_far_word,
    draw_layer_view,
    draw_movement,
    draw_position_results,
    draw_word_influence,
    layer_html,
    position_html,
)

__all__ = [
    "LAYOUTS",
    "READOUTS",
    "SAME_INPUT_TOL",
    "SENTENCE_SPECIFIC_BELOW",
    "PositionResult",
    "PositionStudy",
    "alikeness_by_layer",
    "build_layer_explorer",
    "build_position_explorer",
    "build_sentence_explorer",
    "check_best_readout",
    "check_input_cls",
    "cls_identity",
    "cls_movement",
    "cls_vs_mean",
    "conclusion",
    "draw_far_word",
    "draw_layer_view",
    "draw_movement",
    "draw_position_results",
    "draw_word_influence",
    "far_word_effect",
    "first_specific_layer",
    "layer_html",
    "layer_view",
    "layout_row",
    "position_experiment",
    "position_html",
    "position_readouts",
    "results_table",
    "strip_words",
    "word_influence",
]
