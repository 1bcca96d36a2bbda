"""Timing helpers shared by the bench scripts (imported as a sibling module when a script runs)."""

from __future__ import annotations

import time
from itertools import cycle
from typing import Iterable


def change_times(widget, values: Iterable, repeats: int) -> list[float]:
    """Set ``widget.value`` ``repeats`` times, cycling through ``values`` and skipping the current value.

    Returns the seconds each change took (the widget's callbacks run inside the assignment).
    """
    source = cycle(values)
    out = []
    for _ in range(repeats):
        value = next(source)
        if value == widget.value:
            value = next(source)
        start = time.perf_counter()
        widget.value = value
        out.append(time.perf_counter() - start)
    return out


def p95(xs: list[float]) -> float:
    """The 95th percentile (nearest rank) of ``xs``."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
