"""Notebook 03's "With this model we found: ..." sentences, built from the numbers of the run (pure functions).

The notebook's prose says what to look for in general (true for the embedded MiniLM, the mini-BERT and
bert-base alike); each function here turns one run's numbers into the sentence that says what this model
did. Nothing here computes attention: the inputs come from ``experiments`` and ``helpers.core``.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ...core import references
from ...core.token_kinds import KIND_LABELS
from .experiments import MASSIVE_SHARE, SINK_SELF_SHARE, sink_layers

FOUND = "With this model we found: "

#: A token's attention is "largely a no-op" when, once every weight is multiplied by the size of what the
#: head would add (``weight x ||W_O W_V x||``), the token keeps less than this fraction of its weight share:
#: then most of the weight it collects moves less than an average token's would.
NOOP_KEEP = 0.5

#: Published names for what [CLS] does in the middle layers, each a key of ``helpers.references``.
SINK_NAMES = {
    "attention sink": "xiao_attention_sinks",
    "vertical pattern": "kovaleva_vertical",
    "massive activation": "sun_massive_activations",
    "outlier dimension": "kovaleva_outlier_dims",
    "no-op": "clark_noop",
    "value norms": "kobayashi_norms",
}

#: The largest difference allowed between a hand-computed attention row and the model's (float32 rounding).
HAND_ROW_TOLERANCE = 1e-5

_SPECIAL = ("cls", "sep", "punct")


def span(numbers: Sequence[int], word: str = "layer") -> str:
    """[2, 3, 4, 5] -> "layers 2-5"; [3] -> "layer 3"; [1, 2, 5] -> "layers 1-2 and 5"."""
    nums = sorted(int(n) for n in numbers)
    if not nums:
        raise ValueError("span needs at least one number.")
    runs, start = [], nums[0]
    for prev, cur in zip(nums, nums[1:] + [None]):
        if cur is None or cur != prev + 1:  # the run ends at prev
            runs.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = cur
    joined = runs[0] if len(runs) == 1 else ", ".join(runs[:-1]) + " and " + runs[-1]
    return f"{word}{'' if len(nums) == 1 else 's'} {joined}"


def percent_range(values: Sequence[float]) -> str:
    """[0.87, 0.96, 0.92] -> "87-96%"; equal after rounding -> "96%"."""
    v = np.round(np.asarray(values, float) * 100).astype(int)
    if v.size == 0:
        raise ValueError("percent_range needs at least one value.")
    return f"{v.min()}%" if v.min() == v.max() else f"{v.min()}-{v.max()}%"


def sink_sources(names: Sequence[str] | None = None) -> str:
    """One printable line per published name (``SINK_NAMES``), each with its source from the registry."""
    names = list(SINK_NAMES) if names is None else list(names)
    unknown = [n for n in names if n not in SINK_NAMES]
    if unknown:
        raise ValueError(f"Unknown names {unknown}; choose among {list(SINK_NAMES)}.")
    return "\n".join(f"- {name}: {references.cite(SINK_NAMES[name])}" for name in names)


def hand_row_text(tokens: Sequence[str], by_hand: Mapping[str, np.ndarray], layer: int, head: int) -> str:
    """The table of one hand-computed attention row next to the model's (``core.attention.attention_row_by_hand``)."""
    scores, weights, model = (np.asarray(by_hand[k], float) for k in ("scores", "weights", "model"))
    if not len(tokens) == len(scores) == len(weights) == len(model):
        raise ValueError(f"by_hand has {len(scores)} values but there are {len(tokens)} tokens: pass the row's tokens.")
    lines = [f"layer {layer}, head {head} (head width d = {int(by_hand['d'])}), the row of {tokens[0]}:",
             f"{'token':>12} | {'q.k/sqrt(d)':>11} | {'by hand':>8} | {'model':>8}"]
    lines += [f"{t:>12} | {s:>+11.3f} | {w:>8.4f} | {m:>8.4f}" for t, s, w, m in zip(tokens, scores, weights, model)]
    diff = float(np.abs(weights - model).max())
    verdict = "the same row" if diff <= HAND_ROW_TOLERANCE else "NOT the same row"
    lines.append(f"largest difference between the hand row and the model's: {diff:.1e} ({verdict}; "
                 f"tolerance {HAND_ROW_TOLERANCE:.0e})")
    return "\n".join(lines)


def stripes_sentence(summary: Mapping) -> str:
    """The attention explorer's finding, from ``experiments.map_summary``: which columns are bright, and the diagonal."""
    stripes = summary["stripes"]
    first, second, third = sorted(_SPECIAL, key=lambda k: -stripes[k])
    return (FOUND + f"over these {summary['rows']} examples, averaged over the layers and heads, the brightest "
            f"vertical stripe is {KIND_LABELS[first]}: it collects {stripes[first]:.0%} of every token's row, "
            f"{KIND_LABELS[second]} {stripes[second]:.0%} and {KIND_LABELS[third]} {stripes[third]:.0%} (each kind "
            f"summed over its tokens), against about {summary['uniform']:.0%} for one token if every row were "
            f"uniform; the diagonal (a token reading itself) holds {summary['diagonal']:.0%} of a row.")


def sink_sentence(self_share: Sequence[float], massive: Sequence) -> str:
    """Does [CLS] read itself (an attention sink), and is its vector one huge coordinate (a massive activation)?

    Args:
        self_share: (L,) [CLS]'s share of its own row per layer (``layer_means(what_cls_reads(...))["cls"]``).
        massive: ``core.geometry.massive_by_layer(cube.hidden_states)`` (L+1 entries; hidden state 0 = embeddings).
    """
    s = np.asarray(self_share, float)
    if len(massive) != len(s) + 1:
        raise ValueError(f"massive must have one entry per hidden state (L+1 = {len(s) + 1}), got {len(massive)}; "
                         "use massive_by_layer(cube.hidden_states).")
    sinks = sink_layers(s)
    if not sinks:
        peak = int(np.argmax(s)) + 1
        biggest = max(massive, key=lambda m: m.share)
        return (FOUND + f"[CLS] reads itself for at most {s[peak - 1]:.0%} of its row (layer {peak}), never more "
                f"than {SINK_SELF_SHARE:.0%}: no attention sink on [CLS] in this model. Its largest coordinate "
                f"holds at most {biggest.share:.0%} of its length (hidden state {biggest.layer}).")
    inputs = [massive[layer - 1] for layer in sinks]  # attention layer l reads hidden state l - 1
    text = (f"in {span(sinks)} [CLS] reads itself for {percent_range(s[[l - 1 for l in sinks]])} of its row "
            f"(mean over heads and sentences)")
    big = [m for m in inputs if m.share > MASSIVE_SHARE]
    if big:
        dims = sorted({m.dim for m in big})
        what = f"coordinate {dims[0]}" if len(dims) == 1 else "coordinates " + ", ".join(map(str, dims))
        text += (f", and the [CLS] vectors those layers read ({span([m.layer for m in big], 'hidden state')}) hold "
                 f"{percent_range([m.share for m in big])} of their length in one coordinate ({what}): an attention "
                 "sink with a massive activation.")
    else:
        text += (f", but no single coordinate dominates the vectors those layers read (the largest holds at most "
                 f"{max(m.share for m in inputs):.0%} of the length): an attention sink without a massive activation.")
    return FOUND + text


def curves_sentence(per_layer: Mapping[str, Sequence[float]], uniform: float) -> str:
    """Which special kind all tokens read most, layer by layer, and where each kind peaks (Clark et al.'s curves)."""
    means = {k: np.asarray(per_layer[k], float) for k in _SPECIAL}
    n_layers = len(means["cls"])
    leader = [max(_SPECIAL, key=lambda k: means[k][l]) for l in range(n_layers)]
    stretches = [f"{KIND_LABELS[k]} in {span([l + 1 for l in range(n_layers) if leader[l] == k])}"
                 for k in _SPECIAL if k in leader]
    peaks = []
    for k in _SPECIAL:
        best = int(np.argmax(means[k])) + 1
        peaks.append(f"{KIND_LABELS[k]} in layer {best} ({means[k][best - 1]:.0%} of every row)")
    return (FOUND + "the special kind all tokens read most is " + "; ".join(stretches) + ". Peaks: "
            + ", ".join(peaks) + f"; uniform attention would give one token about {uniform:.0%}.")


def noop_sentence(kind: str, weight: Sequence[float], added: Sequence[float]) -> str:
    """Is attention to ``kind`` a no-op? weight: (L,) its share of attention weight; added: (L,) its share once
    every weight is multiplied by the size of what the head adds (``norm_weighted_shares``)."""
    w, a = np.asarray(weight, float), np.asarray(added, float)
    if w.shape != a.shape or w.ndim != 1:
        raise ValueError(f"weight and added must be (L,) each, got {w.shape} and {a.shape}.")
    keep = float(np.mean(a / np.maximum(w, 1e-9)))
    label = KIND_LABELS.get(kind, kind)
    head = (FOUND + f"{label} collects {w.mean():.0%} of the attention weight on average over the layers but "
            f"{a.mean():.0%} of what the heads add, so it keeps {keep:.0%} of its share once value sizes count")
    if keep < NOOP_KEEP:
        return head + ": attention to it is largely a no-op (heads park their weight there and add little)."
    return head + ": attention to it is not a no-op here; it really feeds information to the readers."


def _interval(est) -> tuple[float, float]:
    return est.ci(0.95)


def attribution_sentence(summary: Mapping[str, float], differences: Mapping, trace: Mapping[str, Mapping[str, float]],
                         sinks: Sequence[int]) -> str:
    """Which explanation ranks the words like the attribution, and why rollout and flow do what they do.

    Args:
        summary: method -> mean Spearman with |blank-out attribution| over the reviews.
        differences: method -> Estimate of best - method per review (``experiments.paired_differences``).
        trace: ``experiments.mean_traces`` of the reviews' ``sink_trace`` results.
        sinks: the layers where [CLS] reads itself (``experiments.sink_layers``).
    """
    best = max(summary, key=summary.get)
    n = max((d.n for d in differences.values()), default=0)
    verdicts = []
    for m, est in differences.items():
        lo, hi = _interval(est)
        if lo > 0:
            verdicts.append(f"{m} is lower by {est.mean:.2f} (95% paired interval [{lo:+.2f}, {hi:+.2f}])")
        else:
            verdicts.append(f"{m} is within the noise of it (difference {est.mean:+.2f}, 95% interval "
                            f"[{lo:+.2f}, {hi:+.2f}])")
    text = (FOUND + f"{best} ranks the words closest to the blank-out attribution (mean Spearman {summary[best]:+.2f} "
            f"over {n} reviews); " + "; ".join(verdicts) + ".")
    traced = [m for m in ("rollout", "flow") if m in trace["like_first"]]
    if not traced:
        return text
    first = ", ".join(f"{trace['like_first'][m]:+.2f}" for m in traced)
    top = ", ".join(f"{trace['like_top'][m]:+.2f}" for m in traced)
    names = " and ".join(traced)
    on_cls = trace["on_cls"]
    piled = ""
    if "rollout" in on_cls and on_cls["rollout"] > on_cls.get("raw attention", 1.0):
        piled = (f" Rollout piles {on_cls['rollout']:.0%} of its [CLS] row on [CLS]'s own column (the raw top-layer "
                 f"row {on_cls['raw attention']:.0%}).")
    follows_first = all(trace["like_first"][m] > trace["like_top"][m] for m in traced)
    if not sinks:
        return text + (f" No layer has [CLS] mostly reading itself; over the words {names} rank the tokens like "
                       f"layer 1's [CLS] row (Spearman {first}) and like the top layer's ({top}).{piled}")
    where = span(sinks)
    if follows_first and best == "raw attention":
        return text + (f" Why: in {where} [CLS] mostly reads itself, so every path from the top [CLS] back to the "
                       f"input runs through [CLS]'s own vector there.{piled} Over the words, {names} rank the tokens "
                       f"like layer 1's [CLS] row (Spearman {first}) rather than like the top layer's ({top}): "
                       "multiplied through the sink layers, the last layer's selective row is washed out, while raw "
                       "attention reads it directly.")
    if follows_first:
        return text + (f" In {where} [CLS] mostly reads itself, and over the words {names} rank the tokens like "
                       f"layer 1's [CLS] row (Spearman {first}) more than like the top layer's ({top}).{piled}")
    return text + (f" In {where} [CLS] mostly reads itself, yet over the words {names} rank the tokens like the top "
                   f"layer's row (Spearman {top}) more than like layer 1's ({first}): the sink does not wash out the "
                   f"last layer here.{piled}")
