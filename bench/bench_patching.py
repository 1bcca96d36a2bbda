"""Activation patching speed: the batched sweep against one forward pass per patch, and the explorer's callback.

    .venv/bin/python bench/bench_patching.py [--threads 2] [--repeats 5]

Both ways compute the same (L+1) x T shares of a 20-token pair with the fine-tuned [CLS] head
(embedded-cls-tuned); the script checks they agree, then prints the median seconds of each and the ratio, run in
this one process. Targets (issue 14): the batched sweep of a 20-token pair within 1 s on 2 cores; the patching
explorer's median callback under 250 ms after the first.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

CLEAN = "the acting was great , the music was lovely , and the ending stayed with me for days ."
CORRUPT = "the acting was awful , the music was lovely , and the ending stayed with me for days ."
SENTENCES = [
    "the acting was great and the ending was sad",
    "I loved the film but the music was awful",
    "a wonderful cast in a boring story",
    "the food was fresh and the staff were friendly",
]


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import numpy as np
    import torch

    from _timing import change_times, p95
    from helpers.core import patching as P
    from helpers.core.models import load_model
    from helpers.lessons.causal_tracing import build_patching_explorer

    torch.set_num_threads(args.threads)
    lm = load_model("embedded-cls-tuned", "cpu")
    sc = P.scorer_of(lm)
    pair = P.make_pair(lm, CLEAN, CORRUPT)
    batched = P.patch_sweep(sc, pair)
    loop = P.patch_sweep_loop(sc, pair)
    gap = float(np.abs(batched.restored - loop).max())
    print(f"pair of {len(pair)} tokens, {sc.num_layers + 1} hidden states: the two ways differ by at most {gap:.2e}")
    t_batch = median_time(lambda: P.patch_sweep(sc, pair), args.repeats)
    t_loop = median_time(lambda: P.patch_sweep_loop(sc, pair), max(1, args.repeats // 2))
    print(f"batched sweep (one pass per hidden state): {t_batch * 1000:.0f} ms (target 1000 ms on 2 cores: "
          f"{'met' if t_batch <= 1.0 else 'NOT met'})")
    print(f"one forward pass per patch:               {t_loop * 1000:.0f} ms")
    print(f"ratio: {t_loop / t_batch:.1f}x faster batched ({args.threads} threads)")

    ex = build_patching_explorer(sc, lm)
    first = change_times(ex.controls["sentence"], SENTENCES[1:2], 1)[0]
    rest = change_times(ex.controls["sentence"], SENTENCES, 4 * args.repeats)
    med = statistics.median(rest)
    print(f"explorer callback: first {first * 1000:.0f} ms, then median {med * 1000:.0f} ms, p95 {p95(rest) * 1000:.0f} ms "
          f"(target median < 250 ms: {'met' if med < 0.25 else 'NOT met'})")
    if ex.status.value:
        print("explorer status:", ex.status.value)
    return 0 if gap < 1e-3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
