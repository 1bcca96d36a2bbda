"""Notebook 00 · Start here: the exercise checks of the first notebook."""

from __future__ import annotations

from ..core.checks import CheckResult, unanswered


def check_cls_position(cube, answer) -> CheckResult:
    """Exercise: at which position (index) of every row does the tokenizer put [CLS]?"""
    if unanswered(answer):
        return CheckResult(None, "Not answered yet: replace ... with a position (an integer) and run this cell.")
    first = [row.index("[CLS]") if "[CLS]" in row else None for row in cube.tokens]
    truth = first[0]
    if isinstance(answer, bool) or not isinstance(answer, int):
        return CheckResult(False, f"Give a position as an integer, not {answer!r}.")
    if answer == truth and all(f == truth for f in first):
        return CheckResult(True, f"Right: [CLS] is at index {truth} of every row, so last_hidden[:, {truth}, :] "
                                 "is one [CLS] vector per sentence.")
    if answer == len(cube.tokens[0]) - 1 or answer == -1:
        return CheckResult(False, "Not quite: the last position of a row holds [SEP], the separator. Look at cube.tokens.")
    return CheckResult(False, f"Not quite: print cube.tokens[0]; [CLS] is at index {truth}, not {answer}.")


def check_cube_shape(cube, answer) -> CheckResult:
    """Exercise: predict the shape of ``cube.last_hidden`` as a tuple (sentences, tokens, hidden)."""
    if unanswered(answer):
        return CheckResult(None, "Not answered yet: replace ... with a tuple such as (2, 5, 100) and run this cell.")
    truth = tuple(cube.last_hidden.shape)
    try:
        given = tuple(int(x) for x in answer)
    except (TypeError, ValueError):
        return CheckResult(False, f"Give a tuple of three integers (sentences, tokens, hidden), not {answer!r}.")
    if given == truth:
        return CheckResult(True, f"Right: {truth} = {truth[0]} sentences, each padded to {truth[1]} tokens, "
                                 f"each token a vector of {truth[2]} numbers.")
    hints = []
    if len(given) != 3:
        hints.append("the cube has three axes: sentences, tokens, hidden")
    else:
        names = ("sentences", "tokens (the longest row, [CLS] and [SEP] included)", "hidden width (lm.hidden_size)")
        hints += [f"{name}: {g} should be {t}" for name, g, t in zip(names, given, truth) if g != t]
    return CheckResult(False, "Not quite: " + "; ".join(hints) + ".")
