"""[CLS] vs other poolings, the computing side: probes per layer, cosine retrieval, 2-D maps, the fine-tuned
heads against the frozen probe, and where [CLS]'s attention goes before and after fine-tuning.

Feature dicts map a pooling name to a (L+1,N,H) array (layer 0 = embeddings); "pooler" maps to (N,H)
because the pooler exists only on top of the last layer. Nothing here draws (see :mod:`.views`).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ...core import config
from ...core.attention import cls_rows, cube_example, how_much_others_read_cls, layer_means, what_cls_reads
from ...core.cube import POOLING_LABELS, POOLINGS, encode
from ...core.linear import ProbeResult, cross_fit_probe
from ...core.models import LoadedModel
from ...core.geometry import massive_coordinate
from ...core.stats import Estimate, alikeness, compare_estimates, cosine_matrix


def as_layers(arr) -> np.ndarray:
    """(N,H) -> (1,N,H); (L+1,N,H) unchanged: every pooling indexed by layer the same way."""
    arr = np.asarray(arr)
    return arr[None] if arr.ndim == 2 else arr


# ----------------------------------------------------------------------------- noise

NOISE_SE = 2.0
"""Two numbers computed over the same sentences differ "beyond the noise" when they are more than this many
standard errors apart: the course's two-standard-error rule (as in :func:`helpers.core.stats.noise_margin`)."""


def _se(values) -> float:
    """Standard error of the mean of per-sentence values (0 for fewer than two)."""
    v = np.asarray(values, dtype=np.float64)
    return float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0


def within_noise(a: float, b: float, se_a: float, se_b: float) -> bool:
    """True when ``a`` and ``b`` (means over sentences, with standard errors) are within :data:`NOISE_SE` of each other."""
    return abs(a - b) <= NOISE_SE * float(np.hypot(se_a, se_b))


# ----------------------------------------------------------------------------- probes per layer


def probe_by_layer(train: dict, y_train, test: dict, y_test, *, poolings: Sequence[str] | None = None,
                   seeds: Sequence[int] = (0, 1, 2), C: float = 1.0, layers: Sequence[int] | None = None,
                   folds: int = 5) -> dict:
    """Cross-fitted linear-probe accuracy for each pooling at each layer.

    Train and test sentences are pooled and split into ``folds`` stratified folds (reshuffled per seed); each
    fold is scored by a probe fitted on the others, so every labelled sentence is scored once per seed and every
    ProbeResult carries its per-sentence results (``.correct``): two probes are compared paired, on the same
    sentences (:func:`helpers.core.stats.compare_estimates`).

    Args:
        train / test: pooling -> (L+1,N,H) arrays (or (N,H) for "pooler"), same keys in both.
        poolings: which poolings to probe, in this order (default: every one of ``POOLINGS`` in the features).
        seeds: one cross-fitting per seed.
        layers: which layer indices to probe (default: all).

    Returns:
        pooling -> {layer: ProbeResult}; "pooler" has only the last layer.
    """
    poolings = [p for p in (poolings or POOLINGS) if p in train]
    if not poolings:
        raise ValueError(f"No known pooling in the features: got keys {list(train)}, expected some of {POOLINGS}.")
    y = np.concatenate([np.asarray(y_train), np.asarray(y_test)])
    out: dict = {}
    for p in poolings:
        if p not in test:
            raise ValueError(f"Pooling {p!r} is in the training features but not in the test features.")
        xa, xb = as_layers(train[p]), as_layers(test[p])
        n_layers = xa.shape[0]
        top = max(as_layers(train[q]).shape[0] for q in poolings) - 1
        if n_layers == 1:
            todo = [(0, top)]
        else:
            todo = [(x, x) for x in (layers if layers is not None else range(n_layers))]
        out[p] = {}
        for idx, layer in todo:
            out[p][layer] = cross_fit_probe(np.concatenate([xa[idx], xb[idx]]), y, folds=folds, seeds=seeds, C=C,
                                            name=f"{POOLING_LABELS.get(p, p)} layer {layer}")
    return out


def best_per_pooling(results: dict) -> dict[str, tuple[int, ProbeResult]]:
    """pooling -> (layer, ProbeResult) with the highest mean accuracy."""
    return {p: max(r.items(), key=lambda kv: kv[1].mean) for p, r in results.items()}


def best_frozen(results: dict) -> tuple[str, int, ProbeResult, list[tuple[str, int]]]:
    """The best frozen feature over every pooling and layer, and the others within the noise of it.

    Returns:
        (pooling, layer, its ProbeResult, [(pooling, layer), ...] whose score is "about the same" by
        :func:`helpers.core.stats.compare_estimates`), the ties in descending order of score.
    """
    flat = [(p, layer, r) for p, per in results.items() for layer, r in per.items()]
    if not flat:
        raise ValueError("results is empty: pass probe_by_layer()'s result.")
    p, layer, best = max(flat, key=lambda t: t[2].mean)
    ties = [(q, m) for q, m, r in sorted(flat, key=lambda t: -t[2].mean)
            if (q, m) != (p, layer) and compare_estimates(best, r) == "about the same"]
    return p, layer, best, ties


def map_agreement(coords, labels, k: int = 5) -> dict[str, float]:
    """How well a 2-D map keeps the labels together: the share of each point's k nearest points that share its label.

    Args:
        coords: (N,2) map coordinates; labels: (N,) classes.

    Returns:
        dict with "agreement" (mean over points), "se" (its standard error over the points) and "chance" (the
        share a random neighbour would give: same-label pairs among all pairs).
    """
    xy = np.asarray(coords, dtype=np.float64)
    y = np.asarray(labels)
    if xy.ndim != 2 or len(xy) != len(y):
        raise ValueError(f"Give (N,2) coordinates and one label per point; got shape {xy.shape} and {len(y)} labels.")
    if not 1 <= k < len(y):
        raise ValueError(f"k must be between 1 and {len(y) - 1}, got {k}.")
    d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    near = np.argsort(d, axis=1, kind="stable")[:, :k]
    per_point = (y[near] == y[:, None]).mean(1)
    counts = np.unique(y, return_counts=True)[1]
    chance = float((counts * (counts - 1)).sum() / (len(y) * (len(y) - 1)))
    return {"agreement": float(per_point.mean()), "se": _se(per_point), "chance": chance}


# ----------------------------------------------------------------------------- similarity / retrieval


def retrieval_scores(x, labels, k: int = 5, center: bool = False) -> dict[str, float]:
    """Cosine retrieval: each sentence queries all the others.

    Args:
        x: (N,H) sentence vectors; labels: (N,) their classes (a neighbour is right when it shares the label).
        k: how many neighbours precision@k looks at.
        center: subtract the average vector first (removes the direction every vector shares).

    Returns:
        dict with "precision@k" (share of the k nearest that share the query's label),
        "mAP" (mean average precision over the ranking), and "mean cosine": the vectors'
        :func:`helpers.core.stats.alikeness` (the mean cosine between two different sentences);
        "precision@k se" and "mean cosine se" are their standard errors over the N query sentences
        (for :func:`within_noise`).
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
    per_sentence = (sim.sum(1) - np.diag(sim)) / (len(x) - 1)
    np.fill_diagonal(sim, -np.inf)
    order = np.argsort(-sim, axis=1, kind="stable")[:, :-1]
    same = y[order] == y[:, None]
    per_query = same[:, :k].mean(1)
    hits = np.cumsum(same, axis=1)
    ranks = np.arange(1, same.shape[1] + 1)
    ap = (same * hits / ranks).sum(1) / np.maximum(same.sum(1), 1)
    return {f"precision@{k}": float(per_query.mean()), "mAP": float(ap.mean()), "mean cosine": alikeness(x),
            f"precision@{k} se": _se(per_query), "mean cosine se": _se(per_sentence)}


def _pair_cosines(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    sim = cosine_matrix(x)
    off = ~np.eye(len(x), dtype=bool)
    same = (y[:, None] == y[None, :]) & off
    other = (y[:, None] != y[None, :])
    pairs = sim[off]
    sd = float(pairs.std())
    s_mean = float(sim[same].mean()) if same.any() else float("nan")
    o_mean = float(sim[other].mean()) if other.any() else float("nan")
    return {"mean cosine": alikeness(x), "lowest": float(pairs.min()), "highest": float(pairs.max()),
            "same label": s_mean, "other label": o_mean,
            "separation": (s_mean - o_mean) / sd if sd > 0 else float("nan")}


def anisotropy(x, labels) -> dict:
    """How alike every pair of vectors is, and how far same-label pairs stand out, raw and after centring.

    Args:
        x: (N,H) sentence vectors (e.g. last-layer [CLS]); labels: (N,) their classes (e.g. topics).

    Returns:
        dict with "raw" and "centred" (the vectors minus their average), each: "mean cosine" (alikeness),
        "lowest" / "highest" pair cosine, the mean cosine of "same label" and "other label" pairs, and
        "separation" = (same - other) / std of all pair cosines: how many standard deviations a same-label
        pair stands above the rest (what cosine ranking needs; a shared direction raises every cosine, not
        this). "massive": :func:`helpers.core.geometry.massive_coordinate` of the raw vectors (the largest
        coordinate, its share of the length, the mean cosine without it).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(labels)
    if x.ndim != 2 or len(x) != len(y) or len(x) < 3:
        raise ValueError(f"Give (N,H) vectors with N >= 3 and one label per vector; got shape {x.shape} and "
                         f"{len(y)} labels.")
    if len(np.unique(y)) < 2:
        raise ValueError("anisotropy needs at least two labels, to compare same-label with other-label pairs.")
    return {"raw": _pair_cosines(x, y), "centred": _pair_cosines(x - x.mean(0, keepdims=True), y),
            "massive": massive_coordinate(x)}


def nearest(x, texts: Sequence[str], query: int, k: int = 3) -> list[tuple[float, str]]:
    """The k sentences closest to ``texts[query]`` by cosine (the query itself left out)."""
    if not 0 <= query < len(texts):
        raise ValueError(f"query must be a sentence index 0..{len(texts) - 1}, got {query}.")
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
        if not maps:
            raise ValueError("maps is empty: give at least one MapData, e.g. {'topic': MapData(...)}.")
        self.maps, self.method, self.seed, self.cache_dir = maps, method, seed, cache_dir
        self._memo: dict = {}
        self.seconds: dict = {}

    def get(self, name: str, pooling: str, layer: int) -> np.ndarray:
        """(N,2) coordinates of data set ``name``'s ``pooling`` vectors at ``layer``."""
        key = (name, pooling, layer)
        if key not in self._memo:
            if name not in self.maps:
                raise ValueError(f"No data set {name!r}: choose one of {list(self.maps)}.")
            feats = self.maps[name].features
            if pooling not in feats:
                raise ValueError(f"Data set {name!r} has no {pooling!r} vectors: it has {list(feats)}.")
            start = time.perf_counter()
            x = as_layers(feats[pooling])[layer]
            self._memo[key] = project_2d(x, self.method, self.seed, self.cache_dir)
            self.seconds[key] = time.perf_counter() - start
        return self._memo[key]


# ----------------------------------------------------------------------------- the shipped sweep, rerun live


@dataclass
class LiveCheck:
    """A live rerun of part of the shipped fine-tuning sweep, and whether it agrees with the shipped numbers.

    Attributes:
        kind: "rerun" (one seed, a few readouts, the shipped budget), "check cell" (quick mode: the sweep's
            short check cell) or "other model" (the model is not the one the sweep was run on: its own live
            heads, compared with each other, no agreement check).
        cells: readout -> the live cell (accuracy, per-sentence right/wrong, curve, seconds).
        agrees: True / False against the shipped results; None for "other model".
        lines: the sentences to print.
        seconds: wall time of the live runs.
    """

    kind: str
    cells: dict
    agrees: bool | None
    lines: list
    seconds: float


def live_check(lm: LoadedModel, shipped: dict, *, quick: bool, readouts: Sequence[str] = ("cls", "mean"),
               train=None, test=None) -> LiveCheck:
    """Rerun part of the sweep on ``lm`` and compare with ``shipped`` (``core.sweep_report.load_sweep()``).

    Full mode on the sweep's model: ``readouts`` at seed 0 with the shipped budget (side by side on a multi-core
    CPU), each inside the shipped interval. Quick mode on the sweep's model: the short check cell, which must
    match the shipped one. Any other model: ``readouts`` fine-tuned live on ``train``/``test`` (default: the
    sweep's data), compared with each other, paired.
    """
    from ...core import sweep
    from ...core import sweep_report as report
    from ...core.features import model_fingerprint
    from ...core.stats import paired_difference

    start = time.perf_counter()
    if model_fingerprint(lm) == shipped["provenance"]["model_fingerprint"]:
        if quick:
            tr, te = sweep.sweep_data()
            fit, val = sweep.split(tr)
            cell = sweep.recompute_check_cell(lm, fit, val, te)
            ok, line = report.check_cell_agreement(shipped, cell)
            return LiveCheck("check cell", {cell["readout"]: cell}, ok, [line], time.perf_counter() - start)
        cells = sweep.rerun(lm, readouts)
        ok, lines = report.live_agreement(shipped, cells)
        return LiveCheck("rerun", cells, ok, lines, time.perf_counter() - start)
    steps = 20 if quick else sweep.STEPS
    cells = sweep.rerun(lm, readouts, steps=steps, train=train, test=test)
    lines = [f"{k}: live {c['accuracy']:.3f} ({steps} steps, {c['seconds']:.0f} s)" for k, c in cells.items()]
    keys = list(cells)
    for k in keys[1:]:
        d = paired_difference(sweep.bits_to_array(cells[k]["correct"]), sweep.bits_to_array(cells[keys[0]]["correct"]),
                              names=(k, keys[0]))
        lines.append(f"on {lm.name}: {d.verdict()} (one seed: the shipped sweep is for {shipped['provenance']['model']})")
    return LiveCheck("other model", cells, None, lines, time.perf_counter() - start)


# ----------------------------------------------------------------------------- where [CLS] looks


@dataclass
class AttentionProfile:
    """Where [CLS]'s attention goes, per layer, over a set of sentences (heads averaged).

    Attributes:
        reads: kind -> (L,) what [CLS] reads: the share of [CLS]'s own row on [CLS], [SEP], punctuation,
            words (``core.attention.what_cls_reads``; the four add up to 1 per layer).
        others_read_cls: (L,) how much the other real tokens read [CLS], averaged over those tokens
            (``core.attention.how_much_others_read_cls``).
        cls_row: (L,n) the [CLS] row of the first sentence (``cube_example`` / ``cls_rows``), heads averaged.
        tokens: that sentence's n tokens.
    """

    reads: dict[str, np.ndarray]
    others_read_cls: np.ndarray
    cls_row: np.ndarray
    tokens: list[str]


def cls_attention_profile(lm: LoadedModel, texts: Sequence[str], batch_size: int = 32) -> AttentionProfile:
    """One forward pass with attentions over ``texts``, summarised as an :class:`AttentionProfile`."""
    texts = list(texts)
    if not texts:
        raise ValueError("texts is empty: give the sentences whose attention to summarise.")
    cube = encode(lm, texts, hidden_states=False, attentions=True, batch_size=batch_size)
    reads = layer_means(what_cls_reads(cube, lm))
    others = how_much_others_read_cls(cube, lm).mean(-1)
    att, tokens = cube_example(cube, 0)
    return AttentionProfile(reads, others, cls_rows(att).mean(1), tokens)
