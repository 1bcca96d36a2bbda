"""Numbers with their uncertainty, and the similarity measures the course uses.

One estimate type (:class:`Estimate`: per-seed or per-run values with mean, spread and a 95%
confidence interval), one way to compare two estimates, cosine similarity between vectors,
"alikeness" (the mean cosine between different sentences' vectors), and Spearman's rank correlation.
Shapes: N = sentences (rows), H = width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np


def as_numpy(x, dtype=np.float64) -> np.ndarray:
    """A tensor or array-like as a numpy array of ``dtype`` (tensors are detached and moved to the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu()
        x = (x.float() if str(x.dtype) == "torch.bfloat16" else x).numpy()
    return np.asarray(x, dtype=dtype)


# ----------------------------------------------------------------------------- estimates


@dataclass
class Estimate:
    """Values of one quantity over seeds or runs (e.g. a probe's test accuracy per seed).

    Attributes:
        values: (S,) one value per seed or run.
        name: what was measured (for printing).
    """

    values: np.ndarray
    name: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.float64).ravel()
        if self.values.size == 0:
            raise ValueError(f"An estimate needs at least one value{' for ' + self.name if self.name else ''}.")

    @property
    def n(self) -> int:
        """How many seeds or runs."""
        return int(self.values.size)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def std(self) -> float:
        """Sample standard deviation over seeds (0 for a single value)."""
        return float(np.std(self.values, ddof=1)) if self.n > 1 else 0.0

    def _t_interval(self, level: float, scale: float) -> tuple[float, float]:
        """mean ± t(level, n-1) * std * scale; (mean, mean) for a single value."""
        if self.n < 2:
            return (self.mean, self.mean)
        from scipy import stats

        half = float(stats.t.ppf(0.5 + level / 2, self.n - 1)) * self.std * scale
        return (self.mean - half, self.mean + half)

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        """Student-t confidence interval of the mean over seeds; (mean, mean) for a single value."""
        return self._t_interval(level, 1 / math.sqrt(self.n))

    def prediction_interval(self, level: float = 0.95) -> tuple[float, float]:
        """Where ONE more run is expected (Student-t prediction interval: mean ± t * std * sqrt(1 + 1/n));
        (mean, mean) for a single value. A live rerun of one seed is checked against this."""
        return self._t_interval(level, math.sqrt(1 + 1 / self.n))

    def __str__(self) -> str:
        label = f"{self.name}: " if self.name else ""
        return f"{label}{self.mean:.3f} ± {self.std:.3f} over {self.n} seed(s)"


def noise_margin(a: Estimate, b: Estimate, n_test: int | None = None) -> float:
    """How far apart two estimates (accuracies on a test set of ``n_test`` sentences) must be to call them different.

    The larger of: the two seed spreads added, two binomial standard errors of the test set (a test
    set of n sentences cannot resolve much less than that), and 0.01.
    """
    p = min(max((a.mean + b.mean) / 2, 0.0), 1.0)
    n = max(1, n_test if n_test is not None else min(getattr(a, "n_test", 1), getattr(b, "n_test", 1)))
    return max(0.01, a.std + b.std, 2 * math.sqrt(p * (1 - p) / n))


def compare_estimates(a: Estimate, b: Estimate, n_test: int | None = None) -> str:
    """"higher", "lower" or "about the same": ``a`` against ``b``.

    When both carry per-sentence right/wrong on the same sentences (``a.correct``, e.g. probes scored on one test
    set), the word comes from the paired 95% interval of the difference (:func:`difference`); otherwise from
    :func:`noise_margin`.
    """
    paired = difference(a, b)
    if paired is not None:
        return "about the same" if paired.outcome == "indistinguishable" else paired.outcome
    d = a.mean - b.mean
    if abs(d) <= noise_margin(a, b, n_test):
        return "about the same"
    return "higher" if d > 0 else "lower"


def difference(a: Estimate, b: Estimate) -> "PairedDifference | None":
    """``a`` minus ``b`` paired on the same sentences (seeds pooled), when both estimates carry per-sentence
    right/wrong (``.correct``, shape (seeds, N)) over the same N sentences; None otherwise. Remembered per pair."""
    ca, cb = getattr(a, "correct", None), getattr(b, "correct", None)
    if ca is None or cb is None or np.shape(ca)[-1] != np.shape(cb)[-1]:
        return None
    key = ("paired", id(b))
    memo = a.extra.get(key)
    if memo is None or memo[0] is not b:
        memo = (b, paired_difference(ca, cb, names=(a.name or "a", b.name or "b")))
        a.extra[key] = memo
    return memo[1]


# ----------------------------------------------------------------------------- cosine and alikeness


def _rows(vectors, what: str = "vectors") -> np.ndarray:
    x = as_numpy(vectors)
    if x.ndim != 2:
        raise ValueError(f"{what} must be 2-D (N,H), got shape {x.shape}.")
    return x


def unit_rows(vectors) -> np.ndarray:
    """(N,H) -> (N,H) every row scaled to length 1 (zero rows stay zero)."""
    x = _rows(vectors)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def cosine_matrix(vectors) -> np.ndarray:
    """(N,H) -> (N,N) cosine similarity of every pair of rows."""
    u = unit_rows(vectors)
    return u @ u.T


def alikeness(vectors) -> float:
    """The mean cosine similarity between different rows of (N,H): 1.0 means every sentence gets the same direction.

    The diagonal (a vector with itself) is left out.
    """
    u = unit_rows(vectors)
    n = len(u)
    if n < 2:
        raise ValueError(f"alikeness needs at least 2 vectors, got shape {u.shape}.")
    total = float(np.square(u.sum(0)).sum())
    return (total - float(np.square(u).sum())) / (n * (n - 1))


# ----------------------------------------------------------------------------- rank correlation


def rank(values: Sequence[float]) -> np.ndarray:
    """Ranks 1..n with ties given their average rank."""
    x = np.asarray(values, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    for v in np.unique(x):
        tie = x == v
        if tie.sum() > 1:
            ranks[tie] = ranks[tie].mean()
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rank correlation (Pearson correlation of the ranks); NaN when either side is constant."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"spearman needs two 1-D sequences of the same length, got {a.shape} and {b.shape}.")
    if len(a) < 3:
        raise ValueError("spearman needs at least 3 values per side.")
    ra, rb = rank(a) - (len(a) + 1) / 2, rank(b) - (len(b) + 1) / 2
    den = math.sqrt(float((ra**2).sum() * (rb**2).sum()))
    return float((ra * rb).sum() / den) if den > 0 else float("nan")


# ----------------------------------------------------------------------------- paired comparisons


#: Bootstrap resamples for a paired interval; more than enough for a stable 95% interval's third decimal.
N_BOOT = 10_000


def _correctness(values, what: str) -> np.ndarray:
    """(S,N) float per seed and sentence from (N,) or (S,N) booleans / 0-1 values."""
    x = as_numpy(values)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"{what} must be (N,) or (seeds, N) per-sentence scores (1 = right), got shape {x.shape}.")
    return x


@dataclass
class PairedDifference:
    """``a`` minus ``b`` on the same sentences, with a paired-bootstrap confidence interval.

    Attributes:
        a / b: the names compared.
        score_a / score_b: their mean scores (e.g. accuracies), seeds pooled.
        diff: score_a - score_b.
        lo / hi: the interval of the difference at ``level``.
        n: sentences; seeds: runs pooled per sentence.
        p_value: exact McNemar p-value when there is one run each (None otherwise).
    """

    a: str
    b: str
    score_a: float
    score_b: float
    diff: float
    lo: float
    hi: float
    n: int
    seeds: int
    level: float = 0.95
    p_value: float | None = None

    @property
    def half_width(self) -> float:
        """Half the interval's width: the resolution of this comparison."""
        return (self.hi - self.lo) / 2

    @property
    def outcome(self) -> str:
        """"higher", "lower" or "indistinguishable": where the interval lies relative to 0."""
        if self.lo > 0:
            return "higher"
        if self.hi < 0:
            return "lower"
        return "indistinguishable"

    def verdict(self) -> str:
        """The sentence the course prints, worded from the interval."""
        ci = f"[{self.lo:+.3f}, {self.hi:+.3f}]"
        if self.outcome == "indistinguishable":
            return f"{self.a} and {self.b} are indistinguishable: the difference lies within {ci}"
        return f"{self.a} is {self.outcome} than {self.b} by {abs(self.diff):.3f} {ci}"

    def __str__(self) -> str:
        pct = f"{self.level:.0%}"
        return (f"{self.verdict()} ({pct} paired bootstrap over {self.n} sentences"
                f"{f', {self.seeds} seeds pooled' if self.seeds > 1 else ''})")


def paired_difference(scores_a, scores_b, *, names: tuple[str, str] = ("a", "b"), level: float = 0.95,
                      n_boot: int = N_BOOT, seed: int = 0) -> PairedDifference:
    """Paired bootstrap over sentences of mean(score_a - score_b).

    Args:
        scores_a / scores_b: (N,) per-sentence scores (1 = right, 0 = wrong) on the SAME N sentences, or (S,N)
            one row per seed: seeds are pooled by averaging each sentence's score over its seeds first.
        names: how the two are called in the verdict.
        level: the interval's coverage; n_boot: resamples; seed: the resampling seed.

    Returns:
        PairedDifference with the percentile interval (and an exact McNemar p-value for single runs of 0/1 scores).
    """
    a = _correctness(scores_a, "scores_a")
    b = _correctness(scores_b, "scores_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"scores_a covers {a.shape[1]} sentences but scores_b {b.shape[1]}: compare on the same sentences.")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}.")
    d = a.mean(0) - b.mean(0)  # (N,) per-sentence difference, seeds pooled
    n = len(d)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    chunk = max(1, 2_000_000 // n)
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        means[start:stop] = d[rng.integers(0, n, size=(stop - start, n))].mean(1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    p = None
    binary = np.isin(a, (0.0, 1.0)).all() and np.isin(b, (0.0, 1.0)).all()
    if a.shape[0] == 1 and b.shape[0] == 1 and binary:
        p = mcnemar_exact(a[0], b[0])["p_value"]
    return PairedDifference(names[0], names[1], float(a.mean()), float(b.mean()), float(d.mean()), float(lo), float(hi),
                            n, max(a.shape[0], b.shape[0]), level, p)


def bootstrap_mean(values, level: float = 0.95, n_boot: int = N_BOOT, seed: int = 0) -> tuple[float, float, float]:
    """(mean, lo, hi): the mean of ``values`` (one per item, e.g. per sentence pair) with a percentile bootstrap
    interval over the items; (nan, nan, nan) for no values, (v, v, v) for one."""
    x = as_numpy(values).ravel()
    if x.size == 0:
        return (float("nan"),) * 3
    if x.size == 1:
        return (float(x[0]),) * 3
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(x.mean()), float(lo), float(hi)


def seed_and_pair_difference(scores_a, scores_b, *, names: tuple[str, str] = ("a", "b"), level: float = 0.95,
                             n_boot: int = N_BOOT, seed: int = 0) -> PairedDifference:
    """mean(score_a - score_b) with a two-level paired bootstrap: seeds, then sentences, both resampled.

    For runs whose seeds differ in more than the test sample (pretraining from scratch, where one seed can land far
    from the others): row s of ``scores_a`` and of ``scores_b`` are seed s of each, scored on the same N sentences,
    so every resample draws S seeds with replacement and N sentences with replacement and averages a - b over them.
    The interval then holds the seed-to-seed spread as well as the sampling of the sentences.

    Args:
        scores_a / scores_b: (S,N) per seed and sentence (1 = right, 0 = wrong), S >= 2.
    """
    a = _correctness(scores_a, "scores_a")
    b = _correctness(scores_b, "scores_b")
    if a.shape != b.shape:
        raise ValueError(f"scores_a is {a.shape} but scores_b {b.shape}: give the same seeds on the same sentences.")
    if a.shape[0] < 2:
        raise ValueError("seed_and_pair_difference needs at least two seeds; use paired_difference for one.")
    d = a - b  # (S,N)
    s_n, n = d.shape
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    chunk = max(1, 2_000_000 // n)
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        rows = rng.integers(0, s_n, size=(stop - start, s_n))
        cols = rng.integers(0, n, size=(stop - start, n))
        per_seed = np.stack([d[:, c].mean(1) for c in cols])  # (chunk, S): every seed on this resample of sentences
        means[start:stop] = np.take_along_axis(per_seed, rows, 1).mean(1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return PairedDifference(names[0], names[1], float(a.mean()), float(b.mean()), float(d.mean()), float(lo), float(hi),
                            n, s_n, level, None)


def mcnemar_exact(correct_a, correct_b) -> dict[str, float]:
    """Exact McNemar test on paired right/wrong outcomes: a two-sided binomial test on the discordant pairs.

    Returns:
        dict with "a_only" (sentences only ``a`` got right), "b_only", and "p_value".
    """
    from scipy import stats

    a = as_numpy(correct_a).astype(bool).ravel()
    b = as_numpy(correct_b).astype(bool).ravel()
    if a.shape != b.shape:
        raise ValueError(f"correct_a has {a.size} sentences but correct_b {b.size}: compare on the same sentences.")
    a_only, b_only = int((a & ~b).sum()), int((~a & b).sum())
    p = 1.0 if a_only + b_only == 0 else float(stats.binomtest(a_only, a_only + b_only, 0.5).pvalue)
    return {"a_only": a_only, "b_only": b_only, "p_value": p}
