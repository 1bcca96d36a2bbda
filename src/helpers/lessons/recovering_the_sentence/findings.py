"""Notebook 07 · "With this model we found: ...": the sentences under each "What to look for", built from the numbers.

Pure functions of computed results (no model, no drawing), so another model prints its own story and the
tests can feed them made-up numbers. Verdicts between two estimates over the same splits use the paired
interval of :func:`~.experiments.split_verdict`.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from ...core.geometry import PARKING_SHARE, SAME_DIRECTION_ABOVE, MassiveCoordinate
from ...core.stats import Estimate
from .experiments import SplitStudy, split_difference, split_verdict
from .order import OrderTest

#: Exact-sentence recovery "still works" while at least this share of the stored vectors finds its own sentence.
RECOVERY_HOLDS_AT: float = 0.5

PREFIX = "With this model we found:"


def _join(parts: list[str]) -> str:
    """The prefix, then the sentences: every sentence after the first starts with a capital."""
    head, first, rest = parts[0], parts[1:2], parts[2:]
    return " ".join([head, *first, *[s[:1].upper() + s[1:] for s in rest]])


def _est(e: Estimate) -> str:
    return f"{e.mean:.3f} ± {e.std:.3f}"


def _versus(a: Estimate, b: Estimate, level: float = 0.95) -> tuple[str, str]:
    """(verdict, "difference +0.012 [+0.003, +0.021]") of a against b, paired over the splits."""
    lo, hi = split_difference(a, b).ci(level)
    return split_verdict(a, b, level), f"difference {a.mean - b.mean:+.3f}, {level:.0%} interval [{lo:+.3f}, {hi:+.3f}]"


_WORDS = {"higher": "above", "lower": "below", "indistinguishable": "within the noise of"}


def found_inversion(study: SplitStudy, level: float = 0.95) -> str:
    """What the inversion table shows, over the splits: layer-0 [CLS], [CLS]'s best layer, the last layer, the mean."""
    cls, mean, base = study.f1.get("cls"), study.f1.get("mean"), study.baseline["f1"]
    if cls is None:
        raise ValueError(f"found_inversion needs the 'cls' pooling; the study holds {study.poolings}.")
    layers = study.layers
    first, last = layers[0], layers[-1]
    out = [PREFIX]
    v0, d0 = _versus(cls[first], base, level)
    out.append(f"(F1, mean ± std over {len(study.seeds)} train/test splits; frequent-words baseline {_est(base)}) "
               f"at layer {first} [CLS] scores {_est(cls[first])}, {_WORDS[v0]} the baseline ({d0}).")
    upper = [x for x in layers if x != first] or layers
    best = max(upper, key=lambda x: cls[x].mean)
    vb, db = _versus(cls[best], base, level)
    out.append(f"[CLS] gives back most at layer {best} ({_est(cls[best])}, {_WORDS[vb]} the baseline: {db})")
    if best != last:
        vl, dl = _versus(cls[best], cls[last], level)
        tail = {"higher": "more than", "lower": "less than", "indistinguishable": "within the noise of"}[vl]
        out[-1] += f", {tail} at the last layer, {last} ({_est(cls[last])}; {dl})."
    else:
        out[-1] += ", its last layer."
    if mean is not None:
        vm, dm = _versus(mean[last], cls[last], level)
        word = {"higher": "gives away more than", "lower": "gives away less than",
                "indistinguishable": "is within the noise of"}[vm]
        out.append(f"At the last layer the mean ({_est(mean[last])}) {word} [CLS] ({dm}).")
        vd, dd = _versus(mean[last], mean[first], level)
        drift = {"higher": "gains words", "lower": "loses words", "indistinguishable": "neither gains nor loses words"}
        out.append(f"From layer {first} ({_est(mean[first])}) to layer {last} the mean {drift[vd]} ({dd}).")
    return _join(out)


def format_cls_geometry(rows: Sequence[MassiveCoordinate], f1: Mapping[int, Estimate], baseline: Estimate) -> str:
    """A plain-text table per hidden state: [CLS]'s largest coordinate, what cosine sees, and the probe's F1."""
    lines = ["layer   dim  share | cosine  without dim  specific | [CLS] probe F1",
             "-" * 70]
    for r in rows:
        e = f1.get(r.layer)
        probe = _est(e) if e is not None else "-"
        lines.append(f"{r.layer:>5}  {r.dim:>4}  {r.share:>5.2f} | {r.alike:>7.5f}  {r.alike_without:>10.5f}  "
                     f"{r.specific:>8.4f} | {probe}")
    lines.append(f"(share = mean |x[dim]| / L2 norm of [CLS]'s largest coordinate; cosine = mean cosine between "
                 f"different sentences' [CLS], with that coordinate and without it; specific = mean L2 distance from "
                 f"the mean [CLS] / mean L2 norm, the part that differs from sentence to sentence; frequent-words "
                 f"baseline F1 {_est(baseline)})")
    return "\n".join(lines)


def found_cosine_vs_probe(rows: Sequence[MassiveCoordinate], f1: Mapping[int, Estimate], baseline: Estimate,
                          same: float = SAME_DIRECTION_ABOVE, share: float = PARKING_SHARE,
                          level: float = 0.95) -> str:
    """Why a [CLS] that cosine calls identical can still give words back, or that there is no such puzzle here."""
    out = [PREFIX]
    puzzling = [r for r in rows if r.layer > 0 and r.alike > same and r.layer in f1
                and split_verdict(f1[r.layer], baseline, level) == "higher"]
    if puzzling:
        r = max(puzzling, key=lambda r: f1[r.layer].mean)
        out.append(f"at layer {r.layer} different sentences' [CLS] have mean cosine {r.alike:.5f} (cosine calls that "
                   f"the same direction), yet the probe reads words from it at F1 {_est(f1[r.layer])} against the "
                   f"baseline's {_est(baseline)}.")
        if r.share > share:
            out.append(f"One coordinate, dim {r.dim}, holds {r.share:.0%} of that [CLS]'s L2 norm (mean value "
                       f"{r.value:.2f} of a length {r.norm:.2f}), the same in every sentence: it dominates the cosine.")
        else:
            out.append(f"Its largest coordinate (dim {r.dim}) holds only {r.share:.0%} of the length, so the shared "
                       "direction is spread over many coordinates.")
        if r.alike_without > same:
            out.append(f"Even with it set to 0 the mean cosine stays {r.alike_without:.5f}: the rest of [CLS] is shared "
                       "as well.")
        else:
            out.append(f"With it set to 0 the mean cosine falls to {r.alike_without:.3f}.")
        out.append(f"The part that differs from sentence to sentence is {r.specific:.2%} of the length: too small to "
                   "move a cosine, but the probe standardises every coordinate (minus its mean, divided by its spread), "
                   "so the shared part vanishes and that small part is what it reads.")
    else:
        alike = [r for r in rows if r.layer > 0 and r.alike > same]
        if alike:
            layers = ", ".join(str(r.layer) for r in alike)
            out.append(f"where cosine calls [CLS] the same direction (layers {layers}), the probe does not beat the "
                       "baseline clearly either: here cosine and the probe agree.")
        else:
            top = max((r for r in rows if r.layer > 0), key=lambda r: r.alike, default=rows[0])
            out.append(f"past the embeddings no layer's [CLS] looks the same for every sentence (the most alike is layer "
                       f"{top.layer} at mean cosine {top.alike:.3f}, under {same}), so cosine and the probe do not "
                       "disagree here.")
    zero = next((r for r in rows if r.layer == 0), None)
    if zero is not None:
        part = "exactly 0" if zero.specific == 0 else f"{zero.specific:.1e}"
        out.append(f"At layer 0 the sentence-specific part is {part} of the length: nothing to read.")
    return _join(out)


def found_noise(recovery: Mapping[str, Mapping[float, float]], n_candidates: int,
                holds: float = RECOVERY_HOLDS_AT) -> str:
    """Up to which noise level exact-sentence recovery still finds at least ``holds`` of the sentences, per vector.

    Args:
        recovery: vector name -> noise level -> top-1 accuracy (:func:`~.experiments.nearest_neighbour_recovery`).
        n_candidates: how many candidate sentences the search chose from.
    """
    parts = []
    for name, per in recovery.items():
        levels = sorted(per)
        ok = [lvl for lvl in levels if per[lvl] >= holds]
        broken = [lvl for lvl in levels if per[lvl] < holds]
        if not broken:
            parts.append(f"{name} still finds {per[levels[-1]]:.0%} of the sentences at the largest noise tried "
                         f"({levels[-1]:g} x the per-unit spread)")
        elif not ok:
            parts.append(f"{name} finds fewer than {holds:.0%} even at noise {levels[0]:g}")
        else:
            parts.append(f"{name} finds at least {holds:.0%} up to noise {max(ok):g} x the per-unit spread and "
                         f"{per[broken[0]]:.0%} at {broken[0]:g}")
    chance = 1 / max(n_candidates, 1)
    return f"{PREFIX} among {n_candidates} candidates (chance {chance:.1%}), " + "; ".join(parts) + "."


def found_word_order(order: OrderTest) -> str:
    """Whether [CLS] (and the mean) tell a sentence from its word shuffle, from the probe and the geometry."""
    out = [PREFIX]
    last = order.layers[-1]
    for p in order.poolings:
        e = order.probe[p][last]
        name = "[CLS]" if p == "cls" else ("the mean" if p == "mean" else p)
        knows = order.tells(p, last)
        verdict = ("it carries word order, which a bag of words could not" if knows else
                   "no clear sign of the order: for this vector a shuffle is as good as the original")
        out.append(f"at the last layer ({last}) {name} tells a sentence from its shuffle at {_est(e)} (chance "
                   f"{e.chance:.2f}): {verdict}; shuffling moves it {order.moved[p][last]:.2f} of the distance to "
                   f"another sentence (raw cosine with its shuffle {order.cos_own[p][last]:.4f}, with a different "
                   f"sentence {order.cos_other[p][last]:.4f}).")
    if "cls" in order.probe:
        telling = [x for x in order.layers if order.tells("cls", x)]
        if telling:
            best = max(order.layers, key=lambda x: order.probe["cls"][x].mean)
            out.append(f"[CLS] first tells them apart at layer {telling[0]}, best at layer {best} "
                       f"({_est(order.probe['cls'][best])}).")
        else:
            out.append("[CLS] tells them apart at no layer.")
        first = order.layers[0]
        if first == 0:
            out.append(f"At layer 0 [CLS] scores {order.probe['cls'][0].mean:.3f}: one vector for every input, "
                       "original or shuffled.")
    return _join(out)
