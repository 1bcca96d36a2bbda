"""Drawing for notebook 04: training curves (also live, while training), probe bars, what [CLS] reads (its own
attention row), how much others read [CLS] (its column), and the NSP explorer.

Every ``draw_*`` builds its Figure with ``ui.figures.new_figure`` and returns it; the notebook shows it with
``helpers.show``. :class:`LivePlot` redraws one output through an IPython display handle.
"""

from __future__ import annotations

import html
from typing import Mapping, Sequence

import numpy as np

from ...ui.explorer import Explorer
from ...ui.figures import figure_png, new_figure
from .analysis import nsp_verdict
from .recipe import task_name
from .training import TrainResult


def draw_history(result: TrainResult):
    """Figure: training loss, held-out MLM loss/accuracy and pair-task loss/accuracy against step."""
    fig = new_figure(10, 3.4)
    axes = fig.subplots(1, 2)
    ev = result.evals
    steps = [e["step"] for e in ev]
    task = task_name(result.objective)
    ax = axes[0]
    if result.history:
        h = result.history
        ax.plot([x["step"] for x in h], [x["mlm_loss"] for x in h], color="tab:blue", alpha=0.25, lw=0.8,
                label="MLM loss (train batch)")
        if task:
            ax.plot([x["step"] for x in h], [x.get("pair_loss", np.nan) for x in h], color="tab:orange", alpha=0.25,
                    lw=0.8, label=f"{task.upper()} loss (train batch)")
    ax.plot(steps, [e["mlm_loss"] for e in ev], "o-", color="tab:blue", ms=3, label="MLM loss (held-out)")
    if task:
        ax.plot(steps, [e[f"{task}_loss"] for e in ev], "o-", color="tab:orange", ms=3, label=f"{task.upper()} loss (held-out)")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend(fontsize=7)
    ax = axes[1]
    ax.plot(steps, [e["mlm_acc"] for e in ev], "o-", color="tab:blue", ms=3, label="MLM accuracy (held-out)")
    if task:
        ax.plot(steps, [e[f"{task}_acc"] for e in ev], "o-", color="tab:orange", ms=3,
                label=f"{task.upper()} accuracy (held-out)")
        ax.axhline(0.5, color="grey", ls=":", lw=1, label="chance for the pair task")
    ax.set_ylim(0, 1)
    ax.set_xlabel("step")
    ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Pretraining with MLM{' + ' + task.upper() if task else ' only'}")
    return fig


class LivePlot:
    """A ``pretrain`` callback that redraws :func:`draw_history` in one notebook output after each evaluation.

    The figure is shown as a PNG through an IPython display handle (created on the first call, updated after).
    """

    def __init__(self, dpi: int = 100) -> None:
        self.handle = None
        self.calls = 0
        self.dpi = dpi

    def __call__(self, result: TrainResult) -> None:
        from IPython.display import Image, display

        image = Image(figure_png(draw_history(result), dpi=self.dpi))
        if self.handle is None:
            self.handle = display(image, display_id=True)
        else:
            self.handle.update(image)
        self.calls += 1


def draw_probes(rows: Mapping[str, Sequence]):
    """Bars: probe accuracy (mean ± std over seeds) for "is next" and "same topic", one pair of bars per model.

    Args:
        rows: model label -> (is-next ProbeResult, same-topic ProbeResult), e.g. from ``probe_pairs``.
    """
    if not rows:
        raise ValueError("rows is empty: give model label -> (is-next result, same-topic result).")
    fig = new_figure(7, 3.2)
    ax = fig.subplots()
    x = np.arange(len(rows))
    for k, (label, color) in enumerate([("is next", "tab:orange"), ("same topic", "tab:green")]):
        means = [r[k].mean for r in rows.values()]
        errs = [r[k].std for r in rows.values()]
        ax.bar(x + (k - 0.5) * 0.38, means, 0.38, yerr=errs, color=color, label=label, capsize=3)
    ax.axhline(0.5, color="grey", ls=":", lw=1, label="chance")
    ax.set_xticks(x, list(rows))
    ax.set_ylim(0, 1)
    ax.set_ylabel("probe accuracy on [CLS]")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("What a linear probe reads from the last layer's [CLS]")
    return fig


def draw_others_read_cls(shares: Mapping[str, Sequence[float]], uniform: float):
    """Lines: per layer, how much the other tokens attend to [CLS], one line per model, and the uniform level.

    Args:
        shares: model label -> (L,) per-layer share (``core.attention.how_much_others_read_cls(...).mean(-1)``).
        uniform: the level uniform attention gives (``core.attention.uniform_share``).
    """
    if not shares:
        raise ValueError("shares is empty: give model label -> per-layer share of how much others read [CLS].")
    fig = new_figure(6, 3.2)
    ax = fig.subplots()
    n_layers = 0
    for name, s in shares.items():
        s = np.asarray(s, dtype=float)
        n_layers = max(n_layers, len(s))
        ax.plot(np.arange(1, len(s) + 1), s, "o-", label=name)
    ax.axhline(uniform, color="grey", ls=":", label="uniform attention")
    ax.set_xlabel("layer")
    ax.set_ylabel("how much others read [CLS]")
    ax.set_title("How much the other tokens read [CLS]", fontsize=10)
    ax.set_xticks(np.arange(1, n_layers + 1))
    ax.legend(fontsize=8)
    return fig


def draw_cls_row(rows: Mapping[str, Mapping]):
    """What [CLS] reads, per model: the normalised entropy of its row and its share on words per layer, and the
    mean cosine between different pairs' last-layer [CLS].

    Args:
        rows: model label -> {"entropy": (L,), "words": (L,), "alike": float} (``analysis.cls_attention_rows``).
    """
    if not rows:
        raise ValueError("rows is empty: give model label -> cls_row_stats(...) (see cls_attention_rows).")
    fig = new_figure(11, 3.2)
    ax_ent, ax_words, ax_alike = fig.subplots(1, 3)
    n_layers = 0
    for name, r in rows.items():
        ent, words = np.asarray(r["entropy"], dtype=float), np.asarray(r["words"], dtype=float)
        n_layers = max(n_layers, len(ent))
        ax_ent.plot(np.arange(1, len(ent) + 1), ent, "o-", label=name)
        ax_words.plot(np.arange(1, len(words) + 1), words, "o-", label=name)
    ax_ent.axhline(1.0, color="grey", ls=":", lw=1, label="uniform")
    ax_ent.set_ylim(0, 1.05)
    ax_ent.set_ylabel("entropy of [CLS]'s row / ln n")
    ax_ent.set_title("What [CLS] reads: how spread", fontsize=10)
    ax_words.set_ylim(0, 1.05)
    ax_words.set_ylabel("share of [CLS]'s row on words")
    ax_words.set_title("What [CLS] reads: words", fontsize=10)
    for ax in (ax_ent, ax_words):
        ax.set_xlabel("layer")
        ax.set_xticks(np.arange(1, n_layers + 1))
    ax_ent.legend(fontsize=7, loc="lower left")
    names = list(rows)
    ax_alike.bar(np.arange(len(names)), [float(rows[k]["alike"]) for k in names],
                 color=[f"C{i}" for i in range(len(names))])
    ax_alike.set_xticks(np.arange(len(names)), names, fontsize=8, rotation=15)
    ax_alike.set_ylim(0, 1.05)
    ax_alike.set_ylabel("mean cosine between pairs")
    ax_alike.set_title("How alike different pairs' last-layer [CLS] are", fontsize=10)
    return fig


def build_nsp_explorer(lm, a: str = "", b: str = "") -> Explorer:
    """Explorer: two text boxes (controls "a" and "b") and the model's P(IsNext) below them (view "result").

    The result updates on Enter/blur; an empty sentence shows its error in the explorer (``state["error"]``).

    Raises:
        ValueError: ``lm`` has no NSP head.
    """
    import ipywidgets as w

    if not getattr(lm, "has_nsp", False):
        raise ValueError(f"{lm.name!r} has no NSP head: use load_model('mini-bert') or bert-base-uncased.")
    controls = {
        "a": w.Text(value=a, description="A", continuous_update=False, layout=w.Layout(width="95%")),
        "b": w.Text(value=b, description="B", continuous_update=False, layout=w.Layout(width="95%")),
    }
    views = {"result": w.HTML()}

    def update(values: dict, views: dict) -> dict:
        views["result"].value = ""
        verdict = nsp_verdict(lm, values["a"], values["b"])
        views["result"].value = f"<pre>{html.escape(verdict['text'])}</pre>"
        return verdict

    return Explorer(controls, views, update)


#: One colour per pair layout, in every figure of the twins.
LAYOUT_COLOURS = {"start": "tab:blue", "last": "tab:orange", "middle": "tab:green", "none": "tab:purple"}


def draw_twin_curves(data: dict, live: Mapping[str, Sequence[dict]] | None = None):
    """Figure: held-out NSP accuracy against step for every layout and seed of the shipped twins (lines), and
    a live rerun's evaluations (crosses) on top."""
    from ...core.position_twins import PAIR_LAYOUTS, curves

    fig = new_figure(9, 4)
    ax = fig.subplots()
    level = data["results"].get("level", 0.9)
    for layout, runs in curves(data).items():
        for k, (seed, steps, acc) in enumerate(runs):
            ax.plot(steps, acc, color=LAYOUT_COLOURS.get(layout, "grey"), lw=1.4, ls="-" if k == 0 else "--",
                    label=f"{PAIR_LAYOUTS[layout][0]}, seed {seed}")
    for layout, evals in (live or {}).items():
        ax.plot([e["step"] for e in evals], [e["nsp_acc"] for e in evals], "x", ms=8, mew=2,
                color=LAYOUT_COLOURS.get(layout, "grey"), label=f"live rerun: {PAIR_LAYOUTS[layout][0]}")
    ax.axhline(level, color="black", ls=":", lw=1, label=f"{level:.2f}")
    ax.axhline(0.5, color="grey", ls=":", lw=1, label="chance")
    ax.set_xlabel("pretraining step")
    ax.set_ylabel("held-out NSP accuracy")
    ax.set_ylim(0.4, 1.0)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    ax.set_title("Where the pair head reads, pretrained there: NSP accuracy over training")
    return fig


def draw_nsp_curve(curve: Sequence[dict], targets: Mapping[str, float], live: Sequence[dict] | None = None):
    """Figure: minilm-nsp's held-out NSP accuracy (unseen documents, unseen genres) against step, with the targets;
    a live rerun's points as crosses."""
    fig = new_figure(8, 3.6)
    ax = fig.subplots()
    labels = {"heldout_docs": "unseen documents of trained genres", "heldout_genres": "unseen genres"}
    colours = {"heldout_docs": "tab:blue", "heldout_genres": "tab:red"}
    steps = [p["step"] for p in curve]
    for key, label in labels.items():
        ax.plot(steps, [p[key] for p in curve], "o-", ms=3, color=colours[key], label=f"shipped run: {label}")
        ax.axhline(targets[key], color=colours[key], ls=":", lw=1, label=f"target for {label}")
        if live:
            ax.plot([p["step"] for p in live], [p[key] for p in live], "x", ms=8, mew=2, color=colours[key],
                    label=f"live rerun: {label}")
    ax.axhline(0.5, color="grey", ls=":", lw=1)
    ax.set_ylim(0.4, 1.0)
    ax.set_xlabel("continued-pretraining step")
    ax.set_ylabel("held-out NSP accuracy")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("minilm-nsp: NSP accuracy while its top layers train")
    return fig


def draw_before_after(profiles: Mapping[str, object]):
    """Figure: per hidden state, how alike different sentences' [CLS] are; per layer, [CLS]'s attention to itself."""
    fig = new_figure(10, 3.6)
    axes = fig.subplots(1, 2)
    for k, (label, p) in enumerate(profiles.items()):
        colour = ("tab:grey", "tab:blue", "tab:orange", "tab:green")[k % 4]
        axes[0].plot(range(len(p.alike)), p.alike, "o-", color=colour, label=label)
        axes[1].plot(range(1, len(p.reads["cls"]) + 1), p.reads["cls"], "o-", color=colour, label=f"{label}: to itself")
        axes[1].plot(range(1, len(p.reads["word"]) + 1), p.reads["word"], "s--", color=colour, ms=4,
                     label=f"{label}: to words")
    axes[0].set_xlabel("hidden state (0 = embeddings)")
    axes[0].set_ylabel("mean cosine of different sentences' [CLS]")
    axes[0].legend(fontsize=8)
    axes[1].set_xlabel("layer")
    axes[1].set_ylabel("share of [CLS]'s attention row")
    axes[1].set_ylim(0, 1)
    axes[1].legend(fontsize=7)
    fig.suptitle("[CLS] before and after continued NSP pretraining (review sentences)")
    return fig
