"""Notebook 07 · compute: the word sets a probe reads back, words from the nearest training sentence, and the
split table.

The content words, the bag-of-words inversion probe, its baseline, the error bars over train/test splits and
nearest-neighbour recovery are the core's (:mod:`helpers.core.inversion`, also read by notebook 09); they are
re-exported here so the notebook's imports stay one line. Shapes: N = sentences, H = width, V = vocabulary words
the probe predicts, L = layers (L+1 hidden states, 0 = embeddings).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ...core.inversion import (  # noqa: F401  (re-exported for the notebook and the lesson's other modules)
    CLITICS,
    FILLER_WORDS,
    InversionProbe,
    SplitStudy,
    bag_of_words,
    build_vocabulary,
    content_words,
    fit_inversion_probe,
    frequent_words_baseline,
    inversion_by_layer,
    inversion_over_splits,
    left_out_words,
    nearest_neighbour_recovery,
    prf,
    split_difference,
    split_indices,
    split_verdict,
)
from ...core.stats import unit_rows


def format_split_table(study: SplitStudy, level: float = 0.95) -> str:
    """A plain-text table: per layer, each pooling's F1 as mean ± std over the splits and its confidence interval."""
    width = 30
    lines = [f"{'layer':>5} | " + " | ".join(f"{p + ' F1: mean ± std [' + f'{level:.0%}' + ' CI]':^{width}}"
                                            for p in study.poolings)]
    for layer in study.layers:
        cells = []
        for p in study.poolings:
            e = study.f1[p][layer]
            lo, hi = e.ci(level)
            cells.append(f"{e.mean:.3f} ± {e.std:.3f} [{lo:.3f}, {hi:.3f}]".center(width))
        lines.append(f"{layer:>5} | " + " | ".join(cells))
    b = study.baseline["f1"]
    lo, hi = b.ci(level)
    lines.append(f"frequent-words baseline F1: {b.mean:.3f} ± {b.std:.3f} [{lo:.3f}, {hi:.3f}]; {len(study.seeds)} "
                 f"splits of {study.n_train} train / {study.n_test} test sentences (vocabulary "
                 f"{min(study.vocab_sizes)}-{max(study.vocab_sizes)} words)")
    return "\n".join(lines)


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


def neighbour_words(x_train, y_train, x_test, y_test) -> dict[str, float]:
    """Guess a test sentence's words as those of its nearest training sentence (cosine); precision/recall/F1."""
    sim = unit_rows(x_test) @ unit_rows(x_train).T
    guess = np.asarray(y_train)[sim.argmax(1)]
    return prf(guess, y_test)


