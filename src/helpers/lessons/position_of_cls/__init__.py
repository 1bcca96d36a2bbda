"""Why is the first token's output the sentence's summary? Helpers for notebook 02 (the position of [CLS]).

Parts: :mod:`.experiments` (compute: identity and movement of [CLS], far-word and stripping experiments,
the position study), :mod:`.parking` (compute: [CLS]'s largest coordinate per layer next to a probe, why
cosine says "identical" while a probe reads the sentence), :mod:`.why_first` (compute: padding, what a word's
own slot keeps, [CLS]'s share of a mean-pooled vector), :mod:`.findings` (the "With this model we found"
sentences, pure functions of the numbers), :mod:`.views` (``draw_*`` Figures and the three explorers) and
:mod:`.checks` (the Try-it checks). Similarity measures (``alikeness``, ``cosine_matrix``), the comparison of
two probe results (``difference``, paired on the same reviews; ``noise_margin`` against chance), the largest coordinates
(:mod:`helpers.core.geometry`), the summary-token table (:mod:`helpers.core.summary_tokens`) and the input
layouts and readouts (``LAYOUTS``, ``layout_row``, :mod:`helpers.core.readouts`) are the core's.
"""

from __future__ import annotations

from .checks import SAME_INPUT_TOL, check_best_readout, check_input_cls, check_layer1_probe
from .experiments import (
    LAYOUTS,
    READOUTS,
    SENTENCE_SPECIFIC_BELOW,
    STUDIED,
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
from .findings import (
    HARDLY_MOVED,
    far_word_finding,
    influence_finding,
    mean_pooling_finding,
    movement_finding,
    padding_finding,
    word_slot_finding,
)
from .parking import (
    PARKING_SHARE,
    SAME_DIRECTION_ABOVE,
    ParkingStudy,
    clearly_above_chance,
    parking_finding,
    parking_study,
    parking_table,
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
from .why_first import cls_weight_in_mean, keeps_its_word, padding_table, padding_view

__all__ = [
    "HARDLY_MOVED",
    "LAYOUTS",
    "PARKING_SHARE",
    "READOUTS",
    "SAME_DIRECTION_ABOVE",
    "SAME_INPUT_TOL",
    "SENTENCE_SPECIFIC_BELOW",
    "STUDIED",
    "ParkingStudy",
    "PositionResult",
    "PositionStudy",
    "alikeness_by_layer",
    "build_layer_explorer",
    "build_position_explorer",
    "build_sentence_explorer",
    "check_best_readout",
    "check_input_cls",
    "check_layer1_probe",
    "clearly_above_chance",
    "cls_identity",
    "cls_movement",
    "cls_vs_mean",
    "cls_weight_in_mean",
    "conclusion",
    "draw_far_word",
    "draw_layer_view",
    "draw_movement",
    "draw_position_results",
    "draw_word_influence",
    "far_word_effect",
    "far_word_finding",
    "first_specific_layer",
    "influence_finding",
    "keeps_its_word",
    "layer_html",
    "layer_view",
    "layout_row",
    "mean_pooling_finding",
    "movement_finding",
    "padding_finding",
    "padding_table",
    "padding_view",
    "parking_finding",
    "parking_study",
    "parking_table",
    "position_experiment",
    "position_html",
    "position_readouts",
    "results_table",
    "strip_words",
    "word_influence",
    "word_slot_finding",
]
