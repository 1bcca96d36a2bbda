"""Notebook 05's sentence classifier: the course's logistic regression on sentence vectors, made honest.

A grid over C (cross-validated on the training rows only), test accuracy over seeds (an Estimate),
a dummy baseline, the confusion matrix and the sentences it gets wrong with the most confidence.
Every fit goes through :mod:`helpers.core.linear`. Shapes: N = sentences, H = width, K = classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ...core.linear import DEFAULT_CS, ProbeResult, check_xy, dummy_baseline, grid_search_C, linear_probe, probe_pipeline

WIDE_CS: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0)
"""The grid over C that notebook 05 searches: the course's DEFAULT_CS widened by one decade at each end.

With DEFAULT_CS the C chosen on the embedded model's reviews was the grid's smallest value, so the best C
could have lain below it; with one more decade on each side the chosen C has tried values on both sides.
:meth:`ClassifyResult.edge` says, for any model, whether the chosen C still sits at an end.
"""


@dataclass
class ClassifyResult:
    """A logistic regression on sentence vectors, with its baseline and errors.

    Attributes:
        grid: C -> cross-validated training accuracy; best_C the chosen one.
        accuracy: test accuracy of the model fitted on all training rows with best_C.
        per_seed: test accuracy per seed (each seed trains on its own 90% of the rows), a ProbeResult
            (an Estimate: ``.mean``, ``.std``, ``.n``, ``.ci()``).
        dummy: test accuracy of always predicting the most frequent training label.
        confusion: (K,K) counts, rows = true label, columns = predicted.
        predictions / probabilities: (N_test,) predicted labels and the probability of the prediction.
    """

    grid: dict
    best_C: float
    accuracy: float
    per_seed: ProbeResult
    dummy: float
    confusion: np.ndarray
    predictions: np.ndarray
    probabilities: np.ndarray
    label_names: list = field(default_factory=list)

    @property
    def edge(self) -> str | None:
        """"smallest" or "largest" when best_C is that end of the grid, "only" for a one-value grid, else None."""
        return grid_edge(self.grid, self.best_C)

    def edge_note(self) -> str:
        """One line: whether the chosen C lies inside the grid, or a warning when it sits at an end."""
        return edge_note(self.grid, self.best_C)

    def __str__(self) -> str:
        grid = ", ".join(f"C={c:g}: {a:.3f}" for c, a in self.grid.items())
        return (
            f"grid search (cross-validated on train): {grid}  -> best C={self.best_C:g}\n"
            f"test accuracy {self.accuracy:.3f}; over {self.per_seed.n} seeds "
            f"{self.per_seed.mean:.3f} ± {self.per_seed.std:.3f}; dummy baseline {self.dummy:.3f}"
        )


def grid_edge(grid: dict, best: float) -> str | None:
    """Where ``best`` sits in the grid of Cs: "smallest", "largest", "only" (a one-value grid) or None (inside).

    Args:
        grid: C -> cross-validated accuracy (``grid_search_C``); best: the chosen C, one of the grid's keys.
    """
    if best not in grid:
        raise ValueError(f"best C={best!r} is not one of the grid's Cs {sorted(grid)}: pass the C that was chosen.")
    cs = sorted(grid)
    if len(cs) == 1:
        return "only"
    if best == cs[0]:
        return "smallest"
    if best == cs[-1]:
        return "largest"
    return None


def edge_note(grid: dict, best: float) -> str:
    """A printable line: the chosen C lies inside the grid, or a warning that it sits at an end (see :func:`grid_edge`)."""
    where = grid_edge(grid, best)
    cs = sorted(grid)
    span = f"{cs[0]:g} ... {cs[-1]:g}"
    if where is None:
        below = max(c for c in cs if c < best)
        above = min(c for c in cs if c > best)
        return (f"C at the edge of the grid? no: the chosen C={best:g} lies inside the grid ({span}), with "
                f"C={below:g} ({grid[below]:.3f}) below it and C={above:g} ({grid[above]:.3f}) above it.")
    if where == "only":
        return f"Warning: only C={best:g} was tried, so nothing says it is a good choice: pass several Cs."
    beyond = "below" if where == "smallest" else "above"
    return (f"Warning: C at the edge of the grid: the chosen C={best:g} is the {where} value tried ({span}), "
            f"so the best C may lie {beyond} it: widen the grid (Cs=...) before trusting this accuracy.")


def classify(x_train, y_train, x_test, y_test, *, Cs: Sequence[float] = WIDE_CS,
             seeds: Sequence[int] = (0, 1, 2, 3, 4), label_names: Sequence[str] | None = None) -> ClassifyResult:
    """Grid-search C on the training rows, then report test accuracy with seeds, a dummy baseline and errors.

    Args:
        x_train / x_test: (N,H) sentence vectors; y_train / y_test: (N,) int labels.
        Cs: the inverse regularisation strengths to try (cross-validated on the training rows).
        seeds: one fit per seed, each on its own 90% of the training rows; the spread is the error bar.
        label_names: one name per class (default: the class numbers).

    Raises:
        ValueError: features that are not (N,H), a label count that does not match, widths that differ, no seeds.
    """
    from sklearn.metrics import confusion_matrix

    xa, ya = check_xy(x_train, y_train, "training")
    xb, yb = check_xy(x_test, y_test, "test")
    if xa.shape[1] != xb.shape[1]:
        raise ValueError(f"test features have width {xb.shape[1]} but training features {xa.shape[1]}.")
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed.")
    grid = grid_search_C(xa, ya, Cs, seed=seeds[0])
    best = max(grid, key=lambda c: (grid[c], -c))
    clf = probe_pipeline(best, seeds[0]).fit(xa, ya)
    pred = clf.predict(xb)
    proba = clf.predict_proba(xb).max(1)
    per_seed = linear_probe(xa, ya, xb, yb, seeds=seeds, C=best, name=f"logistic regression, C={best:g}")
    labels = np.arange(max(ya.max(), yb.max()) + 1)
    names = list(label_names) if label_names is not None else [str(c) for c in labels]
    if len(names) < len(labels):
        raise ValueError(f"label_names has {len(names)} names but the labels go up to {labels[-1]}: "
                         "give one name per class.")
    return ClassifyResult(grid, best, float((pred == yb).mean()), per_seed, dummy_baseline(ya, yb),
                          confusion_matrix(yb, pred, labels=labels), pred, proba, names)


def misclassified(result: ClassifyResult, texts: Sequence[str], y_test, n: int = 5, **columns) -> list[dict]:
    """The ``n`` test sentences the classifier got wrong with the most confidence.

    Args:
        result: what classify() returned for this test set.
        texts / y_test: the test sentences and their labels, in the order classify() saw them.
        columns: extra per-sentence columns to copy into each row (e.g. ``kind=test.columns["kind"]``).
    """
    y = np.asarray(y_test)
    if len(texts) != len(y) or len(y) != len(result.predictions):
        raise ValueError("texts, y_test and the result's predictions must have the same length (the test set).")
    wrong = np.flatnonzero(result.predictions != y)
    wrong = wrong[np.argsort(-result.probabilities[wrong], kind="stable")][:n]
    rows = []
    for i in wrong:
        row = {"text": texts[i], "true": result.label_names[y[i]], "predicted": result.label_names[result.predictions[i]],
               "confidence": float(result.probabilities[i])}
        row.update({k: v[i] for k, v in columns.items()})
        rows.append(row)
    return rows
