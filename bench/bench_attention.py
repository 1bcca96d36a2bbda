"""Speed of notebook 03's attention tools on one ~40-token input, with baselines measured in the same process.

Run:  .venv/bin/python bench/bench_attention.py [--tokens 40] [--repeats 20]

Prints:
- attention rollout (target < 50 ms), against the model's forward pass that produced the attentions;
- attention flow into [CLS] for every input token (target < 2 s), against networkx's max-flow on the same graphs;
- every slider callback of the two explorers, median after the first call (target < 100 ms), against a full
  figure redraw (draw + PNG) of the same view, which is what a callback costs without blitting.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from _timing import change_times  # noqa: E402

import helpers  # noqa: E402
from helpers.core import attention as at  # noqa: E402
from helpers.core.flow import attention_flow, layer_graph  # noqa: E402
from helpers.lessons import attention_into_cls as lesson  # noqa: E402
from helpers.ui.figures import figure_png  # noqa: E402


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median seconds over ``repeats`` calls (after one warm-up call) and the last result."""
    out = fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def input_of_length(lm, tokens: int) -> str:
    """Review sentences joined until the input has about ``tokens`` tokens, cut to exactly that many."""
    texts = helpers.load_reviews().texts
    ids: list[int] = []
    for text in texts:
        ids += lm.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) >= tokens - 2:
            break
    return lm.tokenizer.decode(ids[: tokens - 2])


def networkx_flow(att: np.ndarray) -> np.ndarray:
    """The same attention flow with networkx's preflow-push, as a baseline."""
    import networkx as nx

    mats = at.residual_attention(att)
    n_layers, n, _ = mats.shape
    cap = layer_graph(mats)
    source = n_layers * n
    g = nx.DiGraph()
    rows, cols = np.nonzero(cap)
    for u, v in zip(rows.tolist(), cols.tolist()):
        g.add_edge(u, v, capacity=float(cap[u, v]))
    return np.array([nx.maximum_flow_value(g, source, j) for j in range(n)])


def slider_medians(box, control: str, values, repeats: int) -> float:
    """Median seconds of a control's callback over ``repeats`` changes, after a first, untimed change.

    ``box`` is an Explorer; its controls are found by name.
    """
    widget = box.controls[control]
    widget.value = next(v for v in values if v != widget.value)  # first call: not timed
    return statistics.median(change_times(widget, values, repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    import torch

    lm = helpers.load_model(device="cpu")
    print(f"model {lm.name}: {lm.num_layers} layers x {lm.num_heads} heads; torch threads {torch.get_num_threads()}")
    text = input_of_length(lm, args.tokens)
    forward_s, cube = timed(lambda: helpers.encode(lm, [text]), 3)
    att, tokens = at.cube_example(cube, 0)
    n = len(tokens)
    print(f"input: {n} tokens\n")

    roll_s, _ = timed(lambda: at.rollout(att), args.repeats)
    print(f"rollout             {roll_s * 1e3:8.2f} ms   (target < 50 ms)   "
          f"forward pass with attentions {forward_s * 1e3:.0f} ms, ratio {roll_s / forward_s:.3f}")

    flow_s, flow = timed(lambda: attention_flow(att), 2)
    t = time.perf_counter()
    reference = networkx_flow(att)
    nx_s = time.perf_counter() - t
    agree = np.abs(flow - reference).max()
    print(f"flow (all {n} tokens) {flow_s:8.2f} s    (target < 2 s)     "
          f"networkx preflow-push {nx_s:.2f} s, ratio {flow_s / nx_s:.2f}; max difference {agree:.1e}")

    t = time.perf_counter()
    flow_box = lesson.build_flow_explorer(att, tokens, np.linspace(-1, 1, n))
    build_s = time.perf_counter() - t
    print(f"flow explorer build {build_s:8.2f} s    (flow of all {lm.num_layers} layers computed once and cached)\n")

    map_box = lesson.build_attention_explorer(cube, lm)
    layers = list(range(1, lm.num_layers + 1))
    heads = list(range(lm.num_heads))
    cases = [
        ("attention map: layer slider", map_box, "layer", layers),
        ("attention map: head slider", map_box, "head", heads),
        ("attention map: hide [CLS]/[SEP]", map_box, "hide", [True, False]),
        ("attention map: mean of heads", map_box, "mean", [True, False]),
        ("flow explorer: layer slider", flow_box, "layer", layers),
    ]

    def full_redraw():
        v = map_box.state["view"]
        return figure_png(lesson.draw_attention_map(v.matrix, v.rows, v.cols, v.title))

    baseline_s, _ = timed(full_redraw, 5)
    print(f"baseline: a full redraw of the attention map (draw + PNG) {baseline_s * 1e3:.0f} ms")
    worst = 0.0
    for label, box, control, values in cases:
        med = slider_medians(box, control, values, args.repeats)
        worst = max(worst, med)
        print(f"{label:<34} median {med * 1e3:6.1f} ms  (target < 100 ms)  ratio to full redraw {med / baseline_s:.2f}")
    print(f"\nslowest slider median {worst * 1e3:.1f} ms: {'OK' if worst < 0.1 else 'OVER TARGET'}; "
          f"rollout {'OK' if roll_s < 0.05 else 'OVER'}; flow {'OK' if flow_s < 2 else 'OVER'}")


if __name__ == "__main__":
    main()
