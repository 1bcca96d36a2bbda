"""Notebook 08's "Try it" checks: where the difference moves into [CLS], and which layer's reading is necessary."""

from __future__ import annotations

import numpy as np

from ...core import patching as P
from ...core.checks import CheckResult as Check
from ...core.checks import unanswered as _unanswered
from ...core.stats import paired_difference


def _int(answer, what: str):
    if _unanswered(answer):
        return Check(None, f"Not answered yet: replace ... with {what}.")
    try:
        value = int(answer)
    except (TypeError, ValueError):
        return Check(False, f"Not a whole number: {answer!r}. Give {what}.")
    if value != answer:
        return Check(False, f"{answer!r} is not a whole number. Give {what}.")
    return value


def check_move_layer(answer, tracing: P.Tracing) -> Check:
    """Is ``answer`` the first hidden state (0..L) at which restoring [CLS] restores more than the changed word?"""
    value = _int(answer, f"a hidden state from 0 to {tracing.layers}")
    if isinstance(value, Check):
        return value
    right = P.move_layer(tracing)
    cls, changed = tracing.mean("cls"), tracing.mean("span")
    if not 0 <= value <= tracing.layers:
        return Check(False, f"{value} is not a hidden state of this model: they run from 0 (embeddings) to {tracing.layers}.")
    if value == right:
        return Check(True, f"Right: at hidden state {value} restoring [CLS] brings back {cls[value]:.0%}, the changed "
                           f"word(s) {changed[value]:.0%}; at every earlier one the changed word(s) carry more.",
                     {"move": right})
    hint = ("still carry more than [CLS]" if right is None or value < right else "already carried less than [CLS] earlier")
    return Check(False, f"Not quite: at hidden state {value} restoring [CLS] brings back {cls[value]:.0%} and the changed "
                        f"word(s) {changed[value]:.0%}, so the changed word(s) {hint}. Read the two curves where the "
                        "red one first rises above the blue one.", {"move": right})


def check_knockout_layer(answer, tracing: P.Tracing) -> Check:
    """Is ``answer`` the layer (1..L) whose knockout of every word's edge to [CLS] loses most, or one within the noise
    of it (the 95% paired interval of the two layers' drops over the pairs contains 0 and it loses at least half as
    much)?"""
    value = _int(answer, f"a layer from 1 to {tracing.layers}")
    if isinstance(value, Check):
        return value
    if not 1 <= value <= tracing.layers:
        return Check(False, f"{value} is not a layer of this model: they run from 1 to {tracing.layers}.")
    drops = tracing.knock_words
    best = int(np.argmax(drops.mean(0))) + 1
    d = paired_difference(drops[:, best - 1], drops[:, value - 1], names=(f"layer {best}", f"layer {value}"))
    mean = drops.mean(0)
    if value == best or (d.outcome == "indistinguishable" and mean[value - 1] >= 0.5 * mean[best - 1]):
        return Check(True, f"Right: blocking in layer {value} loses {mean[value - 1]:.0%} of the difference"
                           + ("" if value == best else f", within the noise of layer {best} ({d.verdict()})") + ".",
                     {"best": best})
    return Check(False, f"Not quite: blocking in layer {value} loses {mean[value - 1]:.0%}, less than layer {best} "
                        f"({mean[best - 1]:.0%}; {d.verdict()}). Look for the tallest bar.", {"best": best})
