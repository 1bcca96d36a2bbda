"""Drive every notebook's widget callbacks headless and print median and p95 latency per widget.

    .venv/bin/python bench/bench_widgets.py [--quick] [--only 03_attention_into_cls] [--moves 12]

Each notebook's code cells run in one namespace in this process (no kernel, matplotlib's Agg
backend); every widget the notebook builds is recorded. Then each value widget that has a
callback (slider, dropdown, toggle, checkbox, text box) is moved through its range as a user
would, and each move is timed. The first move of each widget is reported apart (it fills caches);
the targets are median < 100 ms and p95 < 250 ms after it, on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = [
    "An unexpectedly moving film.",
    "The plot was thin, but the music carried every scene.",
    "I would not watch it again.",
    "Quiet, patient and beautifully shot.",
]


def code_cells(path: Path) -> list[str]:
    nb = json.loads(path.read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def run_notebook(path: Path) -> list:
    """Execute a notebook's code in this process; return the widgets it built, in creation order."""
    import ipywidgets
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    created = []
    ipywidgets.Widget.on_widget_constructed(created.append)
    namespace = {"__name__": "__main__"}
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        for i, source in enumerate(code_cells(path)):
            if source.lstrip().startswith(("%", "!")):
                continue
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                exec(compile(source, f"{path.name}[cell {i}]", "exec"), namespace)
            plt.close("all")
    finally:
        os.chdir(cwd)
        ipywidgets.Widget.on_widget_constructed(None)
    return created


def has_value_callback(widget) -> bool:
    notifiers = getattr(widget, "_trait_notifiers", {}).get("value", {})
    return bool(notifiers.get("change") or notifiers.get("All"))


def moves_for(widget, n: int) -> list:
    """Values a user would set, away from the current one."""
    import ipywidgets as W

    value = widget.value
    if isinstance(widget, (W.IntSlider, W.FloatSlider, W.BoundedIntText, W.BoundedFloatText, W.IntRangeSlider)):
        if isinstance(widget, W.IntRangeSlider):
            return []
        lo, hi, step = widget.min, widget.max, widget.step or 1
        count = int(round((hi - lo) / step)) + 1
        grid = [lo + step * k for k in range(count)]
        if isinstance(widget, W.IntSlider):
            grid = [int(round(x)) for x in grid]
        if count > n:  # spread the moves over the whole range
            grid = [grid[int(i * (count - 1) / (n - 1))] for i in range(n)]
        values = [v for v in grid if v != value] + [value]
        return list(itertools.islice(itertools.cycle(values), n)) if len(values) > 1 else []
    if isinstance(widget, (W.Dropdown, W.SelectionSlider, W.ToggleButtons, W.RadioButtons, W.Select)):
        values = [opt[1] if isinstance(opt, tuple) else opt for opt in widget.options]
        values = [v for v in values if v != value] + [value]
        return list(itertools.islice(itertools.cycle(values), n)) if len(values) > 1 else []
    if isinstance(widget, (W.Checkbox, W.ToggleButton)):
        return [not value if i % 2 == 0 else value for i in range(n)]
    if isinstance(widget, W.Combobox) and widget.options:  # a text box with suggestions: use them
        values = [v for v in widget.options if v != value] + [value]
        return list(itertools.islice(itertools.cycle(values), n)) if len(values) > 1 else []
    if isinstance(widget, (W.Text, W.Textarea)):
        return list(itertools.islice(itertools.cycle(SENTENCES), n))
    return []


def label(widget, index: int) -> str:
    name = getattr(widget, "description", "") or type(widget).__name__
    return f"{type(widget).__name__}[{index}] {name!r}"


def drive(widget, values: list) -> list[float]:
    times = []
    for v in values:
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            widget.value = v
        times.append((time.perf_counter() - start) * 1000)
        import matplotlib.pyplot as plt

        plt.close("all")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="run the notebooks in quick mode (smaller data)")
    parser.add_argument("--only", action="append", default=[], help="notebook stem (repeatable)")
    parser.add_argument("--moves", type=int, default=12, help="moves per widget")
    args = parser.parse_args()
    if args.quick:
        os.environ["CLS_QUICK"] = "1"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(ROOT / "src"))
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        paths = [p for p in paths if p.stem in args.only]
    import torch

    print(f"{'quick' if args.quick else 'full'} mode, {torch.get_num_threads()} torch threads; "
          f"{args.moves} moves per widget; times in ms (first move apart)\n")
    print(f"{'notebook':<28} {'widget':<44} {'first':>8} {'median':>8} {'p95':>8}  verdict")
    worst_median, worst_p95, count = 0.0, 0.0, 0
    for path in paths:
        start = time.perf_counter()
        widgets = run_notebook(path)
        setup = time.perf_counter() - start
        driven = 0
        for i, w in enumerate(widgets):
            if not has_value_callback(w):
                continue
            values = moves_for(w, args.moves + 1)
            if len(values) < 2:
                continue
            before = w.value
            times = drive(w, values)
            drive(w, [before])  # leave it as the notebook set it, so the next widget sees a sane state
            first, rest = times[0], sorted(times[1:])
            med = statistics.median(rest)
            p95 = rest[min(len(rest) - 1, int(round(0.95 * (len(rest) - 1))))]
            ok = med < 100 and p95 < 250
            worst_median, worst_p95, count = max(worst_median, med), max(worst_p95, p95), count + 1
            driven += 1
            print(f"{path.stem:<28} {label(w, i)[:44]:<44} {first:8.1f} {med:8.1f} {p95:8.1f}  {'ok' if ok else 'SLOW'}")
        if not driven:
            print(f"{path.stem:<28} {'(no widgets with callbacks)':<44}")
        print(f"{'':<28} (notebook code ran in {setup:.0f} s)")
    print(f"\n{count} widgets driven; worst median {worst_median:.1f} ms (target < 100), "
          f"worst p95 {worst_p95:.1f} ms (target < 250)")


if __name__ == "__main__":
    main()
