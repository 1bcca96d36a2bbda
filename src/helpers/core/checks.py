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
