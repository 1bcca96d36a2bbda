"""Notebook 08's views: patching maps, curves, knockout bars, head maps, agreement bars, and the patching explorer.

Every ``draw_*`` builds its Figure with ``ui.figures.new_figure`` and returns it (the notebook shows it with
``helpers.show``). The explorer redraws HTML tables and bars (``ui.html``), no image encoding, so typing a sentence
answers fast. Shapes: L = layers, A = heads, n = tokens.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ...core import patching as P
from ...ui.explorer import Explorer
from ...ui.figures import new_figure
from ...ui.html import bars_html, grid_html
from .experiments import METHODS, Traced, mean_map

CHANGED_COLOUR, CLS_COLOUR = "tab:blue", "tab:red"


def _state_labels(n_states: int) -> list[str]:
    return ["embeddings (0)"] + [f"after layer {k}" for k in range(1, n_states)]


def draw_pair_map(sw: P.Sweep, title: str = ""):
    """One pair's sweep: share restored per (hidden state, token), the changed token(s) marked."""
    n_states, n = sw.restored.shape
    fig = new_figure(min(12.0, 2.5 + 0.38 * n), 3.3)
    ax = fig.add_subplot()
    im = ax.imshow(sw.restored, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto", origin="lower")
    ax.set_xticks(range(n), [f"{t}" for t in sw.pair.tokens], rotation=70, fontsize=7)
    for i in sw.pair.changed:
        ax.get_xticklabels()[i].set_color(CHANGED_COLOUR)
        ax.get_xticklabels()[i].set_fontweight("bold")
    ax.set_yticks(range(n_states), _state_labels(n_states), fontsize=7)
    ax.set_title(title or f"share of the difference restored, {sw.pair.label}", fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.85, label="share restored")
    return fig


def draw_mean_maps(traced: Mapping[str, Traced]):
    """Per model, the mean share restored per hidden state and kind of position (aligned on the change)."""
    fig = new_figure(3.3 * len(traced) + 0.6, 3.4)
    axes = fig.subplots(1, len(traced), squeeze=False)[0]
    im = None
    for ax, (name, t) in zip(axes, traced.items()):
        grid, labels = mean_map(t.tracing)
        im = ax.imshow(grid, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto", origin="lower")
        for (r, c), v in np.ndenumerate(grid):
            ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=6.5, color="white" if abs(v) > 0.6 else "black")
        ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right", fontsize=7)
        ax.set_yticks(range(grid.shape[0]), _state_labels(grid.shape[0]), fontsize=7)
        ax.set_title(f"{name}\n({len(t.tracing.sweeps)} pairs, {t.tracing.task})", fontsize=8)
    fig.colorbar(im, ax=list(axes), shrink=0.8, label="mean share restored (one position)")
    return fig


def draw_curves(traced: Mapping[str, Traced]):
    """Per model: restoring the changed position(s) vs restoring [CLS], per hidden state, with 95% intervals."""
    fig = new_figure(3.2 * len(traced) + 0.4, 3.0)
    axes = fig.subplots(1, len(traced), squeeze=False, sharey=True)[0]
    for ax, (name, t) in zip(axes, traced.items()):
        tr = t.tracing
        x = np.arange(tr.layers + 1)
        what = "sentence B" if tr.task == "next sentence" else "the changed word"
        for kind, colour, label in (("span", CHANGED_COLOUR, f"restore {what}"), ("cls", CLS_COLOUR, "restore [CLS]")):
            lo, hi = tr.interval(kind)
            ax.fill_between(x, lo, hi, color=colour, alpha=0.2)
            ax.plot(x, tr.mean(kind), marker="o", color=colour, label=label)
        m = P.move_layer(tr)
        if m is not None:
            ax.axvline(m, color="grey", ls=":", lw=1)
        ax.set_xticks(x)
        ax.set_xlabel("hidden state (0 = embeddings)", fontsize=8)
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=7, loc="center left")
        ax.set_ylim(-0.15, 1.15)
    axes[0].set_ylabel("share of the difference restored")
    return fig


def draw_knockout(traced: Mapping[str, Traced]):
    """Per model and layer: the share lost when [CLS] may not read every word, or only the changed one (95% bars)."""
    from ...core.stats import bootstrap_mean

    fig = new_figure(3.2 * len(traced) + 0.4, 3.0)
    axes = fig.subplots(1, len(traced), squeeze=False, sharey=True)[0]
    for ax, (name, t) in zip(axes, traced.items()):
        tr = t.tracing
        x = np.arange(1, tr.layers + 1)
        what = "sentence B" if tr.task == "next sentence" else "the changed word"
        for off, drops, colour, label in ((-0.27, tr.knock_words, "tab:purple", "every word"),
                                          (0.0, tr.knock_changed, CHANGED_COLOUR, what),
                                          (0.27, tr.knock_sep, "tab:green", "[SEP]")):
            stats = np.array([bootstrap_mean(drops[:, k]) for k in range(tr.layers)])
            ax.bar(x + off, stats[:, 0], width=0.27, color=colour, label=f"[CLS] may not read {label}",
                   yerr=[stats[:, 0] - stats[:, 1], stats[:, 2] - stats[:, 0]], capsize=2)
        ax.axhline(0, color="black", lw=0.6)
        ax.set_xticks(x)
        ax.set_xlabel("layer where the edges are blocked", fontsize=8)
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=6.5)
    axes[0].set_ylabel("share of the difference lost")
    return fig


def draw_heads(tr: P.Tracing, title: str = ""):
    """(L,A) mean share lost when one head's output at [CLS] is zeroed."""
    mean = tr.heads.mean(0)
    fig = new_figure(0.45 * mean.shape[1] + 2.2, 0.4 * mean.shape[0] + 1.4)
    ax = fig.add_subplot()
    top = max(abs(mean).max(), 1e-6)
    im = ax.imshow(mean, cmap="RdBu_r", vmin=-top, vmax=top, aspect="auto", origin="lower")
    ax.set_xticks(range(mean.shape[1]))
    ax.set_yticks(range(mean.shape[0]), [f"layer {k + 1}" for k in range(mean.shape[0])], fontsize=7)
    ax.set_xlabel("head")
    ax.set_title(title or f"{tr.name}: share lost when one head's output at [CLS] is zeroed", fontsize=8)
    fig.colorbar(im, ax=ax, shrink=0.85)
    return fig


def draw_agreement(ags: Sequence):
    """Mean rank correlation of raw attention, rollout and flow with the causal effect, per model (95% bars)."""
    fig = new_figure(6.5, 3.0)
    ax = fig.add_subplot()
    width = 0.8 / max(len(ags), 1)
    for j, ag in enumerate(ags):
        s = np.array([ag.summary[m] for m in METHODS])
        x = np.arange(len(METHODS)) + (j - (len(ags) - 1) / 2) * width
        ax.bar(x, s[:, 0], width=width, yerr=[s[:, 0] - s[:, 1], s[:, 2] - s[:, 0]], capsize=3, label=ag.model)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(range(len(METHODS)), METHODS)
    ax.set_ylabel("Spearman rho with the causal effect")
    ax.set_ylim(-1, 1)
    ax.legend(fontsize=7)
    return fig


# ----------------------------------------------------------------------------- the explorer


def _words(text: str) -> list[str]:
    import re

    return list(dict.fromkeys(re.findall(r"[A-Za-z']+", text)))


def build_patching_explorer(scorer: P.Scorer, lm, sentence: str = "the acting was great and the ending was sad") -> Explorer:
    """Type a sentence, pick the word to corrupt and its replacement (an opposite is suggested): the patching map
    and the knockout bars of that pair. Inputs that tokenize to different lengths get a message saying so.

    Returns:
        an Explorer with controls ``sentence``, ``word``, ``replacement`` and views ``map``, ``bars``;
        ``state`` holds the Sweep and the knockout drops drawn.
    """
    import ipywidgets as w

    first = next((x for x in _words(sentence) if P.suggest_replacement(x)), _words(sentence)[0])
    controls = {
        "sentence": w.Text(value=sentence, description="sentence", continuous_update=False, layout=w.Layout(width="95%")),
        "word": w.Dropdown(options=_words(sentence), value=first, description="corrupt"),
        "replacement": w.Text(value=P.suggest_replacement(first) or "", description="with", continuous_update=False),
    }
    views = {"map": w.HTML(), "bars": w.HTML()}
    explorer = None
    syncing = {"on": False}

    # registered before the Explorer's own observers, so they run first: a new sentence or word first updates the
    # controls that follow from it (renders suppressed meanwhile), then the Explorer renders once
    def on_sentence(change):
        words = _words(change["new"]) or [""]
        syncing["on"] = True
        try:
            controls["word"].options = words
            controls["word"].value = next((x for x in words if P.suggest_replacement(x)), words[0])
            controls["replacement"].value = P.suggest_replacement(controls["word"].value) or controls["replacement"].value
        finally:
            syncing["on"] = False

    def on_word(change):
        if syncing["on"] or not change["new"]:
            return
        rep = P.suggest_replacement(change["new"])
        if rep:
            syncing["on"] = True
            try:
                controls["replacement"].value = rep
            finally:
                syncing["on"] = False

    controls["sentence"].observe(on_sentence, names="value")
    controls["word"].observe(on_word, names="value")

    def update(values, views) -> dict:
        if syncing["on"]:
            return explorer.state if explorer is not None else {}
        word, rep = values["word"], values["replacement"].strip()
        if not word or not rep:
            raise P.PairError("Pick a word of the sentence and type its replacement.")
        pair = P.make_pair(lm, values["sentence"], P.swap_word(values["sentence"], word, rep))
        sw = P.patch_sweep(scorer, pair)
        knock = P.knockout(scorer, pair, "changed")
        knock_all = P.knockout(scorer, pair, "words")
        L = scorer.num_layers
        views["map"].value = (f"<b>{pair.label}</b>: score {sw.clean:+.2f} → {sw.corrupt:+.2f} ({scorer.what}). "
                              "Share of the difference restored by restoring one hidden state:"
                              + grid_html(sw.restored[::-1], _state_labels(L + 1)[::-1], list(pair.tokens)))
        views["bars"].value = ("Share lost when [CLS] may not read, in one layer:" +
                               bars_html([f"layer {k}" for k in range(1, L + 1)],
                                         {"every word": np.clip(knock_all, 0, None), pair.label: np.clip(knock, 0, None)},
                                         vmax=max(1.0, float(np.max(knock_all)))))
        return {"sweep": sw, "knockout": knock, "knockout_words": knock_all}

    explorer = Explorer(controls, views, update, rows=["sentence", ["word", "replacement"], "map", "bars"])
    return explorer
