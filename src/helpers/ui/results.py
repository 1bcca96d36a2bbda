"""Figures of shipped results (data/results/): the fine-tuning sweep that notebooks 02 and 06 both show."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..core.readouts import get_readout
from ..core.sweep_report import NON_INFERIORITY_MARGIN, readouts_of
from .figures import new_figure

_OUTCOME_COLOURS = {"higher": "#2f8f4e", "lower": "#c0392b", "indistinguishable": "#5b8fc7"}


def draw_sweep(sweep: dict, live: dict | None = None, readouts: Sequence[str] | None = None):
    """Left: frozen probe (open circle) and fine-tuned head (dot, the seeds as ticks) per readout, with a live rerun
    as a star. Middle: fine-tuned minus the [CLS] head, paired 95% interval (the band is ± the margin this data
    resolves). Right: validation accuracy against steps (mean over seeds): the plateau check."""
    table = sweep["results"]["table"]
    keys = [k for k in readouts_of(sweep) if readouts is None or k in readouts]
    y = np.arange(len(keys))
    fig = new_figure(14, 0.45 * len(keys) + 2.0)
    ax, bx, cx = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.1, 1.0, 1.2]})
    labels = [table[k]["label"] for k in keys]
    for j, k in enumerate(keys):
        r = table[k]
        ax.plot([r["frozen"], r["fine_tuned"]], [j, j], color="#bbbbbb", zorder=1)
        ax.scatter([r["frozen"]], [j], facecolors="none", edgecolors="#555555", zorder=2,
                   label="frozen probe" if j == 0 else None)
        ax.scatter([r["fine_tuned"]], [j], color="#1f5f99", zorder=3, label="fine-tuned (seeds pooled)" if j == 0 else None)
        ax.scatter(r["per_seed"], [j] * len(r["per_seed"]), marker="|", color="#1f5f99", s=80, zorder=3)
        if live and k in live:
            ax.scatter([live[k]["accuracy"]], [j], marker="*", s=140, color="#e39b54", zorder=4,
                       label="live rerun" if k == next(iter(live)) else None)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"test accuracy ({sweep['provenance']['n_test']} sentences)")
    ax.set_title("Frozen probe -> fine-tuned head", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, frameon=False)
    for j, k in enumerate(keys):
        vs = table[k].get("vs_cls")
        if vs is None:
            bx.scatter([0], [j], color="#444444", marker="D", zorder=3)
            continue
        bx.errorbar([vs["diff"]], [j], xerr=[[vs["diff"] - vs["lo"]], [vs["hi"] - vs["diff"]]], fmt="o",
                    color=_OUTCOME_COLOURS[vs["outcome"]], capsize=3)
    bx.axvline(0, color="grey", ls=":")
    bx.axvspan(-NON_INFERIORITY_MARGIN, NON_INFERIORITY_MARGIN, color="#dddddd", alpha=0.5, zorder=0)
    bx.set_yticks(y)
    bx.set_yticklabels([])
    bx.set_ylim(ax.get_ylim())
    bx.set_xlabel("fine-tuned minus the [CLS] head (paired, 95% interval)")
    bx.set_title("Against the [CLS] head (green higher, red lower)", fontsize=10)
    cells = sweep["results"]["cells"]
    colours = [f"C{i}" for i in range(10)]
    order = readouts_of(sweep)  # one colour per readout, the same in every subset of rows
    for j, k in enumerate(keys):
        curves = [np.array(c["curve"], dtype=float) for c in cells if c["readout"] == k]
        steps = curves[0][:, 0]
        cx.plot(steps, np.mean([c[:, 1] for c in curves], axis=0), color=colours[order.index(k) % 10], lw=1.4,
                label=get_readout(k).label)
    cx.set_xlabel("training step")
    cx.set_ylabel(f"validation accuracy ({sweep['provenance']['n_val']} sentences)")
    cx.set_title("Validation curves (mean over seeds): the plateau", fontsize=10)
    cx.legend(fontsize=6, ncol=2, loc="lower right")
    cx.grid(alpha=0.3)
    return fig
