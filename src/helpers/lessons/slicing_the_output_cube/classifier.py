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

    def __str__(self) -> str:
        grid = ", ".join(f"C={c:g}: {a:.3f}" for c, a in self.grid.items())
        return (
            f"grid search (cross-validated on train): {grid}  -> best C={self.best_C:g}\n"
            f"test accuracy {self.accuracy:.3f}; over {self.per_seed.n} seeds "
            f"{self.per_seed.mean:.3f} ± {self.per_seed.std:.3f}; dummy baseline {self.dummy:.3f}"
        )


def classify(x_train, y_train, x_test, y_test, *, Cs: Sequence[float] = DEFAULT_CS,
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
