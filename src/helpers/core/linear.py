"""The course's one linear probe: a standardised logistic regression on sentence vectors.

Every notebook that asks "how much of a label can a linear model read from these vectors?" uses
:func:`probe_pipeline` (through :func:`linear_probe`, :func:`grid_search_C` or :func:`fit_probe`),
so the same vectors always give the same accuracy. Shapes: N = sentences, H = width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .stats import Estimate, as_numpy

#: The inverse regularisation strengths a grid search tries by default.
DEFAULT_CS = (0.01, 0.1, 1.0, 10.0)


def one_blas_thread():
    """A context in which BLAS uses one thread: small logistic regressions run faster so, above all on a busy
    machine where several threads fight for the cores (the fits' results do not depend on it)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def probe_pipeline(C: float = 1.0, seed: int = 0, max_iter: int = 2000):
    """An unfitted scikit-learn pipeline: StandardScaler, then LogisticRegression(C)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter, random_state=seed))


def check_xy(features, labels, what: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Features as a float64 (N,H) array and labels as (N,); clear errors for the usual mistakes."""
    x = as_numpy(features)
    y = np.asarray(labels)
    prefix = f"{what} " if what else ""
    if x.ndim != 2:
        raise ValueError(f"{prefix}features must be 2-D (sentences, hidden), got shape {x.shape}.")
    if len(x) != len(y):
        raise ValueError(f"{prefix}features have {len(x)} rows but {len(y)} labels: give one label per row.")
    return x, y


def _two_classes(y: np.ndarray) -> None:
    if len(np.unique(y)) < 2:
        raise ValueError("labels hold a single class: a probe needs at least two.")


@dataclass
class ProbeResult(Estimate):
    """Test accuracy of a linear probe over several seeds (an :class:`Estimate` of accuracy).

    Attributes:
        values: (S,) test accuracy per seed (also as ``accuracies``).
        chance: accuracy of always predicting the most frequent training label.
        n_train / n_test: sizes of one split.
        correct: (S, n_test) 1 where the probe of each seed was right on each test sentence, when every seed was
            scored on the same sentences (a fixed test set, or cross-fitting); None otherwise. With it,
            comparisons between probes are paired (:func:`helpers.core.stats.compare_estimates`).
    """

    chance: float = 0.0
    n_train: int = 0
    n_test: int = 0
    correct: np.ndarray | None = None

    @property
    def accuracies(self) -> np.ndarray:
        return self.values

    def __str__(self) -> str:
        label = f"{self.name}: " if self.name else ""
        return (
            f"{label}{self.mean:.3f} ± {self.std:.3f} accuracy over {self.n} seed(s) "
            f"(chance {self.chance:.3f}; {self.n_train} train / {self.n_test} test)"
        )


def fit_probe(features, labels, C: float = 1.0, seed: int = 0):
    """The probe pipeline fitted on all of ``features``; ``.predict``, ``.decision_function`` as scikit-learn's."""
    x, y = check_xy(features, labels)
    _two_classes(y)
    with one_blas_thread():
        return probe_pipeline(C, seed).fit(x, y)


def dummy_baseline(y_train, y_test, strategy: str = "most_frequent", seed: int = 0) -> float:
    """Accuracy on ``y_test`` of scikit-learn's DummyClassifier (it never looks at the features)."""
    from sklearn.dummy import DummyClassifier

    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    clf = DummyClassifier(strategy=strategy, random_state=seed).fit(np.zeros((len(y_train), 1)), y_train)
    return float((clf.predict(np.zeros((len(y_test), 1))) == y_test).mean())


def grid_search_C(x, y, Cs: Sequence[float] = DEFAULT_CS, folds: int = 5, seed: int = 0) -> dict[float, float]:
    """Mean cross-validated accuracy on the TRAINING data for each C (the test set is never used)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    x, y = check_xy(x, y, "training")
    if not Cs or any(c <= 0 for c in Cs):
        raise ValueError(f"Cs must be positive numbers, got {Cs!r}.")
    folds = max(2, min(folds, int(np.bincount(y).min())))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with one_blas_thread():
        return {float(c): float(cross_val_score(probe_pipeline(c, seed), x, y, cv=cv).mean()) for c in Cs}


def linear_probe(
    features,
    labels,
    test_features=None,
    test_labels=None,
    *,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    C: float = 1.0,
    test_size: float = 0.25,
    train_fraction: float = 0.9,
    name: str = "",
    max_iter: int = 2000,
) -> ProbeResult:
    """Fit the probe pipeline per seed and report test accuracy.

    Without test data, each seed draws its own stratified train/test split of ``features``.
    With a fixed test set, each seed trains on its own stratified ``train_fraction`` of the
    training rows, so the spread shows how much the result depends on the training sample.

    Args:
        features: (N,H) array or tensor of sentence vectors.
        labels: (N,) class labels.
        test_features / test_labels: an optional fixed test set.
        seeds: one fit per seed; the spread is the error bar.
        C: inverse regularisation strength of the logistic regression.

    Returns:
        ProbeResult with per-seed accuracies and the majority-class baseline.
    """
    from sklearn.model_selection import train_test_split

    x, y = check_xy(features, labels)
    _two_classes(y)
    fixed = test_features is not None
    if fixed:
        xt, yt = check_xy(test_features, test_labels, "test")
        if xt.shape[1] != x.shape[1]:
            raise ValueError(f"test features have width {xt.shape[1]} but training features {x.shape[1]}.")
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed.")
    accs, chance, sizes, rights = [], [], (0, 0), []
    for seed in seeds:
        if fixed:
            if train_fraction < 1.0:
                xa, _, ya, _ = train_test_split(x, y, train_size=train_fraction, stratify=y, random_state=seed)
            else:
                xa, ya = x, y
            xb, yb = xt, yt
        else:
            xa, xb, ya, yb = train_test_split(x, y, test_size=test_size, stratify=y, random_state=seed)
        with one_blas_thread():
            clf = probe_pipeline(C, seed, max_iter).fit(xa, ya)
        right = clf.predict(xb) == yb
        accs.append(float(right.mean()))
        rights.append(right.astype(float))
        chance.append(dummy_baseline(ya, yb))
        sizes = (len(ya), len(yb))
    return ProbeResult(np.array(accs), name, chance=float(np.mean(chance)), n_train=sizes[0], n_test=sizes[1],
                       correct=np.stack(rights) if fixed else None)


def cross_fit_correct(features, labels, *, folds: int = 5, seeds: Sequence[int] = (0, 1, 2), C: float = 1.0) -> np.ndarray:
    """(S,N) 1 where the probe got sentence i right when i was in the held-out fold, per seed.

    Every labelled sentence is a test sentence exactly once per seed (k-fold cross-fitting), so two
    readouts' probes can be compared on all N sentences with :func:`helpers.core.stats.paired_difference`.
    Each seed shuffles the folds differently (stratified by label).
    """
    from sklearn.model_selection import StratifiedKFold

    x, y = check_xy(features, labels)
    _two_classes(y)
    folds = max(2, min(folds, int(np.bincount(np.unique(y, return_inverse=True)[1]).min())))
    out = np.zeros((len(seeds), len(y)))
    for s, seed in enumerate(seeds):
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
            with one_blas_thread():
                clf = probe_pipeline(C, seed).fit(x[train], y[train])
            out[s, test] = clf.predict(x[test]) == y[test]
    return out


def cross_fit_probe(features, labels, *, folds: int = 5, seeds: Sequence[int] = (0, 1, 2), C: float = 1.0,
                    name: str = "") -> ProbeResult:
    """The cross-fitted probe of ``features`` as a ProbeResult: accuracy per seed over every labelled sentence,
    with its per-sentence results (``.correct``, from :func:`cross_fit_correct`) for paired comparisons."""
    y = np.asarray(labels)
    correct = cross_fit_correct(features, y, folds=folds, seeds=seeds, C=C)
    n = len(y)
    return ProbeResult(correct.mean(1), name, chance=dummy_baseline(y, y), n_train=n - n // folds, n_test=n,
                       correct=correct)
