"""Notebook 02's drawings (``draw_*`` return Figures built with ui.figures.new_figure) and explorers.

Each ``build_*_explorer`` returns a :class:`helpers.ui.explorer.Explorer` over data computed by
:mod:`.experiments`; its views are HTML (tables and bars), which redraw in well under a millisecond.
"""

from __future__ import annotations

import html
from typing import Any, Sequence

import numpy as np

from ...core.cube import Cube
from ...core.models import LoadedModel
from ...ui.explorer import Explorer
from ...ui.figures import new_figure
from ...ui.html import bars_html, matrix_html
from .experiments import LAYOUTS, PositionStudy, _check_cube, layer_view, word_influence

# ----------------------------------------------------------------------------- drawing


def draw_movement(movement: dict[str, np.ndarray], alike: dict[str, np.ndarray] | None = None):
    """Left: how far [CLS] and the words move per layer (cosine distance). Right: mean cosine between sentences."""
    panels = 2 if alike else 1
    fig = new_figure(5.5 * panels, 3.6)
    axes = fig.subplots(1, panels, squeeze=False)
    ax = axes[0, 0]
    steps = np.arange(1, len(movement["cls_step"]) + 1)
    ax.plot(steps, movement["cls_step"], "o-", label="[CLS]: change made by this layer")
    ax.plot(steps, movement["word_step"], "s--", label="word tokens: change made by this layer")
    ax.plot(np.arange(len(movement["cls_from_input"])), movement["cls_from_input"], "^:",
            label="[CLS]: cosine distance from its input")
    ax.set_xlabel("layer (0 = embeddings)")
    ax.set_ylabel("cosine distance = 1 - cosine")
    ax.set_title("How far the vectors move")
    ax.legend(fontsize=8)
    if alike:
        ax = axes[0, 1]
        for how, values in alike.items():
            ax.plot(np.arange(len(values)), values, "o-", label=how)
        ax.set_xlabel("layer (0 = embeddings)")
        ax.set_ylabel("mean cosine between different sentences")
        ax.set_title("How alike different sentences' vectors are")
        ax.legend(fontsize=8)
    return fig


def draw_layer_view(view: dict[str, Any], labels: Sequence[str] | None = None):
    """Heatmap of the [CLS] cosine matrix between sentences at one layer (``view`` from layer_view)."""
    m = view["matrix"]
    fig = new_figure(5.2, 4.2)
    ax = fig.subplots()
    im = ax.imshow(m, vmin=min(0.0, float(m.min())), vmax=1.0, cmap="viridis")
    ticks = labels if labels is not None else [str(i) for i in range(len(m))]
    ax.set_xticks(range(len(m)))
    ax.set_yticks(range(len(m)))
    ax.set_xticklabels([str(i) for i in range(len(m))], fontsize=7)
    ax.set_yticklabels([t[:28] for t in ticks], fontsize=7)
    ax.set_title(f"[CLS] cosine between sentences, layer {view['layer']}", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046)
    return fig


def draw_word_influence(influence: dict[str, Any]):
    """Bars: how far [CLS] moves when each word piece is deleted (``influence`` from word_influence)."""
    tokens, dist = influence["tokens"], influence["distance"]
    fig = new_figure(6, 0.25 * len(tokens) + 1.2)
    ax = fig.subplots()
    ax.barh(range(len(tokens)), dist, color="#5b8fc7")
    ax.set_yticks(range(len(tokens)))
    ax.set_yticklabels(tokens, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"cosine distance = 1 - cosine: [CLS] (layer {influence['layer']}) with and without the piece")
    return fig


def draw_far_word(effect: dict[str, Any], strip: dict[str, Any] | None = None):
    """Left: cosine distance of the two [CLS] per layer after changing one far word. Right: mean cosine as words go."""
    panels = 2 if strip else 1
    fig = new_figure(5.5 * panels, 3.4)
    axes = fig.subplots(1, panels, squeeze=False)
    ax = axes[0, 0]
    d = effect["cls_distance"]
    ax.plot(range(len(d)), d, "o-")
    ax.set_xlabel("layer (0 = embeddings)")
    ax.set_ylabel("cosine distance = 1 - cosine, the two [CLS]")
    ax.set_title(f"One word changed at position {effect['positions'][0]}")
    if strip:
        ax = axes[0, 1]
        labels = ["all" if k is None else str(k) for k in strip["keeps"]]
        ax.plot(range(len(labels)), strip["alike"], "o-")
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels)
        ax.set_xlabel("word pieces kept")
        ax.set_ylabel("mean cosine between sentences' [CLS]")
        ax.set_title("Strip the words: [CLS] collapses")
    return fig


def draw_position_results(study: PositionStudy):
    """Left: each readout's probe accuracy minus [CLS]'s, paired on the same reviews, with its 95% interval.
    Right: mean cosine between different sentences' vectors."""
    res = study.results
    y = np.arange(len(res))
    fig = new_figure(11, 0.4 * len(res) + 1.6)
    axes = fig.subplots(1, 2, sharey=True)
    ax = axes[0]
    diffs = [study.compare(r.key) if r.key != "cls" else None for r in res]
    mid = [d.diff if d else 0.0 for d in diffs]
    err = np.array([[d.diff - d.lo, d.hi - d.diff] if d else [0.0, 0.0] for d in diffs]).T
    colours = ["#444444" if d is None else {"higher": "#2f8f4e", "lower": "#c0392b"}.get(d.outcome, "#5b8fc7")
               for d in diffs]
    ax.errorbar(mid, y, xerr=err, fmt="none", ecolor="#777777", capsize=3)
    ax.scatter(mid, y, c=colours, zorder=3)
    ax.axvline(0, color="grey", ls=":")
    for j, r in enumerate(res):
        ax.annotate(f"{r.probe.mean:.3f}", (mid[j], y[j]), xytext=(0, 6), textcoords="offset points", ha="center",
                    fontsize=7)
    ax.set_yticks(y)
    ax.set_yticklabels([r.label for r in res], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("probe accuracy minus [CLS]'s (paired, 95% interval)")
    ax.set_title(f"Cross-fitted probes on {study.n_train + study.n_test} reviews (label: accuracy)", fontsize=9)
    ax = axes[1]
    ax.barh(y, [float(r.alike[-1]) for r in res], color="#e39b54")
    ax.set_xlim(min(0.0, min(float(r.alike[-1]) for r in res)), 1.0)
    ax.set_xlabel("mean cosine between different sentences (last layer)")
    ax.set_title("How alike the vectors are (1 = the same direction)", fontsize=9)
    return fig


# ----------------------------------------------------------------------------- explorers (HTML views: fast to redraw)


def layer_html(view: dict[str, Any]) -> str:
    """The numbers under the layer slider."""
    return (
        f"<p>layer {view['layer']} of {view['num_layers']}: mean cosine between different sentences' [CLS] = "
        f"<b>{view['alike']:.3f}</b>; [CLS] has moved {view['moved']:.3f} (cosine distance = 1 - cosine) from its "
        "input embedding.</p>"
    )


def build_layer_explorer(cube: Cube, labels: Sequence[str] | None = None, layer: int = 0) -> Explorer:
    """A layer slider over the [CLS] similarity between sentences.

    Returns:
        Explorer with control ``layer`` (IntSlider) and views ``numbers`` (HTML) and ``matrix``
        (HTML cosine table); ``state`` holds ``layer``, ``alike``, ``moved`` and ``matrix`` (N,N).
    """
    import ipywidgets as W

    cube = _check_cube(cube)
    labels = list(labels) if labels is not None else list(cube.texts)
    if len(labels) != len(cube):
        raise ValueError(f"labels must give one label per sentence of the cube ({len(cube)}), got {len(labels)}.")
    cache = {i: layer_view(cube, i) for i in range(cube.num_layers + 1)}  # small: one (N,N) matrix per layer
    controls = {"layer": W.IntSlider(value=layer, min=0, max=cube.num_layers, description="layer",
                                     continuous_update=False)}
    views = {"numbers": W.HTML(), "matrix": W.HTML()}

    def update(values: dict, views: dict) -> dict:
        i = values["layer"]
        view = cache[i] if i in cache else layer_view(cube, i)  # layer_view says what is out of range
        views["numbers"].value = layer_html(view)
        views["matrix"].value = matrix_html(view["matrix"], labels, vmin=min(0.0, float(view["matrix"].min())))
        return {"alike": view["alike"], "moved": view["moved"], "matrix": view["matrix"]}

    return Explorer(controls, views, update)


def build_sentence_explorer(lm: LoadedModel, sentences: Sequence[str], layer: int = -1,
                            influences: Sequence[dict] | None = None) -> Explorer:
    """A sentence chooser: which word pieces move the [CLS] output most when deleted.

    Everything is computed when the explorer is built (or passed in as ``influences``, one
    :func:`~.experiments.word_influence` result per sentence); choosing a sentence only redraws.

    Returns:
        Explorer with control ``sentence`` (Dropdown) and views ``summary`` and ``bars`` (HTML);
        ``state`` holds ``tokens``, ``distance`` and ``top`` (the piece whose deletion moves [CLS] most).
    """
    import ipywidgets as W

    if isinstance(sentences, str) or len(sentences) == 0:
        raise ValueError("sentences must be a non-empty list of strings.")
    if influences is None:
        influence = {s: word_influence(lm, s, layer) for s in sentences}
    else:
        if len(influences) != len(sentences) or any(inf.get("sentence") != s for inf, s in zip(influences, sentences)):
            raise ValueError("influences must hold one word_influence() result per sentence, in the same order.")
        influence = dict(zip(sentences, influences))
    controls = {"sentence": W.Dropdown(options=list(sentences), value=sentences[0], description="sentence",
                                       layout=W.Layout(width="95%"))}
    views = {"summary": W.HTML(), "bars": W.HTML()}

    def update(values: dict, views: dict) -> dict:
        inf = influence[values["sentence"]]
        top = int(np.argmax(inf["distance"]))
        views["summary"].value = (
            f"<p>[CLS] at layer {inf['layer']}: deleting <code>{html.escape(inf['tokens'][top])}</code> "
            f"moves it the most (cosine distance = 1 - cosine: {inf['distance'][top]:.3f}); the least: "
            f"{float(inf['distance'].min()):.3f}.</p>")
        views["bars"].value = bars_html(inf["tokens"],
                                        {"cosine distance of [CLS] when this piece is deleted": inf["distance"]})
        return {"tokens": inf["tokens"], "distance": inf["distance"], "top": inf["tokens"][top]}

    return Explorer(controls, views, update)


def position_html(study: PositionStudy, key: str, layer: int) -> str:
    """The numbers the position chooser shows for one readout and layer."""
    r, base = study[key], study["cls"]
    against = ("this is the usual [CLS]" if key == "cls" else html.escape(study.compare(key).verdict()))
    return (
        f"<p><b>{html.escape(r.label)}</b> (input layout: <code>{html.escape(LAYOUTS[r.layout])}</code>)<br>"
        f"probe accuracy (last layer, cross-fitted): <b>{r.probe.mean:.3f}</b> (usual [CLS]: {base.probe.mean:.3f}; "
        f"{against}, paired 95% interval)<br>"
        f"mean cosine between sentences at layer {layer}: <b>{r.alike[layer]:.3f}</b> "
        f"(usual [CLS]: {base.alike[layer]:.3f})</p>"
    )


def build_position_explorer(study: PositionStudy, key: str = "cls_end", layer: int | None = None) -> Explorer:
    """A position chooser (which vector stands for the sentence) and a layer slider, over a PositionStudy.

    Returns:
        Explorer with controls ``readout`` (Dropdown of READOUTS keys) and ``layer`` (IntSlider), views
        ``numbers`` and ``bars`` (HTML); ``state`` holds ``label``, ``alike`` (at that layer), ``verdict``.
    """
    import ipywidgets as W

    if not isinstance(study, PositionStudy):
        raise ValueError("Pass the PositionStudy returned by position_experiment().")
    if key not in study.keys():
        raise ValueError(f"key must be one of this study's readouts {study.keys()}, got {key!r}.")
    last = len(study.results[0].alike) - 1
    controls = {
        "readout": W.Dropdown(options=[(r.label, r.key) for r in study.results], value=key, description="vector"),
        "layer": W.IntSlider(value=last if layer is None else layer, min=0, max=last, description="layer",
                             continuous_update=False),
    }
    views = {"numbers": W.HTML(), "bars": W.HTML()}

    def update(values: dict, views: dict) -> dict:
        key, i = values["readout"], values["layer"]
        r, base = study[key], study["cls"]
        if not 0 <= i <= last:
            raise ValueError(f"layer must be from 0 (embeddings) to {last}, got {i}.")
        views["numbers"].value = position_html(study, key, i)
        labels = [f"{'▶ ' if j == i else ''}layer {j}" for j in range(last + 1)]
        series = {f"mean cosine: {r.label}": r.alike, f"mean cosine: {base.label}": base.alike}
        views["bars"].value = ("<p>Mean cosine between different sentences' vectors, per layer (1 = the same "
                               "direction for every sentence):</p>" + bars_html(labels, series, vmax=1.0))
        verdict = "the reference" if key == "cls" else study.compare(key).outcome
        return {"label": r.label, "alike": float(r.alike[i]), "verdict": verdict}

    return Explorer(controls, views, update)
