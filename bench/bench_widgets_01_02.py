"""Latency of every widget callback in notebooks 01 and 02, after the first call (target: median < 100 ms).

Run:  .venv/bin/python bench/bench_widgets_01_02.py [--repeats 30]

Each explorer is built once (its first draw is not timed); then one control is changed
``--repeats`` times, cycling through values, and each change's callback is timed. The baseline,
measured in the same process, is what one redraw would cost if it rendered a matplotlib figure to
PNG (the obvious way to draw these views); the ratio shows how much cheaper the HTML views are.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from _timing import change_times, p95

import helpers
from helpers.lessons import position_of_cls as pos
from helpers.lessons import tokenization as tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    lm = helpers.load_model("embedded", device="cpu")
    sentences = [
        "The film was a quiet delight.",
        "I walked out after twenty minutes.",
        "Great acting, awful script.",
        "Not bad at all, honestly.",
        "The music carried every scene, even the weak ones.",
        "A long, slow and pointless story.",
    ]
    cube = helpers.encode(lm, sentences, attentions=False)
    study = pos.position_experiment(
        lm, helpers.load_reviews("train").sample(40), helpers.load_reviews("test").sample(20), seeds=(0, 1)
    )

    builds = {}

    def build(name, fn):
        start = time.perf_counter()
        box = fn()
        builds[name] = time.perf_counter() - start
        return box

    wp = build("01 WordPiece explorer", lambda: tokens.build_wordpiece_explorer(lm))
    tr = build("01 truncation explorer", lambda: tokens.build_truncation_explorer(lm, " ".join(sentences)))
    layer = build("02 layer explorer", lambda: pos.build_layer_explorer(cube, labels=sentences))
    sent = build("02 sentence explorer (runs the deletions)", lambda: pos.build_sentence_explorer(lm, sentences))
    posx = build("02 position explorer", lambda: pos.build_position_explorer(study))
    last = cube.num_layers
    cases = [
        ("01 WordPiece text box", wp.controls["text"], sentences),
        ("01 WordPiece pair box", wp.controls["pair"], ["", "It was long.", "Never again, please."]),
        ("01 add_special_tokens checkbox", wp.controls["add_special_tokens"], [False, True]),
        ("01 truncation max_length slider", tr.controls["max_length"],
         list(range(3, tr.controls["max_length"].max + 1, 3))),
        ("02 layer slider", layer.controls["layer"], list(range(last + 1))),
        ("02 sentence chooser", sent.controls["sentence"], sentences),
        ("02 position chooser", posx.controls["readout"], study.keys()),
        ("02 position layer slider", posx.controls["layer"], list(range(last + 1))),
    ]

    # baseline: the same layer view drawn with matplotlib and rendered to PNG
    import io

    import matplotlib

    matplotlib.use("Agg")

    def png_redraw(i: int) -> None:
        fig = pos.draw_layer_view(pos.layer_view(cube, i % (last + 1)), sentences)
        fig.savefig(io.BytesIO(), format="png", dpi=72)

    png_redraw(0)
    base = []
    for i in range(max(5, args.repeats // 3)):
        start = time.perf_counter()
        png_redraw(i + 1)
        base.append(time.perf_counter() - start)
    base_med = statistics.median(base)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.repeats} changes per control, after the first draw; load average {load:.1f} "
          f"on {os.cpu_count()} CPUs")
    print(f"baseline (matplotlib layer view to PNG): median {1000 * base_med:.1f} ms")
    print(f"{'callback':<34} {'median ms':>9} {'p95 ms':>8} {'x baseline':>10}  target median < 100 ms")
    worst = 0.0
    for name, widget, values in cases:
        times = change_times(widget, values, args.repeats)
        med = statistics.median(times)
        worst = max(worst, med)
        print(f"{name:<34} {1000 * med:9.2f} {1000 * p95(times):8.2f} {med / base_med:10.3f}  "
              f"{'ok' if med < 0.1 else 'SLOW'}")
    print(f"slowest median: {1000 * worst:.2f} ms ({'meets' if worst < 0.1 else 'misses'} the 100 ms target)")
    print("first call (build + first draw, not part of the target):")
    for name, seconds in builds.items():
        print(f"  {name:<42} {1000 * seconds:8.1f} ms")


if __name__ == "__main__":
    main()
