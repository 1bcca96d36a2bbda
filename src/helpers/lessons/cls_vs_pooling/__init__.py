"""Notebook 06, [CLS] vs pooling: frozen probes per layer, fine-tuned heads, cosine retrieval and 2-D maps.

* :mod:`.experiments`: probes per layer, retrieval, projections, the live rerun of the shipped fine-tuning
  sweep (:func:`live_check`), where [CLS]'s attention goes (compute only, returns data);
* :mod:`.views`: ``draw_*`` figures, the projection figure and the map and neighbour explorers;
* :mod:`.findings`: the "With this model we found: ..." sentences, from this run's numbers;
* :mod:`.checks`: the Try-it checks (any answer indistinguishable from the winner counts as right).

Fine-tuning itself is :mod:`helpers.core.finetune`; pooling names and labels are
:data:`helpers.core.cube.POOLINGS` / :data:`~helpers.core.cube.POOLING_LABELS`.
"""

from __future__ import annotations

from .checks import check_best_pooling, check_higher_mean_cosine, check_mean_head
from .experiments import (
    NOISE_SE,
    AttentionProfile,
    LiveCheck,
    MapData,
    ProjectionCache,
    anisotropy,
    as_layers,
    best_frozen,
    best_per_pooling,
    cls_attention_profile,
    live_check,
    map_agreement,
    nearest,
    probe_by_layer,
    project_2d,
    retrieval_scores,
    within_noise,
)
from .findings import map_findings, probe_findings, retrieval_findings
from .views import (
    ProjectionFigure,
    build_neighbour_explorer,
    build_projection_explorer,
    draw_cls_attention,
    draw_probe_by_layer,
    draw_projection,
)

__all__ = [
    "NOISE_SE",
    "AttentionProfile",
    "LiveCheck",
    "MapData",
    "ProjectionCache",
    "ProjectionFigure",
    "anisotropy",
    "as_layers",
    "best_frozen",
    "best_per_pooling",
    "build_neighbour_explorer",
    "build_projection_explorer",
    "check_best_pooling",
    "check_higher_mean_cosine",
    "check_mean_head",
    "cls_attention_profile",
    "live_check",
    "draw_cls_attention",
    "draw_probe_by_layer",
    "draw_projection",
    "map_agreement",
    "map_findings",
    "nearest",
    "probe_by_layer",
    "probe_findings",
    "project_2d",
    "retrieval_findings",
    "retrieval_scores",
    "within_noise",
]
