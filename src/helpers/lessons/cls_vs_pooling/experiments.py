"""[CLS] vs other poolings: probe accuracy per layer, cosine retrieval, and 2-D maps with a layer slider.

Feature dicts map a pooling name to a (L+1,N,H) array (layer 0 = embeddings); "pooler" maps to (N,H)
because the pooler exists only on top of the last layer.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..core import config
from ..core.checks import CheckResult
from ..core.checks import unanswered as _unanswered
from ..core.linear import ProbeResult, linear_probe

POOLING_ORDER = ("cls", "mean", "max", "pooler", "first", "last", "sep")
LABELS = {"cls": "[CLS]", "mean": "masked mean", "max": "masked max", "pooler": "pooler", "first": "first word",
          "last": "last word", "sep": "[SEP]"}

#: Sentence-BERT (Reimers & Gurevych 2019), BERT-base without fine-tuning for similarity.
SBERT_REFERENCE = {
    "sts_spearman": {"avg. BERT embeddings (mean)": 54.81, "BERT [CLS] vector": 29.19},
    "senteval_logreg": {"avg. BERT embeddings (mean)": 84.94, "BERT [CLS] vector": 84.66},
}


def _as_layers(arr: np.ndarray) -> np.ndarray:
    return arr[None] if arr.ndim == 2 else arr


def probe_by_layer(train: dict, y_train, test: dict, y_test, *, poolings: Sequence[str] | None = None,
                   seeds: Sequence[int] = (0, 1, 2), C: float = 1.0, layers: Sequence[int] | None = None) -> dict:
    """Linear-probe accuracy for each pooling at each layer.

    Args:
        train / test: pooling -> (L+1,N,H) arrays (or (N,H) for "pooler"), same keys in both.
        layers: which layer indices to probe (default: all).

    Returns:
        pooling -> {layer: ProbeResult}; "pooler" has only the last layer.
    """
    poolings = [p for p in (poolings or POOLING_ORDER) if p in train]
    if not poolings:
        raise ValueError(f"No known pooling in the features: got keys {list(train)}, expected some of {POOLING_ORDER}.")
    out: dict = {}
    for p in poolings:
        if p not in test:
            raise ValueError(f"Pooling {p!r} is in the training features but not in the test features.")
        xa, xb = _as_layers(np.asarray(train[p])), _as_layers(np.asarray(test[p]))
        n_layers = xa.shape[0]
        top = max(_as_layers(np.asarray(train[q])).shape[0] for q in poolings) - 1
        if n_layers == 1:
            todo = [(0, top)]
        else:
            todo = [(x, x) for x in (layers if layers is not None else range(n_layers))]
        out[p] = {}
        for idx, layer in todo:
            out[p][layer] = linear_probe(xa[idx], y_train, xb[idx], y_test, seeds=seeds, C=C,
                                         name=f"{LABELS.get(p, p)} layer {layer}")
    return out


def best_per_pooling(results: dict) -> dict[str, tuple[int, ProbeResult]]:
    """pooling -> (layer, ProbeResult) with the highest mean accuracy."""
    return {p: max(r.items(), key=lambda kv: kv[1].mean) for p, r in results.items()}


def draw_probe_by_layer(results: dict, title: str = "linear probe accuracy per layer"):
    """One line per pooling with error bars (std over seeds); the pooler is one point at the last layer."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4), dpi=85)
    chance = None
    for p, per in results.items():
        layers = sorted(per)
        means = [per[x].mean for x in layers]
        stds = [per[x].std for x in layers]
        style = {"cls": dict(lw=2.5, marker="o"), "mean": dict(lw=2.5, marker="s")}.get(p, dict(lw=1.2, marker="."))
        if len(layers) == 1:
            ax.errorbar(layers, means, yerr=stds, fmt="*", ms=12, capsize=3, label=LABELS.get(p, p))
        else:
            ax.errorbar(layers, means, yerr=stds, capsize=2, label=LABELS.get(p, p), **style)
        chance = per[layers[0]].chance
    if chance is not None:
        ax.axhline(chance, color="grey", ls=":", label="majority class")
    ax.set_xlabel("layer (0 = embeddings)")
    ax.set_ylabel("test accuracy")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- similarity / retrieval


def cosine_matrix(x) -> np.ndarray:
    """(N,N) cosine similarities of the rows of (N,H)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"Expected (N,H) vectors, got shape {x.shape}.")
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.maximum(norm, 1e-12)
    return x @ x.T


def retrieval_scores(x, labels, k: int = 5, center: bool = False) -> dict[str, float]:
    """Cosine retrieval: each sentence queries all the others.

    Returns:
        dict with "precision@k" (share of the k nearest that share the query's label),
        "mAP" (mean average precision over the ranking), and "mean cosine" between random pairs.
    """
    y = np.asarray(labels)
    x = np.asarray(x, dtype=np.float64)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} vectors but {len(y)} labels: give one label per vector.")
    if not 1 <= k < len(y):
        raise ValueError(f"k must be between 1 and {len(y) - 1}, got {k}.")
    if center:
        x = x - x.mean(0, keepdims=True)
    sim = cosine_matrix(x)
    mean_cos = float((sim.sum() - np.trace(sim)) / (len(y) * (len(y) - 1)))
    np.fill_diagonal(sim, -np.inf)
    order = np.argsort(-sim, axis=1, kind="stable")[:, :-1]
    same = y[order] == y[:, None]
    prec_k = float(same[:, :k].mean())
    hits = np.cumsum(same, axis=1)
    ranks = np.arange(1, same.shape[1] + 1)
    ap = (same * hits / ranks).sum(1) / np.maximum(same.sum(1), 1)
    return {f"precision@{k}": prec_k, "mAP": float(ap.mean()), "mean cosine": mean_cos}


def nearest(x, texts: Sequence[str], query: int, k: int = 3) -> list[tuple[float, str]]:
    """The k sentences closest to ``texts[query]`` by cosine (the query itself left out)."""
    sim = cosine_matrix(x)[query]
    sim[query] = -np.inf
    idx = np.argsort(-sim, kind="stable")[:k]
    return [(float(sim[i]), texts[i]) for i in idx]


# ----------------------------------------------------------------------------- 2-D maps


def _key(x: np.ndarray, method: str, seed: int) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(x, dtype=np.float32).tobytes())
    digest.update(f"{method}-{seed}-{x.shape}".encode())
    return digest.hexdigest()[:20]


def project_2d(x, method: str = "umap", seed: int = 0, cache_dir: Path | None = None, n_neighbors: int = 15) -> np.ndarray:
    """(N,H) -> (N,2) with UMAP or PCA, cached on disk by a hash of the input, method and seed."""
    if method not in ("umap", "pca"):
        raise ValueError(f"method must be 'umap' or 'pca', got {method!r}.")
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or len(x) < 3:
        raise ValueError(f"Expected (N,H) vectors with N >= 3, got shape {x.shape}.")
    path = Path(cache_dir or config.CACHE_DIR) / "projections" / f"{_key(x, method, seed)}.npy"
    if path.is_file():
        return np.load(path)
    if method == "pca":
        from sklearn.decomposition import PCA

        coords = PCA(n_components=2, random_state=seed).fit_transform(x)
    else:
        import warnings

        import umap

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            coords = umap.UMAP(n_neighbors=min(n_neighbors, len(x) - 1), random_state=seed).fit_transform(x)
    coords = np.asarray(coords, dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, coords)
    return coords


@dataclass
class MapData:
    """One coloured point set: features per pooling (L+1,N,H), labels (N,), label names."""

    features: dict
    labels: np.ndarray
    label_names: list


class ProjectionCache:
    """2-D coordinates per (data set, pooling, layer), computed on first use and kept in memory and on disk."""

    def __init__(self, maps: dict[str, MapData], method: str = "umap", seed: int = 0, cache_dir: Path | None = None):
        self.maps, self.method, self.seed, self.cache_dir = maps, method, seed, cache_dir
        self._memo: dict = {}
        self.seconds: dict = {}

    def get(self, name: str, pooling: str, layer: int) -> np.ndarray:
        key = (name, pooling, layer)
        if key not in self._memo:
            if name not in self.maps:
                raise ValueError(f"No data set {name!r}: choose one of {list(self.maps)}.")
            start = time.perf_counter()
            x = _as_layers(np.asarray(self.maps[name].features[pooling]))[layer]
            self._memo[key] = project_2d(x, self.method, self.seed, self.cache_dir)
            self.seconds[key] = time.perf_counter() - start
        return self._memo[key]


def draw_projection(coords: dict[str, np.ndarray], labels, label_names: Sequence[str], title: str = ""):
    """Side-by-side scatter plots (one per pooling) coloured by label."""
    import matplotlib.pyplot as plt

    y = np.asarray(labels)
    fig, axes = plt.subplots(1, len(coords), figsize=(4.3 * len(coords), 3.8), dpi=75, squeeze=False)
    cmap = plt.get_cmap("tab20" if len(label_names) > 10 else "tab10")
    for ax, (name, xy) in zip(axes[0], coords.items()):
        for c, lab in enumerate(label_names):
            m = y == c
            ax.scatter(xy[m, 0], xy[m, 1], s=7, color=cmap(c % cmap.N), label=lab)
        ax.set_title(LABELS.get(name, name), fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][-1].legend(fontsize=6, markerscale=1.5, loc="center left", bbox_to_anchor=(1.0, 0.5))
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


class MapView:
    """One reusable figure for the map explorer: redraws by moving points, not by building a new figure.

    ``render()`` returns PNG bytes, so a widgets.Image shows it without the notebook's figure machinery.
    """

    def __init__(self, poolings: Sequence[str], dpi: int = 70):
        import matplotlib

        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(3.6 * len(poolings) + 1.4, 3.3), dpi=dpi)
        FigureCanvasAgg(self.fig)
        self.axes = self.fig.subplots(1, len(poolings), squeeze=False)[0]
        self.poolings = list(poolings)
        self.points = []
        for ax, p in zip(self.axes, self.poolings):
            self.points.append(ax.scatter([], [], s=6, linewidths=0))
            ax.set_title(LABELS.get(p, p), fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
        self.fig.subplots_adjust(left=0.02, right=0.8, bottom=0.03, top=0.85, wspace=0.08)
        self._legend_for = None
        self._cmap = matplotlib.colormaps["tab20"]

    def render(self, coords: dict, labels, label_names: Sequence[str], title: str = "") -> bytes:
        """Move the points to ``coords`` (pooling -> (N,2)), colour them by ``labels``; return PNG bytes."""
        import io

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


def build_projection_explorer(cache: ProjectionCache, num_layers: int, layer: int | None = None,
                              poolings: Sequence[str] = ("cls", "mean")):
    """Layer slider + colour-by chooser over a ProjectionCache; redraws [CLS] and mean maps side by side.

    Returns:
        ipywidgets.VBox with ``.controls`` (layer, colour, image, error) and ``.state`` (the coords drawn last).
    """
    import html

    import ipywidgets as w

    layer = num_layers if layer is None else layer
    slider = w.IntSlider(layer, 0, num_layers, description="layer", continuous_update=False)
    colour = w.Dropdown(options=list(cache.maps), description="colour by")
    image = w.Image(format="png")
    error = w.HTML()
    box = w.VBox([w.HBox([slider, colour]), image, error])
    box.controls = {"layer": slider, "colour": colour, "image": image, "error": error}
    box.state = None
    view = MapView(poolings)

    def render(*_):
        try:
            data = cache.maps[colour.value]
            coords = {p: cache.get(colour.value, p, slider.value) for p in poolings}
        except (ValueError, KeyError, IndexError) as exc:  # show, don't raise inside a callback
            error.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            return
        error.value = ""
        box.state = {"layer": slider.value, "colour": colour.value, "coords": coords}
        image.value = view.render(coords, data.labels, data.label_names,
                                  title=f"{cache.method.upper()} of layer {slider.value}, coloured by {colour.value}")

    slider.observe(render, names="value")
    colour.observe(render, names="value")
    box.render = render
    render()
    return box


def build_neighbour_explorer(texts: Sequence[str], features: dict, labels, label_names, layer: int = -1,
                             poolings: Sequence[str] = ("cls", "mean"), k: int = 3):
    """Pick a query sentence and a layer; see its nearest neighbours by cosine under each pooling."""
    import html

    import ipywidgets as w

    n_layers = _as_layers(np.asarray(features[poolings[0]])).shape[0] - 1
    start_layer = layer % (n_layers + 1)
    query = w.IntSlider(0, 0, len(texts) - 1, description="sentence", continuous_update=False)
    slider = w.IntSlider(start_layer, 0, n_layers, description="layer", continuous_update=False)
    view = w.HTML()
    box = w.VBox([w.HBox([query, slider]), view])
    box.controls = {"query": query, "layer": slider, "view": view}
    box.state = None
    y = np.asarray(labels)
    sims = {}

    def render(*_):
        parts = [f"<b>query</b> [{label_names[y[query.value]]}]: {html.escape(texts[query.value])}<ul>"]
        state = {}
        for p in poolings:
            key = (p, slider.value)
            if key not in sims:
                sims[key] = cosine_matrix(_as_layers(np.asarray(features[p]))[slider.value])
            row = sims[key][query.value].copy()
            row[query.value] = -np.inf
            idx = np.argsort(-row, kind="stable")[:k]
            state[p] = [int(i) for i in idx]
            items = "".join(
                f"<li>{row[i]:.3f} [{label_names[y[i]]}] {'&#10003;' if y[i] == y[query.value] else '&#10007;'} "
                f"{html.escape(texts[i])}</li>" for i in idx)
            parts.append(f"<li><b>{LABELS.get(p, p)}</b><ol>{items}</ol></li>")
        box.state = state
        view.value = "".join(parts) + "</ul>"

    query.observe(render, names="value")
    slider.observe(render, names="value")
    render()
    return box


# ----------------------------------------------------------------------------- exercise check


def check_best_pooling(answer, results: dict, layer: int | None = None) -> CheckResult:
    """Check a guess of which pooling the probe read best at ``layer`` (default: the last layer); never raises."""
    if _unanswered(answer):
        return CheckResult(None, "Not answered yet: replace the ... with a pooling name such as 'max'.")
    last = max(max(per) for per in results.values())
    layer = last if layer is None else layer
    scores = {p: per[layer].mean for p, per in results.items() if layer in per}
    if not scores:
        return CheckResult(False, f"Not quite: no pooling was probed at layer {layer}.")
    best = max(scores, key=scores.get)
    details = {"layer": layer, "scores": scores, "best": best}
    table = ", ".join(f"{p} {s:.3f}" for p, s in sorted(scores.items(), key=lambda kv: -kv[1]))
    guess = str(answer).strip().lower()
    if guess not in scores:
        return CheckResult(False, f"Not quite: {answer!r} is not one of the poolings probed ({', '.join(scores)}).",
                           details)
    if guess == best:
        return CheckResult(True, f"Right: at layer {layer} {best} is best ({table}).", details)
    close = scores[best] - scores[guess]
    hint = " The two are within a point of each other: look at the error bars." if close < 0.01 else ""
    return CheckResult(False, f"Not quite: at layer {layer} the best is {best}, not {answer} ({table}).{hint}", details)


def check_higher_mean_cosine(answer, rows: dict) -> CheckResult:
    """Check a guess of which pooling has the higher average cosine between two random sentences; never raises.

    Args:
        answer: "cls" or "mean" (``"[CLS]"`` is accepted too); ``...``/None = not answered.
        rows: pooling name -> dict with a "mean cosine" entry, as returned by ``retrieval_scores``.
    """
    names = " or ".join(repr(p) for p in rows)
    if _unanswered(answer):
        return CheckResult(None, f"Not answered yet: replace the ... with {names}.")
    cosines = {p: float(r["mean cosine"]) for p, r in rows.items()}
    guess = str(answer).strip().lower().strip("[]")
    if guess not in cosines:
        return CheckResult(False, f"Not quite: answer with {names}, got {answer!r}.", {"mean cosine": cosines})
    higher = max(cosines, key=cosines.get)
    details = {"mean cosine": cosines, "higher": higher}
    table = ", ".join(f"{LABELS.get(p, p)} {c:.3f}" for p, c in cosines.items())
    name = LABELS.get(higher, higher)
    if guess == higher:
        return CheckResult(True, f"Right: two random sentences are more alike, on average, with {name} "
                                 f"vectors (mean cosine {table}). The higher it is, the less room cosine has to "
                                 f"tell a neighbour from a stranger.", details)
    return CheckResult(False, f"Not quite: {name} vectors have the higher mean cosine between "
                              f"random sentences ({table}).", details)
