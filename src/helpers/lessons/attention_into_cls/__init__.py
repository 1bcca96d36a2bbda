"""Notebook 03, "Where does [CLS] read from?": the attention sink, attribution, value norms, figures, explorers, checks.

Vocabulary: "what [CLS] reads" is [CLS]'s row of an attention map (where its query sends its weight, what its
new vector is built from; "attention into [CLS]" in the notebook's name means this); "how much others read
[CLS]" is its column (the weight the other tokens' queries put on it).

The attention statistics the notebook computes (shares per token kind, entropy, rollout, flow) are the
core's: ``helpers.core.attention``, ``helpers.core.flow`` and ``helpers.core.token_kinds``. This lesson adds

* ``experiments``: a classifier on [CLS], blank-out attribution, explanation scores and their rank
  agreement, value norms (the "no-op" check), and Clark et al.'s published levels from ``helpers.references``;
* ``views``: ``draw_*`` functions returning Figures, the attention-map view and its Pillow renderer, and
  the two explorers (``ui.explorer.Explorer``);
* ``checks``: the two "Try it" checks;
* ``findings``: the "With this model we found: ..." sentences, built from a run's numbers (pure functions).
"""

from .checks import EXERCISE_LAYERS, PEAK_LEVEL, ROLLOUT_TOLERANCE, check_peak_layer, check_rollout_answer
from .experiments import (
    CLARK_KEYS,
    MASSIVE_SHARE,
    SINK_SELF_SHARE,
    ClsClassifier,
    blank_out_attribution,
    clark_references,
    diagonal_share,
    explanation_scores,
    fit_cls_classifier,
    map_summary,
    mean_traces,
    norm_weighted_shares,
    paired_differences,
    rank_agreement,
    shares_of,
    shares_per_sentence,
    sink_layers,
    sink_trace,
    value_norms,
)
from .findings import (
    HAND_ROW_TOLERANCE,
    NOOP_KEEP,
    SINK_NAMES,
    attribution_sentence,
    curves_sentence,
    hand_row_text,
    noop_sentence,
    sink_sentence,
    sink_sources,
    stripes_sentence,
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
    "HAND_ROW_TOLERANCE",
    "MASSIVE_SHARE",
    "NOOP_KEEP",
    "PEAK_LEVEL",
    "ROLLOUT_TOLERANCE",
    "SINK_NAMES",
    "SINK_SELF_SHARE",
    "AttentionMapView",
    "ClsClassifier",
    "attention_view",
    "attribution_sentence",
    "blank_out_attribution",
    "build_attention_explorer",
    "build_flow_explorer",
    "check_peak_layer",
    "check_rollout_answer",
    "clark_references",
    "curves_sentence",
    "diagonal_share",
    "draw_attention_map",
    "draw_cls_rows",
    "draw_entropy",
    "draw_kind_bars",
    "draw_scores",
    "draw_shares",
    "explanation_scores",
    "fit_cls_classifier",
    "hand_row_text",
    "map_summary",
    "mean_traces",
    "noop_sentence",
    "norm_weighted_shares",
    "paired_differences",
    "rank_agreement",
    "render_map_png",
    "shares_of",
    "shares_per_sentence",
    "sink_layers",
    "sink_sentence",
    "sink_sources",
    "sink_trace",
    "stripes_sentence",
    "value_norms",
]
