"""Notebook 06, [CLS] vs pooling: frozen probes per layer, fine-tuned heads, cosine retrieval and 2-D maps.

* :mod:`.experiments`: probes per layer, retrieval, projections, the fine-tuned heads against the frozen
  probe, where [CLS]'s attention goes (compute only, returns data);
* :mod:`.views`: ``draw_*`` figures, the projection figure and the map and neighbour explorers;
* :mod:`.checks`: the Try-it checks.

Fine-tuning itself is :mod:`helpers.core.finetune`; pooling names and labels are
:data:`helpers.core.cube.POOLINGS` / :data:`~helpers.core.cube.POOLING_LABELS`.
"""

from __future__ import annotations

from .checks import check_best_pooling, check_higher_mean_cosine
from .experiments import (
    AttentionProfile,
    HeadComparison,
    MapData,
    ProjectionCache,
    as_layers,
    best_per_pooling,
    cls_attention_profile,
    compare_with_frozen,
    nearest,
    probe_by_layer,
    project_2d,
    retrieval_scores,
)
from .views import (
    ProjectionFigure,
    build_neighbour_explorer,
    build_projection_explorer,
    draw_cls_attention,
    draw_probe_by_layer,
    draw_projection,
)

__all__ = [
    "AttentionProfile",
    "HeadComparison",
    "MapData",
    "ProjectionCache",
    "ProjectionFigure",
    "as_layers",
    "best_per_pooling",
    "build_neighbour_explorer",
    "build_projection_explorer",
    "check_best_pooling",
    "check_higher_mean_cosine",
    "cls_attention_profile",
    "compare_with_frozen",
    "draw_cls_attention",
    "draw_probe_by_layer",
    "draw_projection",
    "nearest",
    "probe_by_layer",
    "project_2d",
    "retrieval_scores",
]
