"""Notebook 07 · drawing: the inversion scores per layer (with error bars) and the word-order probe.

Every ``draw_*`` builds its Figure with :func:`helpers.ui.figures.new_figure` and returns it; show it with
``helpers.show(fig)``.
"""

from __future__ import annotations

from ...core.cube import POOLING_LABELS
from ...ui.figures import new_figure
from .experiments import SplitStudy
from .order import OrderTest


def draw_inversion_by_layer(results: dict, baseline: dict, title: str = "bag-of-words inversion (test)",
                            study: SplitStudy | None = None, level: float = 0.95):
    """F1 (solid) and recall (dotted) per layer for each pooling, with the frequent-words baseline.

    Args:
        results: :func:`~.experiments.inversion_by_layer` output (one split).
        baseline: :func:`~.experiments.frequent_words_baseline` output.
        study: optional :func:`~.experiments.inversion_over_splits` output: the F1 lines are then its means over
            the splits, with a shaded ``level`` confidence band, and the baseline band likewise.

    Returns:
        a matplotlib Figure (show it with ``helpers.show(fig)``).
    """
    fig = new_figure(7, 3.8, dpi=85)
    ax = fig.add_subplot()
    for p, per in results.items():
        label = POOLING_LABELS.get(p, p)
        layers = sorted(per)
        if study is not None and p in study.f1:
            est = [study.f1[p][x] for x in layers]
            line, = ax.plot(layers, [e.mean for e in est], "o-", label=f"{label} F1 (mean of {len(study.seeds)} splits)")
            bands = [e.ci(level) for e in est]
            ax.fill_between(layers, [b[0] for b in bands], [b[1] for b in bands], color=line.get_color(), alpha=0.2,
                            label=f"{label} F1 {level:.0%} CI")
            recall = [study.scores["recall"][p][x].mean for x in layers]
        else:
            line, = ax.plot(layers, [per[x]["f1"] for x in layers], "o-", label=f"{label} F1")
            recall = [per[x]["recall"] for x in layers]
        ax.plot(layers, recall, ":", color=line.get_color(), label=f"{label} recall")
    if study is not None:
        b = study.baseline["f1"]
        lo, hi = b.ci(level)
        ax.axhline(b.mean, color="grey", ls="--", label="frequent words F1")
        ax.axhspan(lo, hi, color="grey", alpha=0.15)
    else:
        ax.axhline(baseline["f1"], color="grey", ls="--", label=f"frequent words F1 (top {baseline['k']})")
    ax.set_xlabel("layer (hidden state; 0 = embeddings)")
    ax.set_ylabel("score")
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    return fig


def draw_word_order(result: OrderTest, title: str = "original or shuffled? (test)"):
    """The original-vs-shuffled probe's accuracy per layer for each pooling (± std over seeds), with chance.

    Returns:
        a matplotlib Figure (show it with ``helpers.show(fig)``).
    """
    fig = new_figure(7, 3.4, dpi=85)
    ax = fig.add_subplot()
    chance = 0.5
    for p in result.poolings:
        layers = result.layers
        est = [result.probe[p][x] for x in layers]
        chance = est[0].chance
        ax.errorbar(layers, [e.mean for e in est], yerr=[e.std for e in est], fmt="o-", capsize=3,
                    label=POOLING_LABELS.get(p, p))
    ax.axhline(chance, color="grey", ls="--", label=f"chance ({chance:.2f})")
    ax.set_xlabel("layer (hidden state; 0 = embeddings)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0.3, 1.02)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return fig
