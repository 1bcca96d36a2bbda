"""Reading a sentence back from its vector: content words, the bag-of-words inversion probe, its baseline, error
bars over train/test splits, and nearest-neighbour recovery.

Notebook 07 teaches these; notebook 09 quotes their verdict. The published attacks they are compared with are in
:mod:`helpers.core.references` (``song2020_inversion``, ``vec2text_exact``). Shapes: N = sentences, H = width,
V = vocabulary words the probe predicts, L = layers (L+1 hidden states, 0 = embeddings).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .linear import one_blas_thread
from .stats import Estimate, unit_rows

_WORD = re.compile(r"[a-z][a-z']*[a-z]|[a-z]")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})

#: Endings of contractions and possessives ("it's", "we're", "i'd", "director's"): the stem before them is
#: kept and then filtered like any word, so "director's" counts as "director" and "it's" (stem "it", a stop
#: word) disappears. A word with "n't" ("don't", "wasn't", "can't") is a negated auxiliary and is dropped.
CLITICS: tuple[str, ...] = ("'s", "'re", "'ve", "'ll", "'d", "'m")

#: Words that scikit-learn's English stop-word list lets through but that name nothing a sentence is about:
#: discourse fillers and hedges ("like", "just", "really"), intensifiers, and light verbs and nouns that
#: go with any topic ("make", "get", "way", "thing"). A probe that "recovers" them recovers the register,
#: not the content.
FILLER_WORDS: frozenset[str] = frozenset(
    """like just really actually simply pretty quite basically literally totally truly definitely certainly
    maybe probably perhaps oh ok okay yeah yes hey um uh lot lots bit thing things stuff way kind sort
    let lets get gets getting got gotten make makes making say says said going gonna""".split()
)


def _stem(word: str) -> str | None:
    """The word without a contraction or possessive ending; None for a negated auxiliary ("don't")."""
    if "n't" in word:
        return None
    for ending in CLITICS:
        if word.endswith(ending) and len(word) > len(ending):
            return word[: -len(ending)]
    return word.strip("'")


def _words(text: str) -> list[tuple[str, str | None]]:
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__} ({text!r}).")
    return [(raw, _stem(raw)) for raw in _WORD.findall(text.lower().translate(_APOSTROPHES))]


def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return ENGLISH_STOP_WORDS


def content_words(text: str) -> list[str]:
    """Lower-cased content words of ``text``, in order, each once.

    Left out: English stop words (scikit-learn's list), one-letter words, negated auxiliaries ("don't"),
    and :data:`FILLER_WORDS`; contraction and possessive endings (:data:`CLITICS`) are cut off first, so
    "it's" goes (as "it") and "director's" counts as "director".
    """
    stop = _stop_words()
    words = [w for _, w in _words(text) if w and len(w) > 1 and w not in stop and w not in FILLER_WORDS]
    return list(dict.fromkeys(words))


def left_out_words(texts: Sequence[str]) -> Counter:
    """How often each word is left out as a contraction or a filler (not as a plain stop word), over ``texts``.

    Counts one per sentence, as the vocabulary does: the words a naive "not a stop word" rule would have
    made content words.
    """
    stop = _stop_words()
    found: Counter = Counter()
    for text in texts:
        dropped = set()
        for raw, w in _words(text):
            if len(raw) < 2 or raw in stop:
                continue  # an ordinary stop word or a letter: not what this rule adds
            if w is None or len(w) < 2 or w in stop or w in FILLER_WORDS:
                dropped.add(raw)
        found.update(dropped)
    return found


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
    with one_blas_thread():
        for p in poolings:
            xa, xb = np.asarray(train[p]), np.asarray(test[p])
            todo = layers if layers is not None else range(xa.shape[0])
            out[p] = {}
            for layer in todo:
                probe = fit_inversion_probe(xa[layer], y_train)
                out[p][layer] = {**prf(probe.predict(xb[layer]), y_test), "alpha": probe.alpha}
    return out


def split_indices(n: int, seed: int = 0, train_share: float = 0.75) -> tuple[np.ndarray, np.ndarray]:
    """A random train/test split of ``n`` sentences: (train indices, test indices), each sorted.

    Seed 0 is the split the notebook's main table uses; other seeds give the error bars.
    """
    if not isinstance(n, (int, np.integer)) or n < 4:
        raise ValueError(f"n must be an integer of at least 4 sentences, got {n!r}.")
    if not 0 < train_share < 1:
        raise ValueError(f"train_share must lie strictly between 0 and 1, got {train_share!r}.")
    order = np.random.default_rng(seed).permutation(int(n))
    cut = int(train_share * n)
    return np.sort(order[:cut]), np.sort(order[cut:])


@dataclass
class SplitStudy:
    """The inversion probe repeated over several random train/test splits (one value per split = per seed).

    Attributes:
        seeds: the split seeds, in order (seed 0 = the notebook's main split).
        scores: metric ("precision", "recall", "f1") -> pooling -> layer -> Estimate over the splits.
        baseline: metric -> Estimate of the frequent-words baseline over the same splits.
        vocab_sizes: the vocabulary size of each split (built from its training sentences).
        n_train / n_test: sentences per split.
    """

    seeds: list[int]
    scores: dict[str, dict[str, dict[int, Estimate]]]
    baseline: dict[str, Estimate]
    vocab_sizes: list[int] = field(default_factory=list)
    n_train: int = 0
    n_test: int = 0

    @property
    def f1(self) -> dict[str, dict[int, Estimate]]:
        """pooling -> layer -> Estimate of the test F1 over the splits."""
        return self.scores["f1"]

    @property
    def poolings(self) -> list[str]:
        return list(self.f1)

    @property
    def layers(self) -> list[int]:
        return sorted(next(iter(self.f1.values())))


def inversion_over_splits(features: dict, texts: Sequence[str], seeds: Sequence[int] = (0, 1, 2, 3, 4), *,
                          min_count: int = 3, train_share: float = 0.75, poolings: Sequence[str] = ("cls", "mean"),
                          layers: Sequence[int] | None = None) -> SplitStudy:
    """Rebuild vocabulary, baseline and probes on each seed's train/test split (:func:`split_indices`).

    Args:
        features: pooling -> (L+1,N,H) vectors of ``texts``.
        texts: the N sentences.
        seeds: one split per seed; the spread over them is the error bar (it holds both the test sample's
            noise and the training sample's).
        min_count: a vocabulary word occurs in at least this many training sentences.

    Returns:
        SplitStudy with an Estimate per metric, pooling and layer, paired by seed with the baseline's.
    """
    texts = list(texts)
    if not seeds:
        raise ValueError("seeds is empty: give at least one split seed, e.g. seeds=(0, 1, 2).")
    for p in poolings:
        if p not in features:
            raise ValueError(f"Pooling {p!r} is missing from the features; computed: {list(features)}.")
        if np.asarray(features[p]).shape[1] != len(texts):
            raise ValueError(f"features[{p!r}] holds {np.asarray(features[p]).shape[1]} sentences but there are "
                             f"{len(texts)} texts: give the vectors of exactly these texts.")
    metrics = ("precision", "recall", "f1")
    runs: dict = {m: {} for m in metrics}
    base: dict = {m: [] for m in metrics}
    sizes, n_split = [], (0, 0)
    for seed in seeds:
        tr, te = split_indices(len(texts), seed, train_share)
        vocab = build_vocabulary([texts[i] for i in tr], min_count=min_count)
        y = bag_of_words(texts, vocab)
        b = frequent_words_baseline(y[tr], y[te])
        res = inversion_by_layer({p: np.asarray(features[p])[:, tr] for p in poolings}, y[tr],
                                 {p: np.asarray(features[p])[:, te] for p in poolings}, y[te], poolings, layers)
        for m in metrics:
            base[m].append(b[m])
            for p, per in res.items():
                for layer, r in per.items():
                    runs[m].setdefault(p, {}).setdefault(layer, []).append(r[m])
        sizes.append(len(vocab))
        n_split = (len(tr), len(te))
    scores = {m: {p: {layer: Estimate(v, f"{p} {m}, layer {layer}") for layer, v in per.items()}
                  for p, per in runs[m].items()} for m in metrics}
    baseline = {m: Estimate(v, f"baseline {m}") for m, v in base.items()}
    return SplitStudy([int(s) for s in seeds], scores, baseline, sizes, *n_split)


def split_difference(a: Estimate, b: Estimate) -> Estimate:
    """Per-split differences a - b of two estimates measured on the same train/test splits (same seeds, same order).

    Micro F1 over (sentence, word) pairs is not a mean of per-sentence scores, so the core's paired bootstrap over
    sentences (:func:`helpers.core.stats.paired_difference`) does not apply; pairing by split does.
    """
    if a.n != b.n:
        raise ValueError(f"Paired estimates need one value per seed on both sides, got {a.n} and {b.n}.")
    return Estimate(a.values - b.values, f"{a.name} - {b.name}" if a.name and b.name else "")


def split_verdict(a: Estimate, b: Estimate, level: float = 0.95) -> str:
    """"higher", "lower" or "indistinguishable" (the core's words): ``a`` against ``b`` over the same splits.

    "higher" when the whole ``level`` confidence interval of the per-seed differences lies above 0, "lower" when it
    lies below 0, else "indistinguishable". With a single seed the interval is a point: any difference counts.
    """
    lo, hi = split_difference(a, b).ci(level)
    if lo > 0:
        return "higher"
    if hi < 0:
        return "lower"
    return "indistinguishable"



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
