"""From sentence vectors to a classifier, and fine-tuning with a [CLS] head vs a mean-pooling head.

Shapes: N = sentences, H = width, L = layers, A = heads, T = tokens.
"""

from __future__ import annotations

import copy
import dataclasses
import string
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from ..core.models import LoadedModel
from ..core.linear import linear_probe

DEFAULT_CS = (0.01, 0.1, 1.0, 10.0)


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _check_xy(x, y, what: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = _np(x).astype(np.float64), np.asarray(y)
    if x.ndim != 2:
        raise ValueError(f"{what} features must be 2-D (sentences, hidden), got shape {x.shape}.")
    if len(x) != len(y):
        raise ValueError(f"{what} features have {len(x)} rows but {len(y)} labels: give one label per row.")
    return x, y


# ----------------------------------------------------------------------------- logistic regression


def _pipeline(C: float, seed: int = 0):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000, random_state=seed))


def dummy_baseline(y_train, y_test, strategy: str = "most_frequent", seed: int = 0) -> float:
    """Accuracy on ``y_test`` of sklearn's DummyClassifier (it never looks at the features)."""
    from sklearn.dummy import DummyClassifier

    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    clf = DummyClassifier(strategy=strategy, random_state=seed).fit(np.zeros((len(y_train), 1)), y_train)
    return float((clf.predict(np.zeros((len(y_test), 1))) == y_test).mean())


def grid_search_C(x, y, Cs: Sequence[float] = DEFAULT_CS, folds: int = 5, seed: int = 0) -> dict[float, float]:
    """Mean cross-validated accuracy on the TRAINING data for each C (the test set is never used)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    x, y = _check_xy(x, y, "training")
    if not Cs or any(c <= 0 for c in Cs):
        raise ValueError(f"Cs must be positive numbers, got {Cs!r}.")
    folds = max(2, min(folds, int(np.bincount(y).min())))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return {float(c): float(cross_val_score(_pipeline(c, seed), x, y, cv=cv).mean()) for c in Cs}


@dataclass
class ClassifyResult:
    """A logistic regression on sentence vectors, with its baseline and errors.

    Attributes:
        grid: C -> cross-validated training accuracy; best_C the chosen one.
        accuracy: test accuracy of the model fitted on all training rows with best_C.
        seed_accuracies: (S,) test accuracy per seed (each seed trains on its own 90% of the rows).
        dummy: test accuracy of always predicting the most frequent training label.
        confusion: (K,K) counts, rows = true label, columns = predicted.
        predictions / probabilities: (N_test,) predicted labels and the probability of the prediction.
    """

    grid: dict
    best_C: float
    accuracy: float
    seed_accuracies: np.ndarray
    dummy: float
    confusion: np.ndarray
    predictions: np.ndarray
    probabilities: np.ndarray
    label_names: list = field(default_factory=list)

    @property
    def mean(self) -> float:
        return float(np.mean(self.seed_accuracies))

    @property
    def std(self) -> float:
        return float(np.std(self.seed_accuracies, ddof=1)) if len(self.seed_accuracies) > 1 else 0.0

    def __str__(self) -> str:
        grid = ", ".join(f"C={c:g}: {a:.3f}" for c, a in self.grid.items())
        return (
            f"grid search (cross-validated on train): {grid}  -> best C={self.best_C:g}\n"
            f"test accuracy {self.accuracy:.3f}; over {len(self.seed_accuracies)} seeds "
            f"{self.mean:.3f} ± {self.std:.3f}; dummy baseline {self.dummy:.3f}"
        )


def classify(x_train, y_train, x_test, y_test, *, Cs: Sequence[float] = DEFAULT_CS,
             seeds: Sequence[int] = (0, 1, 2, 3, 4), label_names: Sequence[str] | None = None) -> ClassifyResult:
    """Grid-search C on the training rows, then report test accuracy with seeds, a dummy baseline and errors.

    Args:
        x_train / x_test: (N,H) sentence vectors; y_train / y_test: (N,) int labels.
    """
    from sklearn.metrics import confusion_matrix

    xa, ya = _check_xy(x_train, y_train, "training")
    xb, yb = _check_xy(x_test, y_test, "test")
    if xa.shape[1] != xb.shape[1]:
        raise ValueError(f"test features have width {xb.shape[1]} but training features {xa.shape[1]}.")
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed.")
    grid = grid_search_C(xa, ya, Cs, seed=seeds[0])
    best = max(grid, key=lambda c: (grid[c], -c))
    clf = _pipeline(best, seeds[0]).fit(xa, ya)
    pred = clf.predict(xb)
    proba = clf.predict_proba(xb).max(1)
    per_seed = linear_probe(xa, ya, xb, yb, seeds=seeds, C=best).accuracies
    labels = np.arange(max(ya.max(), yb.max()) + 1)
    names = list(label_names) if label_names is not None else [str(c) for c in labels]
    return ClassifyResult(grid, best, float((pred == yb).mean()), per_seed, dummy_baseline(ya, yb),
                          confusion_matrix(yb, pred, labels=labels), pred, proba, names)


def misclassified(result: ClassifyResult, texts: Sequence[str], y_test, n: int = 5, **columns) -> list[dict]:
    """The ``n`` test sentences the classifier got wrong with the most confidence."""
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


def draw_confusion(confusion, label_names: Sequence[str], title: str = "confusion matrix (test)"):
    """A Figure of a (K,K) confusion matrix with counts in the cells."""
    import matplotlib.pyplot as plt

    cm = np.asarray(confusion)
    fig, ax = plt.subplots(figsize=(3.4, 3.0), dpi=90)
    ax.imshow(cm, cmap="Blues")
    for (r, c), v in np.ndenumerate(cm):
        ax.text(c, r, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black")
    ax.set_xticks(range(len(label_names)), label_names)
    ax.set_yticks(range(len(label_names)), label_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- attention and [CLS]

CATEGORIES = ("[CLS]", "[SEP]", "punctuation", "words")


def _categories(lm: LoadedModel, tokens: Sequence[str]) -> np.ndarray:
    cls_tok, sep_tok = lm.tokenizer.cls_token, lm.tokenizer.sep_token
    cat = []
    for tok in tokens:
        if tok == cls_tok:
            cat.append(0)
        elif tok == sep_tok:
            cat.append(1)
        elif tok and all(ch in string.punctuation for ch in tok):
            cat.append(2)
        else:
            cat.append(3)
    return np.array(cat)


def cls_attention(lm: LoadedModel, texts: Sequence[str], batch_size: int = 32) -> dict:
    """What [CLS] attends to, and how much attention [CLS] receives, per layer (computed from encode()).

    Returns:
        dict with
          "from_cls": (L,4) share of the [CLS] query's attention going to [CLS], [SEP], punctuation, words
                      (mean over heads and sentences);
          "to_cls": (L,) mean attention that the real tokens (other than [CLS]) pay to [CLS];
          "cls_row": (L,T0) head-averaged attention from [CLS] over the first sentence's tokens;
          "tokens": the first sentence's tokens.
    """
    from ..core.cube import encode

    cube = encode(lm, list(texts), hidden_states=False, attentions=True, batch_size=batch_size)
    att = cube.attentions.numpy()  # (L,B,A,T,T)
    n_layers, b = att.shape[0], att.shape[1]
    from_cls = np.zeros((n_layers, len(CATEGORIES)))
    to_cls = np.zeros(n_layers)
    for row in range(b):
        toks = cube.tokens[row]
        n = len(toks)
        cat = _categories(lm, toks)
        q = att[:, row, :, 0, :n].mean(1)  # (L,n) [CLS] query, head-averaged
        for c in range(len(CATEGORIES)):
            from_cls[:, c] += q[:, cat == c].sum(1)
        to_cls += att[:, row, :, 1:n, 0].mean(axis=(1, 2))
    n0 = len(cube.tokens[0])
    return {"from_cls": from_cls / b, "to_cls": to_cls / b, "cls_row": att[:, 0, :, 0, :n0].mean(1),
            "tokens": cube.tokens[0], "categories": CATEGORIES}


def draw_cls_attention(before: dict, after: dict, label_after: str = "fine-tuned"):
    """Figure: share of [CLS]'s attention on words per layer, attention paid to [CLS], and one sentence's row."""
    import matplotlib.pyplot as plt

    layers = np.arange(1, len(before["to_cls"]) + 1)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), dpi=80)
    for res, style, name in ((before, "o-", "frozen"), (after, "s--", label_after)):
        axes[0].plot(layers, res["from_cls"][:, 3], style, label=f"{name}: to words")
        axes[0].plot(layers, res["from_cls"][:, 1], style, alpha=0.5, label=f"{name}: to [SEP]")
        axes[1].plot(layers, res["to_cls"], style, label=name)
    axes[0].set(title="where [CLS] looks (share of its attention)", xlabel="layer", ylim=(0, 1))
    axes[1].set(title="attention the other tokens pay to [CLS]", xlabel="layer")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    toks = before["tokens"]
    x = np.arange(len(toks))
    axes[2].bar(x - 0.2, before["cls_row"][-1], 0.4, label="frozen")
    axes[2].bar(x + 0.2, after["cls_row"][-1], 0.4, label=label_after)
    axes[2].set_xticks(x, toks, rotation=70, fontsize=7)
    axes[2].set_title("last layer: [CLS]'s attention over one sentence", fontsize=9)
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    return fig
