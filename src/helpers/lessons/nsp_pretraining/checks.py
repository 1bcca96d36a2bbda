"""The "Try it" checks of notebook 04: each returns a core.checks.CheckResult."""

from __future__ import annotations

from ...core.checks import CheckResult, number_answer, unanswered
from .recipe import RECIPE

#: The share of non-special tokens MLM picks (BERT's 15%), as the recipe trains it.
MASK_RATE = RECIPE["mask_rate"]


def check_masked_count(answer, n_tokens: int) -> CheckResult:
    """Try it: how many of ``n_tokens`` non-special tokens does MLM pick, on average? (MASK_RATE, within 1).

    Returns:
        core.checks.CheckResult (ok True/False, or None when not answered yet).
    """
    value = number_answer(answer, "a number", "how many tokens are picked on average")
    if isinstance(value, CheckResult):
        return value
    expected = MASK_RATE * n_tokens
    details = {"expected": expected, "answer": value}
    if abs(value - expected) <= 1.0:
        return CheckResult(True, f"Right: {MASK_RATE:.0%} of {n_tokens} is {expected:.1f}. Of those, about "
                                 f"{0.8 * expected:.1f} become [MASK], {0.1 * expected:.1f} a random token and "
                                 f"{0.1 * expected:.1f} stay as they are.", details)
    return CheckResult(False, f"Not quite: BERT picks {MASK_RATE:.0%} of the non-special tokens, so about "
                              f"{expected:.1f} of {n_tokens}, not {value:g}. [CLS], [SEP] and padding are never "
                              "picked.", details)


def check_order_guess(answer, measured: float, tolerance: float = 0.1) -> CheckResult:
    """Try it: guess the NSP-trained model's accuracy on swapped-order pairs; compared with ``measured``.

    Returns:
        core.checks.CheckResult (ok True when within ``tolerance``, None when not answered yet).
    """
    value = number_answer(answer, "a number between 0 and 1", "an accuracy between 0 and 1")
    if isinstance(value, CheckResult):
        return value
    if not 0.0 <= value <= 1.0:
        return CheckResult(False, f"{value:g} is not an accuracy: give a number between 0 and 1.")
    close = abs(value - measured) <= tolerance
    return CheckResult(
        close,
        f"{'Right' if close else 'Not quite'}: you guessed {value:.2f}, the model scored {measured:.2f} on swapped "
        "pairs (0.50 is chance). A swapped pair shares topic, characters and words, the cues an NSP head can rely "
        "on; only the order is wrong, and NSP training never asked about order.",
        {"measured": measured, "answer": value},
    )


def check_twin_guess(answer, data: dict) -> CheckResult:
    """Try it: which layouts (a set of "last", "middle", "none") learn NSP as well as [CLS] at the start?

    Right when the set equals the layouts whose interval against the start is not below zero
    (``helpers.core.position_twins.layout_differences`` on the shipped twins).

    Returns:
        core.checks.CheckResult (None when not answered yet).
    """
    from ...core.position_twins import PAIR_LAYOUTS, layout_differences

    if unanswered(answer):
        return CheckResult(None, "Not answered yet: replace ... with a set of layout names, e.g. {\"last\"} or set().")
    if isinstance(answer, str):
        answer = {answer}
    try:
        guess = set(answer)
    except TypeError:
        return CheckResult(False, f"Give a set of layout names, e.g. {{\"last\", \"none\"}}, not {answer!r}.")
    others = set(PAIR_LAYOUTS) - {"start"}
    unknown = guess - others
    if unknown:
        return CheckResult(False, f"{sorted(unknown)} are not layouts to compare with the start: use names from "
                                  f"{sorted(others)}.")
    diffs = layout_differences(data)
    measured = {layout for layout, d in diffs.items() if d.outcome != "lower"}
    details = {"answer": sorted(guess), "measured": sorted(measured)}
    words = "; ".join(f"{PAIR_LAYOUTS[l][0]}: {d.outcome} ({d.diff:+.3f} [{d.lo:+.3f}, {d.hi:+.3f}])"
                      for l, d in diffs.items())
    if guess == measured:
        return CheckResult(True, f"Right. Against [CLS] at the start, paired on the same held-out pairs: {words}.", details)
    return CheckResult(False, f"Not quite: the layouts not below the start are {sorted(measured) or 'none'}, "
                              f"you said {sorted(guess) or 'none'}. Against [CLS] at the start: {words}.", details)
