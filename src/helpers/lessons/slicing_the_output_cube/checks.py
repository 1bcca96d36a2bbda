"""The Try-it checks of notebook 05: the shape of a slice, and the slice that reads [CLS]. They never raise."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ...core.checks import CheckResult
from ...core.checks import unanswered as _unanswered
from .slices import NAMES, parse_slice_spec, take_slice, token_at


def check_shape_answer(answer, spec: str, cube_shape: Sequence[int], values: dict | None = None) -> CheckResult:
    """Check a reader's guess of the shape ``spec`` gives on a cube of ``cube_shape``; never raises."""
    if _unanswered(answer):
        return CheckResult(None, "Not answered yet: replace the ... with a tuple such as (2, 3).")
    try:
        guess = tuple(int(x) for x in answer)
    except (TypeError, ValueError):
        return CheckResult(False, "Not quite: give the shape as a tuple of whole numbers, e.g. (2, 3); "
                                  f"got {answer!r}.")
    values = values or {"i": 0, "t": 0, "k": 0}
    result = take_slice(np.zeros(tuple(cube_shape), dtype=np.float32), spec, values)
    details = {"shape": result.shape, "kept_axes": result.kept_axes}
    if guess == result.shape:
        return CheckResult(True, f"Right: {result.code} has shape {result.shape} "
                                 f"({' x '.join(result.kept_axes) or 'one number'}).", details)
    return CheckResult(False, (
        f"Not quite: {result.code} has shape {result.shape}, not {guess}. An int index removes its axis; "
        f"':' keeps it. Here the axes {result.kept_axes or 'none'} remain."
    ), details)


def check_cls_slice(answer, tokens: Sequence[Sequence[str]], cube_shape: Sequence[int],
                    cls_token: str = "[CLS]") -> CheckResult:
    """Check a slice spec meant to give one vector per sentence, taken at the [CLS] position; never raises.

    Args:
        answer: the reader's spec, text such as ``"[i, :, :]"``; ``...``/None = not answered.
        tokens: the real tokens of each row of the cube (``cube.tokens``).
        cube_shape: (B, T, H) of the cube the tokens belong to.
        cls_token: the tokenizer's classification token (``lm.tokenizer.cls_token``).
    """
    if _unanswered(answer):
        return CheckResult(None, "Not answered yet: replace the ... with a slice spec as text, e.g. '[i, :, :]'.")
    if not isinstance(answer, str):
        return CheckResult(False, f"Not quite: write the spec as text in quotes, e.g. '[i, :, :]'; got {answer!r}.")
    b, t, h = (int(n) for n in cube_shape)
    try:
        spec = parse_slice_spec(answer)
    except ValueError as err:
        return CheckResult(False, f"Not quite: {err}")
    names = [p for p in spec.parts if isinstance(p, str) and p in NAMES]
    if names:
        return CheckResult(False, f"Not quite: {answer} uses the slider name(s) {', '.join(names)}; write plain "
                                  f"numbers and ':' so the spec means the same whatever the sliders say.")
    try:
        result = take_slice(np.zeros((b, t, h), dtype=np.float32), spec)
    except ValueError as err:
        return CheckResult(False, f"Not quite: {err}")
    details = {"shape": result.shape, "kept_axes": result.kept_axes}
    if result.shape != (b, h):
        return CheckResult(False, (
            f"Not quite: {result.code} has shape {result.shape} (axes kept: {', '.join(result.kept_axes) or 'none'}), "
            f"but one vector per sentence is shape ({b}, {h}) = [sentences, hidden]: keep every sentence and "
            f"every hidden unit, and pick ONE token position with a number."
        ), details)
    position = spec.parts[1]
    found = token_at(tokens, position, t)
    details["tokens"] = found
    if all(tok == cls_token for tok in found):
        return CheckResult(True, f"Right: {result.code} takes position {position % t}, which holds {cls_token} in "
                                 f"every row, and gives shape ({b}, {h}): one vector per sentence.", details)
    seen = ", ".join(sorted(set(found)))
    return CheckResult(False, (
        f"Not quite: {result.code} has the right shape ({b}, {h}), but position {position} holds {seen} "
        f"(rows are padded to {t} tokens, so a position counted from the end is not the same token in every row). "
        f"Print cube.tokens[0] to see where {cls_token} is."
    ), details)
