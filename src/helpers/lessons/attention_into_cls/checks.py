"""Notebook 03's "Try it" checks: the layer where all tokens read [CLS] most (a prediction), and one rollout by hand."""

from __future__ import annotations

import numpy as np

from ...core.attention import layer_means, residual_attention, rollout
from ...core.checks import CheckResult as Check
from ...core.checks import unanswered as _unanswered
from ...core.stats import Estimate
from ...core.token_kinds import KIND_LABELS, KINDS

#: The matrices of the hand rollout exercise: two layers, two tokens ([CLS], "good"), heads already averaged.
EXERCISE_LAYERS = np.array([[[0.0, 1.0], [0.0, 1.0]], [[0.5, 0.5], [1.0, 0.0]]])

#: How far a hand-computed rollout number may be from the exact one and still count as right
#: (two decimals: enough to tell the residual-augmented answer from the usual mistakes).
ROLLOUT_TOLERANCE = 0.01


#: Two layers are "within the noise" of each other when the 95% paired interval of their per-sentence
#: difference (``core.stats.Estimate.ci``) contains 0: the sentences measured cannot tell them apart.
PEAK_LEVEL = 0.95


def check_peak_layer(answer, shares: dict[str, np.ndarray], kind: str = "sep", per_sentence=None) -> Check:
    """Is ``answer`` the 1-based layer whose heads, on average, give ``kind`` the largest share?

    Args:
        answer: the reader's layer number.
        shares: kind -> (L,A) shares (``core.attention.cube_shares``).
        kind: one of ``KINDS``.
        per_sentence: optional (B,L) shares of ``kind`` sentence by sentence (``shares_per_sentence(...)[kind]``);
            with it, any layer within the noise of the highest counts as right (see ``PEAK_LEVEL``).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}.")
    means = layer_means(shares)[kind]
    best = int(np.argmax(means)) + 1
    label = KIND_LABELS[kind]
    if per_sentence is not None:
        per_sentence = np.asarray(per_sentence, float)
        if per_sentence.ndim != 2 or per_sentence.shape[1] != len(means):
            raise ValueError(f"per_sentence must be (sentences, {len(means)} layers) for {kind!r}, "
                             f"got shape {per_sentence.shape}; use shares_per_sentence(cube, lm)[{kind!r}].")
    if _unanswered(answer):
        return Check(None, f"Not answered yet: put the layer number (1 to {len(means)}) in the cell above.")
    try:
        guess = int(answer)
    except (TypeError, ValueError):
        return Check(False, f"{answer!r} is not a layer number: give an integer from 1 to {len(means)}.")
    if guess != answer:
        return Check(False, f"{answer!r} is not a whole layer number: give an integer from 1 to {len(means)}.")
    if not 1 <= guess <= len(means):
        return Check(False, f"Layer {guess} does not exist: this model has layers 1 to {len(means)}.")
    if guess == best:
        return Check(True, f"Right: layer {best} gives {label} {means[best - 1]:.0%} of all attention, the most of any layer.",
                     {"best": best})
    if per_sentence is not None:
        diff = Estimate(per_sentence[:, best - 1] - per_sentence[:, guess - 1], name=f"layer {best} - layer {guess}")
        lo, hi = diff.ci(PEAK_LEVEL)
        if lo <= 0:
            return Check(True, f"Right, within the noise: layer {guess} gives {label} {means[guess - 1]:.0%}, the highest "
                               f"(layer {best}) {means[best - 1]:.0%}; over {diff.n} sentences their difference lies in "
                               f"[{lo:+.3f}, {hi:+.3f}], which contains 0.", {"best": best, "interval": (lo, hi)})
        return Check(False, f"Not quite: layer {guess} gives {label} {means[guess - 1]:.0%}; layer {best} gives more "
                            f"({means[best - 1]:.0%}; difference in [{lo:+.3f}, {hi:+.3f}] over {diff.n} sentences). "
                            "Which layers does [CLS] read itself most in, and why would the others read it there too?",
                     {"best": best, "interval": (lo, hi)})
    return Check(False, f"Not quite: layer {guess} gives {label} {means[guess - 1]:.0%}; another layer gives more. "
                        "Read the line for that kind in the figure above and find its highest point.", {"best": best})


def check_rollout_answer(answer) -> Check:
    """Is ``answer`` the [CLS] row of the rollout of EXERCISE_LAYERS after layer 2 (two numbers)?"""
    truth = rollout(EXERCISE_LAYERS, head_axis=False)[-1][0]
    if _unanswered(answer):
        return Check(None, "Not answered yet: write the two numbers [to [CLS], to 'good'] in the cell above.")
    try:
        guess = np.asarray(answer, dtype=float).ravel()
    except (TypeError, ValueError):
        return Check(False, f"{answer!r} is not two numbers: write a list like [0.1, 0.9].")
    if guess.shape != (2,):
        return Check(False, f"Give exactly two numbers (how much of [CLS] comes from [CLS] and from 'good'), got {guess.size}.")
    tol = ROLLOUT_TOLERANCE
    if np.allclose(guess, truth, atol=tol):
        return Check(True, f"Right: {truth.round(4).tolist()}. The residual keeps part of [CLS] in place at every layer.")
    hints = []
    no_residual = rollout(EXERCISE_LAYERS, head_axis=False, residual=False)[-1][0]
    mixed = residual_attention(EXERCISE_LAYERS, False)
    wrong_order = (mixed[0] @ mixed[1])[0]
    if np.allclose(guess, no_residual, atol=tol):
        hints.append("you multiplied the raw attention: first add the identity (the residual) and renormalise each row")
    elif np.allclose(guess, wrong_order, atol=tol):
        hints.append("the order is reversed: the later layer goes on the left, R = Â2 @ Â1")
    elif not np.isclose(guess.sum(), 1.0, atol=tol):
        hints.append(f"your numbers sum to {guess.sum():.3f}, but a rollout row always sums to 1")
    else:
        hints.append("compute Â = (A + I) / 2 for each layer, then Â2 @ Â1, and read row 0")
    return Check(False, "Not quite: " + "; ".join(hints) + ".")
