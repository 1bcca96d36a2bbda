"""Notebook 03, "Where does [CLS] read from?": attribution, value norms, figures, explorers and checks.

The attention statistics the notebook computes (shares per token kind, entropy, rollout, flow) are the
core's: ``helpers.core.attention``, ``helpers.core.flow`` and ``helpers.core.token_kinds``. This lesson adds

* ``experiments``: a classifier on [CLS], blank-out attribution, explanation scores and their rank
  agreement, value norms (the "no-op" check), and Clark et al.'s published levels from ``helpers.references``;
* ``views``: ``draw_*`` functions returning Figures, the attention-map view and its Pillow renderer, and
  the two explorers (``ui.explorer.Explorer``);
* ``checks``: the two "Try it" checks.
"""

from .checks import EXERCISE_LAYERS, ROLLOUT_TOLERANCE, check_peak_layer, check_rollout_answer
from .experiments import (
    CLARK_KEYS,
    ClsClassifier,
    blank_out_attribution,
    clark_references,
    explanation_scores,
    fit_cls_classifier,
    norm_weighted_shares,
    rank_agreement,
    shares_of,
    value_norms,
)
from .views import (
    AttentionMapView,
    attention_view,
    build_attention_explorer,
    build_flow_explorer,
    draw_attention_map,
    draw_cls_rows,
    draw_entropy,
    draw_kind_bars,
    draw_scores,
    draw_shares,
    render_map_png,
)

__all__ = [
    "CLARK_KEYS",
    "EXERCISE_LAYERS",
    "ROLLOUT_TOLERANCE",
    "AttentionMapView",
    "ClsClassifier",
    "attention_view",
    "blank_out_attribution",
    "build_attention_explorer",
    "build_flow_explorer",
    "check_peak_layer",
    "check_rollout_answer",
    "clark_references",
    "draw_attention_map",
    "draw_cls_rows",
    "draw_entropy",
    "draw_kind_bars",
    "draw_scores",
    "draw_shares",
    "explanation_scores",
    "fit_cls_classifier",
    "norm_weighted_shares",
    "rank_agreement",
    "render_map_png",
    "shares_of",
    "value_norms",
]
