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

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        """Student-t confidence interval of the mean over seeds; (mean, mean) for a single value."""
        if self.n < 2:
            return (self.mean, self.mean)
        from scipy import stats

        half = float(stats.t.ppf(0.5 + level / 2, self.n - 1)) * self.std / math.sqrt(self.n)
        return (self.mean - half, self.mean + half)

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
    """"higher", "lower" or "about the same": ``a`` against ``b`` (see :func:`noise_margin`)."""
    d = a.mean - b.mean
    if abs(d) <= noise_margin(a, b, n_test):
        return "about the same"
    return "higher" if d > 0 else "lower"


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
