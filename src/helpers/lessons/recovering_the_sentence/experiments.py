"""Notebook 07 · Can the sentence be read back from one vector? A bag-of-words inversion probe and
nearest-neighbour recovery.

The published attacks the notebook compares with are in :mod:`helpers.core.references`
(``song2020_inversion``, ``vec2text_exact``). Shapes: N = sentences, H = width, V = vocabulary words the probe predicts, L = layers.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..core.checks import CheckResult, unanswered
from ..core.cube import POOLING_LABELS
from ..core.stats import unit_rows
from ..ui.figures import new_figure

_WORD = re.compile(r"[a-z][a-z']*[a-z]|[a-z]")


def content_words(text: str) -> list[str]:
    """Lower-cased words of ``text`` without English stop words, in order, each once."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = [w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in ENGLISH_STOP_WORDS]
    return list(dict.fromkeys(words))


def build_vocabulary(texts: Sequence[str], min_count: int = 3, max_words: int | None = None) -> list[str]:
    """Content words found in at least ``min_count`` of ``texts``, most frequent first (ties alphabetical)."""
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}.")
    counts = Counter(w for t in texts for w in content_words(t))
    words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    if not words:
        raise ValueError(f"No word occurs in {min_count}+ sentences: lower min_count or give more texts.")
    return words[:max_words] if max_words else words


def bag_of_words(texts: Sequence[str], vocab: Sequence[str]) -> np.ndarray:
    """(N,V) 0/1 matrix: does sentence n contain vocabulary word v?"""
    index = {w: j for j, w in enumerate(vocab)}
    y = np.zeros((len(texts), len(vocab)), dtype=np.float32)
    for i, t in enumerate(texts):
        for w in content_words(t):
            if w in index:
                y[i, index[w]] = 1.0
    return y


def prf(predicted, truth) -> dict[str, float]:
    """Micro precision, recall and F1 over all (sentence, word) pairs of two (N,V) 0/1 matrices."""
    p, t = np.asarray(predicted, bool), np.asarray(truth, bool)
    if p.shape != t.shape:
        raise ValueError(f"predicted has shape {p.shape} but truth {t.shape}: they must match.")
    tp = float((p & t).sum())
    precision = tp / max(float(p.sum()), 1.0)
    recall = tp / max(float(t.sum()), 1.0)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {"precision": precision, "recall": recall, "f1": f1}


# ----------------------------------------------------------------------------- the probe


@dataclass
class InversionProbe:
    """A linear map from a sentence vector to one score per vocabulary word (ridge regression on 0/1 targets).

    Attributes:
        weights: (H+1,V) including the bias row; mean/std: (H,) standardisation of the inputs.
        threshold: words scoring above it are predicted; chosen on held-out training rows.
        alpha: the ridge penalty chosen on held-out training rows.
    """

    weights: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    threshold: float
    alpha: float

    def scores(self, x) -> np.ndarray:
        """(N,H) -> (N,V) word scores."""
        z = (np.asarray(x, np.float64) - self.mean) / self.std
        return np.hstack([z, np.ones((len(z), 1))]) @ self.weights

    def predict(self, x) -> np.ndarray:
        """(N,H) -> (N,V) 0/1 predictions."""
        return (self.scores(x) > self.threshold).astype(np.float32)


def _ridge(z: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    a = np.hstack([z, np.ones((len(z), 1))])
    reg = alpha * np.eye(a.shape[1])
    reg[-1, -1] = 0.0  # no penalty on the bias
    return np.linalg.solve(a.T @ a + reg, a.T @ y)


def _best_threshold(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    best = (0.5, -1.0)
    for th in np.linspace(0.05, 0.7, 27):
        f1 = prf(scores > th, truth)["f1"]
        if f1 > best[1]:
            best = (float(th), f1)
    return best


def fit_inversion_probe(x, y, alphas: Sequence[float] = (1.0, 10.0, 100.0, 1000.0), seed: int = 0,
                        holdout: float = 0.2) -> InversionProbe:
    """Fit the probe on (N,H) vectors and (N,V) word indicators; alpha and threshold chosen on a held-out 20%."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
        raise ValueError(f"Expected x (N,H) and y (N,V) with the same N, got {x.shape} and {y.shape}.")
    if len(x) < 10:
        raise ValueError(f"Only {len(x)} sentences: the probe needs at least 10.")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    cut = max(1, int(round(holdout * len(x))))
    val, fit = order[:cut], order[cut:]
    mean, std = x[fit].mean(0), x[fit].std(0) + 1e-6
    z = (x - mean) / std
    best = None
    for alpha in alphas:
        w = _ridge(z[fit], y[fit], alpha)
        scores = np.hstack([z[val], np.ones((len(val), 1))]) @ w
        th, f1 = _best_threshold(scores, y[val])
        if best is None or f1 > best[2]:
            best = (alpha, th, f1)
    alpha, th, _ = best
    mean, std = x.mean(0), x.std(0) + 1e-6
    w = _ridge((x - mean) / std, y, alpha)
    return InversionProbe(w, mean, std, th, alpha)


def frequent_words_baseline(y_train, y_test, max_k: int = 15) -> dict:
    """Predict the k most frequent training words for EVERY sentence (k chosen on the training rows).

    Returns:
        dict with precision/recall/f1 on the test rows, "k" and "words" (the indices predicted).
    """
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    order = np.argsort(-y_train.sum(0), kind="stable")
    best = None
    for k in range(1, min(max_k, y_train.shape[1]) + 1):
        pred = np.zeros_like(y_train)
        pred[:, order[:k]] = 1
        f1 = prf(pred, y_train)["f1"]
        if best is None or f1 > best[1]:
            best = (k, f1)
    k = best[0]
    pred = np.zeros_like(y_test)
    pred[:, order[:k]] = 1
    return {**prf(pred, y_test), "k": k, "words": order[:k].tolist()}


def inversion_by_layer(train: dict, y_train, test: dict, y_test, poolings: Sequence[str] = ("cls", "mean"),
                       layers: Sequence[int] | None = None) -> dict:
    """Probe precision/recall/F1 on the test rows for each pooling at each layer.

    Args:
        train / test: pooling -> (L+1,N,H) arrays.

    Returns:
        pooling -> {layer: dict(precision, recall, f1, alpha)}.
    """
    out = {}
    for p in poolings:
        if p not in train or p not in test:
            raise ValueError(f"Pooling {p!r} is missing from the features; computed: {list(train)}.")
        xa, xb = np.asarray(train[p]), np.asarray(test[p])
        todo = layers if layers is not None else range(xa.shape[0])
        out[p] = {}
        for layer in todo:
            probe = fit_inversion_probe(xa[layer], y_train)
            out[p][layer] = {**prf(probe.predict(xb[layer]), y_test), "alpha": probe.alpha}
    return out


def draw_inversion_by_layer(results: dict, baseline: dict, title: str = "bag-of-words inversion (test)"):
    """F1 (solid) and recall (dotted) per layer for each pooling, with the frequent-words baseline.

    Args:
        results: :func:`inversion_by_layer` output.
        baseline: :func:`frequent_words_baseline` output.

    Returns:
        a matplotlib Figure (show it with ``helpers.show(fig)``).
    """
    fig = new_figure(7, 3.8, dpi=85)
    ax = fig.add_subplot()
    for p, per in results.items():
        label = POOLING_LABELS.get(p, p)
        layers = sorted(per)
        line, = ax.plot(layers, [per[x]["f1"] for x in layers], "o-", label=f"{label} F1")
        ax.plot(layers, [per[x]["recall"] for x in layers], ":", color=line.get_color(), label=f"{label} recall")
    ax.axhline(baseline["f1"], color="grey", ls="--", label=f"frequent words F1 (top {baseline['k']})")
    ax.set_xlabel("layer (0 = embeddings)")
    ax.set_ylabel("score")
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    return fig


def recovered_words(probe: InversionProbe, x, vocab: Sequence[str], texts: Sequence[str]) -> list[dict]:
    """For each row: the true content words (in the vocabulary), the predicted ones, hits, misses, extras."""
    pred = probe.predict(np.asarray(x).reshape(len(texts), -1))
    out = []
    for i, text in enumerate(texts):
        truth = [w for w in content_words(text) if w in set(vocab)]
        guess = [vocab[j] for j in np.flatnonzero(pred[i])]
        out.append({"text": text, "true": truth, "predicted": guess,
                    "hits": [w for w in guess if w in truth], "missed": [w for w in truth if w not in guess],
                    "extra": [w for w in guess if w not in truth]})
    return out


# ----------------------------------------------------------------------------- nearest neighbours


def nearest_neighbour_recovery(stored, candidates, noise: Sequence[float] = (0.0, 0.5, 1.0, 2.0),
                               seed: int = 0) -> dict[float, float]:
    """Top-1 accuracy of finding each stored vector's own sentence among candidate vectors by cosine.

    ``stored[i]`` and ``candidates[i]`` come from the same sentence. Gaussian noise of ``level`` times the
    per-unit standard deviation is added to the stored vectors first (a crude model of a leaked,
    perturbed or quantised copy).
    """
    s, c = np.asarray(stored, np.float64), np.asarray(candidates, np.float64)
    if s.shape != c.shape:
        raise ValueError(f"stored {s.shape} and candidates {c.shape} must have the same shape (row i = sentence i).")
    rng = np.random.default_rng(seed)
    scale = s.std(0, keepdims=True)
    cu = unit_rows(c)
    out = {}
    for level in noise:
        noisy = s + level * scale * rng.normal(size=s.shape)
        hit = (unit_rows(noisy) @ cu.T).argmax(1) == np.arange(len(s))
        out[float(level)] = float(hit.mean())
    return out


def neighbour_words(x_train, y_train, x_test, y_test) -> dict[str, float]:
    """Guess a test sentence's words as those of its nearest training sentence (cosine); precision/recall/F1."""
    sim = unit_rows(x_test) @ unit_rows(x_train).T
    guess = np.asarray(y_train)[sim.argmax(1)]
    return prf(guess, y_test)


# ----------------------------------------------------------------------------- exercise check


def check_leakier(answer, results: dict, layer: int | None = None) -> CheckResult:
    """Check a guess of which pooling lets the probe recover more words (higher F1) at ``layer``; never raises."""
    if unanswered(answer):
        return CheckResult(None, "Not answered yet: replace the ... with 'cls' or 'mean'.")
    guess = str(answer).strip().lower()
    if guess not in results:
        return CheckResult(False, f"Not quite: answer with one of {sorted(results)}, got {answer!r}.")
    layer = max(results[guess]) if layer is None else layer
    f1 = {p: per[layer]["f1"] for p, per in results.items()}
    best = max(f1, key=f1.get)
    details = {"layer": layer, "f1": f1, "best": best}
    table = ", ".join(f"{p} F1 {v:.3f}" for p, v in f1.items())
    if guess == best:
        return CheckResult(True, f"Right: at layer {layer} {best} gives away more words ({table}).", details)
    return CheckResult(False, f"Not quite: at layer {layer} {best} gives away more words ({table}).", details)


#: An F1 gap over the baseline smaller than this is called "by a hair" in check_beats_baseline's message.
SMALL_F1_GAP = 0.01


def check_beats_baseline(answer, results: dict, baseline: dict, pooling: str = "cls",
                         layer: int | None = None) -> CheckResult:
    """Check a True/False guess: does ``pooling``'s probe at ``layer`` beat the frequent-words baseline (higher F1)?

    Args:
        answer: True or False; ``...``/None = not answered.
        results: ``inversion_by_layer`` output, pooling -> layer -> {"precision", "recall", "f1"}.
        baseline: ``frequent_words_baseline`` output.
        pooling: which vector the question is about.
        layer: which layer; default the last one probed.

    The verdict is the plain comparison of the two F1 values; a gap under ``SMALL_F1_GAP`` is flagged as too
    small to show word identity.
    """
    if unanswered(answer):
        return CheckResult(None, "Not answered yet: replace the ... with True or False.")
    if not isinstance(answer, (bool, np.bool_)):
        return CheckResult(False, f"Not quite: answer True or False, not {answer!r}.")
    if pooling not in results:
        return CheckResult(False, f"Not quite: {pooling!r} was not probed; the results hold {sorted(results)}.")
    layer = max(results[pooling]) if layer is None else layer
    if layer not in results[pooling]:
        return CheckResult(False, f"Not quite: layer {layer} was not probed; the results hold "
                                  f"{sorted(results[pooling])}.")
    probe_f1, base_f1 = float(results[pooling][layer]["f1"]), float(baseline["f1"])
    truth = probe_f1 > base_f1
    details = {"layer": layer, "probe_f1": probe_f1, "baseline_f1": base_f1, "beats": truth}
    numbers = f"{pooling} probe F1 {probe_f1:.3f} vs frequent-words baseline F1 {base_f1:.3f} at layer {layer}"
    if bool(answer) == truth:
        if not truth:
            meaning = "so a guess of the common words does as well as reading this vector"
        elif probe_f1 - base_f1 < SMALL_F1_GAP:
            meaning = ("but only by a hair: a probe can edge past the baseline just by guessing a different number "
                       "of the common words, so only a clear gap shows that the vector holds the sentence's words")
        else:
            meaning = "so the vector holds word identity beyond 'which words are common'"
        return CheckResult(True, f"Right: {numbers}, {meaning}.", details)
    return CheckResult(False, f"Not quite: {numbers}. Compare the F1 in the table's row for layer {layer} with the "
                              f"baseline's line above it.", details)
