"""The "With this model we found: ..." sentences under notebook 02's conditional "What to look for" cells.

Each function is pure: it takes the numbers a cell computed and returns one sentence, so the notebook states
what this run showed whatever the model (the embedded MiniLM, the mini-BERT, bert-base-uncased).
Units: "mean cosine" is the mean cosine between different sentences' vectors (1 = the same direction for
every sentence); "cosine distance" is 1 - cosine; "L2 distance" is the Euclidean distance.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ...core.linear import ProbeResult
from ...core.stats import compare_estimates
from ...core.token_kinds import is_punctuation
from .experiments import SENTENCE_SPECIFIC_BELOW, first_specific_layer
from .parking import clearly_above_chance

FOUND = "With this model we found:"


def _verdict(a: ProbeResult, b: ProbeResult) -> str:
    v = compare_estimates(a, b)
    return "about the same as" if v == "about the same" else f"{v} than"


def movement_finding(movement: dict[str, np.ndarray], alike: dict[str, np.ndarray],
                     below: float = SENTENCE_SPECIFIC_BELOW) -> str:
    """How fast [CLS]'s mean cosine comes down, next to the other poolings (``alike`` from alikeness_by_layer)."""
    cls = np.asarray(alike["cls"], dtype=float)
    last = len(cls) - 1
    specific = first_specific_layer(cls, below)
    step = np.asarray(movement["cls_step"], dtype=float)
    biggest = int(np.argmax(step)) + 1
    others = {k: float(np.asarray(v)[-1]) for k, v in alike.items() if k != "cls"}
    parts = [FOUND]
    if specific is None:
        parts.append(f"different sentences' [CLS] stay above mean cosine {below} in every layer (last layer: "
                     f"{cls[-1]:.3f}): cosine never tells them apart.")
    elif specific == last:
        parts.append(f"different sentences' [CLS] stay at mean cosine {cls[:last].min():.4f} or more up to layer "
                     f"{last - 1} and fall to {cls[-1]:.3f} only at the last layer ({last}).")
    else:
        parts.append(f"different sentences' [CLS] fall below mean cosine {below} at layer {specific} "
                     f"({cls[specific]:.3f}) and reach {cls[-1]:.3f} at the last layer ({last}).")
    if others:
        closest = min(others, key=lambda k: others[k])
        parts.append(f"At the last layer the other poolings are at {', '.join(f'{k} {v:.3f}' for k, v in others.items())}"
                     f" ([CLS] {'is the least' if cls[-1] > max(others.values()) else 'is not the least'} "
                     f"sentence-specific; {closest} the most).")
    parts.append(f"The layer that changes [CLS] most is layer {biggest} (cosine distance {step[biggest - 1]:.3f}).")
    return " ".join(parts)


#: A cosine distance under this counts as "hardly moved": 1 - cos(angle) = 1e-4 is an angle of about 0.8 degrees.
HARDLY_MOVED: float = 1e-4


def far_word_finding(effect: dict[str, Any], strip: dict[str, Any] | None = None, tiny: float = HARDLY_MOVED,
                     parked_layers: Sequence[int] = ()) -> str:
    """When the far word's change reaches [CLS] (in cosine distance), and whether stripping the words collapses it.

    Args:
        effect / strip: what far_word_effect and strip_words returned.
        parked_layers: the layers where [CLS] sits on a parking coordinate (ParkingStudy.parked_layers()); when
            they cover the layers where cosine hardly moves, the sentence says why.
    """
    d = np.asarray(effect["cls_distance"], dtype=float)
    last = len(d) - 1
    moved = [layer for layer in range(1, last + 1) if d[layer] >= tiny]
    parts = [FOUND]
    if not moved:
        parts.append(f"the changed word at position {effect['positions'][0]} moves [CLS] by less than a cosine distance "
                     f"of {tiny:g} in every layer (last layer: {d[-1]:.2e}).")
    elif moved[0] == 1:
        parts.append(f"the changed word at position {effect['positions'][0]} already moves [CLS] in layer 1 (cosine "
                     f"distance {d[1]:.2e}) and by {d[-1]:.4f} after the last layer.")
    else:
        quiet = list(range(1, moved[0]))
        why = (" (the shared parking coordinate of section 1 dominates [CLS] there)"
               if set(quiet) <= set(parked_layers) else "")
        then = (f"only the last layer ({last}) moves it clearly: {d[-1]:.4f}" if moved[0] == last else
                f"from layer {moved[0]} it is {d[moved[0]]:.4f}, and {d[-1]:.4f} after the last layer ({last})")
        parts.append(f"the changed word at position {effect['positions'][0]} moves [CLS] by at most "
                     f"{d[1:moved[0]].max():.1e} (cosine distance) up to layer {moved[0] - 1}: it reaches [CLS] from "
                     f"layer 1 on, but cosine hardly sees it{why}; {then}.")
    if strip is not None:
        alike = np.asarray(strip["alike"], dtype=float)
        parts.append(f"Stripping the words takes the mean cosine between sentences' [CLS] from {alike[0]:.3f} (all "
                     f"words) to {alike[-1]:.3f} (none left; largest L2 distance {strip['spread'][-1]:.1e}).")
    return " ".join(parts)


def influence_finding(influences: Sequence[dict[str, Any]]) -> str:
    """Which word piece moves [CLS] most in each sentence, and how often that is punctuation."""
    if not influences:
        raise ValueError("Give the word_influence() results of at least one sentence.")
    tops, punct = [], 0
    for inf in influences:
        i = int(np.argmax(inf["distance"]))
        token = inf["tokens"][i]
        punct += is_punctuation(token)
        tops.append(f"'{token}' ({float(inf['distance'][i]):.3f})")
    n = len(influences)
    kind = ("a word in every sentence" if punct == 0 else
            "punctuation in every sentence" if punct == n else f"punctuation in {punct} of {n} sentences")
    return (f"{FOUND} the piece whose deletion moves the last-layer [CLS] most (cosine distance) is "
            f"{', '.join(tops)}: {kind}.")


def padding_finding(view: dict[str, Any]) -> str:
    """What index 0 and index -1 hold across a right-padded batch (``view`` from why_first.padding_view)."""
    rows = view["rows"]
    first_ok = all(r["first"] == view["cls"] for r in rows)
    padded = [r for r in rows if r["last_is_pad"]]
    parts = [FOUND]
    parts.append(f"index 0 is {view['cls']} in {'every row' if first_ok else 'not every row'} of the batch;")
    if padded:
        parts.append(f"index -1 is {view['pad']} in {len(padded)} of {len(rows)} rows (every row shorter than the "
                     f"longest, {view['width']} tokens), so `last_hidden[:, -1]` reads padding there, not the sentence.")
    else:
        parts.append("index -1 is a real token in every row (they all have the same length): pad a shorter sentence "
                     "to see the problem.")
    return " ".join(parts)


def word_slot_finding(kept: dict[str, float], first: ProbeResult | None = None, cls: ProbeResult | None = None) -> str:
    """How much of its own word the first word's slot keeps, and how it does as a summary next to [CLS].

    Args:
        kept: what why_first.keeps_its_word returned for the first word's last-layer outputs.
        first / cls: optional probes of the first word's and [CLS]'s last-layer outputs on the same task.
    """
    parts = [FOUND, f"after the last layer, the output at the first word's slot is still nearest (cosine) to its own "
                    f"word's input embedding in {kept['hits']:.0%} of {kept['n']} reviews (chance {kept['chance']:.4%}, "
                    f"one of {kept['vocab']:,} vocabulary entries)"]
    parts[-1] += (": through the residual stream the slot keeps its word." if kept["hits"] >= 0.5 else
                  ": most slots no longer name their word here.")
    if first is not None and cls is not None:
        parts.append(f"As a summary it reads sentiment at {first.mean:.3f} ± {first.std:.3f}, {_verdict(first, cls)} "
                     f"[CLS] ({cls.mean:.3f} ± {cls.std:.3f}).")
    return " ".join(parts)


def mean_pooling_finding(weight: dict[str, float], cls: ProbeResult, mean: ProbeResult, paired=None) -> str:
    """[CLS]'s share of a mean-pooled vector, and the probe comparison of [CLS] and the mean (``paired``: the
    PairedDifference mean - [CLS] on the same reviews, e.g. ``study.compare("mean")``; without it, the seeds' noise)."""
    parts = [FOUND, f"in these reviews [CLS]'s output is on average {weight['mean']:.3f} of the mean-pooled vector "
                    f"(1/n: from {weight['smallest']:.3f} in the longest review to {weight['largest']:.3f} in the "
                    "shortest), so a mean-pooling loss sees it, diluted like every other token."]
    if not clearly_above_chance(cls):
        parts.append(f"The last-layer [CLS] is not clearly above chance ({cls.mean:.3f} ± {cls.std:.3f}, chance "
                     f"{cls.chance:.3f}); the mean reaches {mean.mean:.3f} ± {mean.std:.3f}.")
    else:
        if paired is not None:
            parts.append(f"Probed on the same reviews: {paired.verdict()} (paired 95% interval).")
        else:
            parts.append(f"The mean ({mean.mean:.3f} ± {mean.std:.3f}) is {_verdict(mean, cls)} the last-layer [CLS] "
                         f"({cls.mean:.3f} ± {cls.std:.3f}).")
    return " ".join(parts)
