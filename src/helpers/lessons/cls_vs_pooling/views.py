"""[CLS] vs other poolings, the drawing side: probe curves, 2-D maps, [CLS]'s attention before and after
fine-tuning, and the map and neighbour explorers.

Every ``draw_*`` returns a Figure built with :func:`helpers.ui.figures.new_figure`; the explorers are
:class:`helpers.ui.explorer.Explorer` instances over the pure functions of :mod:`.experiments`.
"""

from __future__ import annotations

import html
import io
from typing import Sequence

import numpy as np

from ...core.cube import POOLING_LABELS
from ...core.stats import cosine_matrix
from ...core.token_kinds import KIND_LABELS
from ...ui.explorer import Explorer
from ...ui.figures import new_figure
from .experiments import AttentionProfile, ProjectionCache, as_layers


def _label(pooling: str) -> str:
    return POOLING_LABELS.get(pooling, pooling)


def draw_probe_by_layer(results: dict, title: str = "linear probe accuracy per layer"):
    """One line per pooling with error bars (std over seeds); the pooler is one point at the last layer."""
    fig = new_figure(7.5, 4, dpi=85)
    ax = fig.subplots()
    chance = None
    for p, per in results.items():
        layers = sorted(per)
        means = [per[x].mean for x in layers]
        stds = [per[x].std for x in layers]
        style = {"cls": dict(lw=2.5, marker="o"), "mean": dict(lw=2.5, marker="s")}.get(p, dict(lw=1.2, marker="."))
        if len(layers) == 1:
            ax.errorbar(layers, means, yerr=stds, fmt="*", ms=12, capsize=3, label=_label(p))
        else:
            ax.errorbar(layers, means, yerr=stds, capsize=2, label=_label(p), **style)
        chance = per[layers[0]].chance
    if chance is not None:
        ax.axhline(chance, color="grey", ls=":", label="majority class")
    ax.set_xlabel("layer (0 = embeddings)")
    ax.set_ylabel("test accuracy")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    return fig


def _colormap(n_labels: int):
    import matplotlib

    return matplotlib.colormaps["tab20" if n_labels > 10 else "tab10"]


def draw_projection(coords: dict[str, np.ndarray], labels, label_names: Sequence[str], title: str = ""):
    """Side-by-side scatter plots (one per pooling, pooling -> (N,2) coordinates) coloured by label."""
    if not coords:
        raise ValueError("coords is empty: give pooling -> (N,2) coordinates, e.g. from ProjectionCache.get().")
    y = np.asarray(labels)
    fig = new_figure(4.3 * len(coords), 3.8, dpi=75)
    axes = fig.subplots(1, len(coords), squeeze=False)[0]
    cmap = _colormap(len(label_names))
    for ax, (name, xy) in zip(axes, coords.items()):
        for c, lab in enumerate(label_names):
            m = y == c
            ax.scatter(xy[m, 0], xy[m, 1], s=7, color=cmap(c % cmap.N), label=lab)
        ax.set_title(_label(name), fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[-1].legend(fontsize=6, markerscale=1.5, loc="center left", bbox_to_anchor=(1.0, 0.5))
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


class ProjectionFigure:
    """One reusable figure for the map explorer: redraws by moving points, not by building a new figure.

    ``render()`` returns PNG bytes, so a widgets.Image shows it without the notebook's figure machinery.
    """

    def __init__(self, poolings: Sequence[str], dpi: int = 70):
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.fig = new_figure(3.6 * len(poolings) + 1.4, 3.3, dpi=dpi, layout=None)
        FigureCanvasAgg(self.fig)
        self.axes = self.fig.subplots(1, len(poolings), squeeze=False)[0]
        self.poolings = list(poolings)
        self.points = []
        for ax, p in zip(self.axes, self.poolings):
            self.points.append(ax.scatter([], [], s=6, linewidths=0))
            ax.set_title(_label(p), fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
        self.fig.subplots_adjust(left=0.02, right=0.8, bottom=0.03, top=0.85, wspace=0.08)
        self._legend_for = None
        self._cmap = matplotlib.colormaps["tab20"]

    def render(self, coords: dict, labels, label_names: Sequence[str], title: str = "") -> bytes:
        """Move the points to ``coords`` (pooling -> (N,2)), colour them by ``labels``; return PNG bytes."""
        from matplotlib.lines import Line2D

        y = np.asarray(labels)
        colours = self._cmap(y % self._cmap.N)
        for ax, pts, p in zip(self.axes, self.points, self.poolings):
            xy = np.asarray(coords[p])
            pts.set_offsets(xy)
            pts.set_facecolors(colours)
            lo, hi = xy.min(0), xy.max(0)
            pad = 0.05 * (hi - lo + 1e-9)
            ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
            ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        key = tuple(label_names)
        if key != self._legend_for:
            if self.fig.legends:
                self.fig.legends[0].remove()
            handles = [Line2D([], [], marker="o", ls="", color=self._cmap(c % self._cmap.N), label=n)
                       for c, n in enumerate(label_names)]
            self.fig.legend(handles=handles, loc="center right", fontsize=7, frameon=False)
            self._legend_for = key
        self.fig.suptitle(title, fontsize=10)
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", pil_kwargs={"compress_level": 1})
        return buf.getvalue()


def draw_cls_attention(before: AttentionProfile, after: AttentionProfile, label_after: str = "fine-tuned"):
    """Figure: what [CLS] reads (its row: the share on words and on [SEP]) per layer, how much others read [CLS]
    (its column) per layer, and what [CLS] reads in one sentence at the last layer."""
    layers = np.arange(1, len(before.others_read_cls) + 1)
    fig = new_figure(12, 3.2, dpi=80)
    axes = fig.subplots(1, 3)
    for res, style, name in ((before, "o-", "frozen"), (after, "s--", label_after)):
        axes[0].plot(layers, res.reads["word"], style, label=f"{name}: on {KIND_LABELS['word']}")
        axes[0].plot(layers, res.reads["sep"], style, alpha=0.5, label=f"{name}: on {KIND_LABELS['sep']}")
        axes[1].plot(layers, res.others_read_cls, style, label=name)
    axes[0].set(title="what [CLS] reads (its row)", xlabel="layer", ylabel="share of [CLS]'s attention", ylim=(0, 1))
    axes[1].set(title="how much others read [CLS] (its column)", xlabel="layer",
                ylabel="weight on [CLS], mean over tokens")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    toks = before.tokens
    x = np.arange(len(toks))
    axes[2].bar(x - 0.2, before.cls_row[-1], 0.4, label="frozen")
    axes[2].bar(x + 0.2, after.cls_row[-1], 0.4, label=label_after)
    axes[2].set_xticks(x, toks, rotation=70, fontsize=7)
    axes[2].set_title("last layer: what [CLS] reads in one sentence (its row)", fontsize=9)
    axes[2].legend(fontsize=7)
    return fig


# ----------------------------------------------------------------------------- explorers


def build_projection_explorer(cache: ProjectionCache, num_layers: int, layer: int | None = None,
                              poolings: Sequence[str] = ("cls", "mean")) -> Explorer:
    """Layer slider + colour-by chooser over a ProjectionCache; redraws the poolings' maps side by side.

    Returns:
        an Explorer with controls ``layer``, ``colour`` and the view ``image``; ``state["coords"]`` holds
        pooling -> (N,2) coordinates drawn last.
    """
    import ipywidgets as w

    layer = num_layers if layer is None else layer
    if not 0 <= layer <= num_layers:
        raise ValueError(f"layer must be 0..{num_layers} (0 = embeddings), got {layer}.")
    controls = {"layer": w.IntSlider(layer, 0, num_layers, description="layer", continuous_update=False),
                "colour": w.Dropdown(options=list(cache.maps), description="colour by")}
    views = {"image": w.Image(format="png")}
    figure = ProjectionFigure(poolings)

    def update(values: dict, views: dict) -> dict:
        data = cache.maps[values["colour"]]
        coords = {p: cache.get(values["colour"], p, values["layer"]) for p in poolings}
        views["image"].value = figure.render(
            coords, data.labels, data.label_names,
            title=f"{cache.method.upper()} of layer {values['layer']}, coloured by {values['colour']}")
        return {"coords": coords}

    return Explorer(controls, views, update, rows=[["layer", "colour"], "image"])


def build_neighbour_explorer(texts: Sequence[str], features: dict, labels, label_names, layer: int = -1,
                             poolings: Sequence[str] = ("cls", "mean"), k: int = 3) -> Explorer:
    """Pick a query sentence and a layer; see its nearest neighbours by cosine under each pooling.

    Args:
        texts: N sentences; features: pooling -> (L+1,N,H) vectors of them; labels: (N,) their classes.
        layer: the layer shown first (negative counts from the end).

    Returns:
        an Explorer with controls ``query``, ``layer`` and the view ``view``; ``state["neighbours"]`` maps
        each pooling to the indices of the query's k nearest sentences.
    """
    import ipywidgets as w

    missing = [p for p in poolings if p not in features]
    if missing:
        raise ValueError(f"features has no {missing} vectors: it has {list(features)}.")
    y = np.asarray(labels)
    if len(y) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(y)} labels: give one label per text.")
    n_layers = as_layers(features[poolings[0]]).shape[0] - 1
    controls = {"query": w.IntSlider(0, 0, len(texts) - 1, description="sentence", continuous_update=False),
                "layer": w.IntSlider(layer % (n_layers + 1), 0, n_layers, description="layer",
                                     continuous_update=False)}
    views = {"view": w.HTML()}
    sims: dict = {}

    def update(values: dict, views: dict) -> dict:
        query, at = values["query"], values["layer"]
        parts = [f"<b>query</b> [{label_names[y[query]]}]: {html.escape(texts[query])}<ul>"]
        neighbours = {}
        for p in poolings:
            key = (p, at)
            if key not in sims:
                sims[key] = cosine_matrix(as_layers(features[p])[at])
            row = sims[key][query].copy()
            row[query] = -np.inf
            idx = np.argsort(-row, kind="stable")[:k]
            neighbours[p] = [int(i) for i in idx]
            items = "".join(
                f"<li>{row[i]:.3f} [{label_names[y[i]]}] {'&#10003;' if y[i] == y[query] else '&#10007;'} "
                f"{html.escape(texts[i])}</li>" for i in idx)
            parts.append(f"<li><b>{_label(p)}</b><ol>{items}</ol></li>")
        views["view"].value = "".join(parts) + "</ul>"
        return {"neighbours": neighbours}

    return Explorer(controls, views, update, rows=[["query", "layer"], "view"])
