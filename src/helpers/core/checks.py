"""The verdict type shared by every "Try it" check in the course."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CheckResult:
    """The verdict of a "Try it" check.

    Attributes:
        ok: True (right), False (wrong) or None (not answered yet).
        message: what is right or wrong, for the reader.
        details: any numbers behind the verdict, for tests and curious readers.
    """

    ok: bool | None
    message: str
    details: dict = field(default_factory=dict)

    def __repr__(self) -> str:  # plain-text front ends show the message
        return self.message

    def _repr_markdown_(self) -> str:  # notebooks show it with a mark
        mark = {True: "✅", False: "❌", None: "⏳"}[self.ok]
        return f"{mark} {self.message}"

    def __bool__(self) -> bool:
        return bool(self.ok)


def unanswered(answer: Any) -> bool:
    """True for the placeholders a reader has not replaced yet: ``...``, None, or a tuple/list holding one (``(..., ...)``)."""
    if answer is None or answer is Ellipsis:
        return True
    return isinstance(answer, (tuple, list)) and any(a is Ellipsis for a in answer)


def number_answer(answer: Any, unanswered_hint: str, what: str) -> float | CheckResult:
    """The reader's answer as a float, or the CheckResult to return instead (not answered yet / not a number).

    Args:
        unanswered_hint: what to put in place of ``...``, e.g. "a number between 0 and 1".
        what: what the number is, for the "not a number" message, e.g. "an accuracy between 0 and 1".
    """
    if unanswered(answer):
        return CheckResult(None, f"Not answered yet: replace ... with {unanswered_hint}.")
    try:
        return float(answer)
    except (TypeError, ValueError):
        return CheckResult(False, f"Not a number: {answer!r}. Give {what}.")
