"""The verdict type shared by every "Try it" check in the course."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class CheckResult:
    """The verdict of a "Try it" check.

    Attributes:
        ok: True (right), False (wrong) or None (not answered yet).
        message: what is right or wrong, for the reader.
    """

    ok: bool | None
    message: str

    def __repr__(self) -> str:  # the notebook shows the message as the cell's result
        return self.message

    def __bool__(self) -> bool:
        return bool(self.ok)


def unanswered(answer: Any) -> bool:
    """True for the placeholders a reader has not replaced yet (``...`` or None)."""
    return answer is None or answer is Ellipsis
