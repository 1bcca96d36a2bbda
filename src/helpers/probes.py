"""Linear probes with seeds and error bars: how much of a label can a linear model read from vectors?"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np


@dataclass
class ProbeResult:
    """Accuracy of a linear probe over several seeds.

    Attributes:
        name: what was probed (e.g. "[CLS] layer 6").
        accuracies: (S,) test accuracy per seed.
        chance: accuracy of always predicting the most frequent training label.
        n_train / n_test: sizes of one split.
    """

    name: str
    accuracies: np.ndarray
    chance: float
    n_train: int
    n_test: int
    extra: dict = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def std(self) -> float:
        return float(np.std(self.accuracies, ddof=1)) if len(self.accuracies) > 1 else 0.0

    def __str__(self) -> str:
        label = f"{self.name}: " if self.name else ""
        return (
            f"{label}{self.mean:.3f} ± {self.std:.3f} accuracy over {len(self.accuracies)} seed(s) "
            f"(chance {self.chance:.3f}; {self.n_train} train / {self.n_test} test)"
        )


def _as_xy(features, labels) -> tuple[np.ndarray, np.ndarray]:
    x = features.detach().cpu().numpy() if hasattr(features, "detach") else np.asarray(features)
    y = np.asarray(labels)
    if x.ndim != 2:
        raise ValueError(f"features must be 2-D (sentences, hidden), got shape {x.shape}.")
    if len(x) != len(y):
        raise ValueError(f"features has {len(x)} rows but labels has {len(y)}: give one label per row.")
    if len(np.unique(y)) < 2:
        raise ValueError("labels hold a single class: a probe needs at least two.")
    return x.astype(np.float64), y


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
    """Fit a standardised logistic regression per seed and report test accuracy.

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
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = _as_xy(features, labels)
    fixed = test_features is not None
    if fixed:
        xt, yt = _as_xy(test_features, test_labels)
        if xt.shape[1] != x.shape[1]:
            raise ValueError(f"test features have width {xt.shape[1]} but training features {x.shape[1]}.")
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed.")
    accs, chance, sizes = [], [], (0, 0)
    for seed in seeds:
        if fixed:
            if train_fraction < 1.0:
                xa, _, ya, _ = train_test_split(x, y, train_size=train_fraction, stratify=y, random_state=seed)
            else:
                xa, ya = x, y
            xb, yb = xt, yt
        else:
            xa, xb, ya, yb = train_test_split(x, y, test_size=test_size, stratify=y, random_state=seed)
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
        clf.fit(xa, ya)
        accs.append(float((clf.predict(xb) == yb).mean()))
        values, counts = np.unique(ya, return_counts=True)
        chance.append(float((yb == values[np.argmax(counts)]).mean()))
        sizes = (len(ya), len(yb))
    return ProbeResult(name, np.array(accs), float(np.mean(chance)), sizes[0], sizes[1])
