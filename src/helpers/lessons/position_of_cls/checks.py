"""The checks behind notebook 02's three "Try it" cells."""

from __future__ import annotations

from typing import Any

from ...core.checks import CheckResult
from ...core.checks import unanswered as _unanswered
from .experiments import PositionStudy
from .parking import ParkingStudy

#: Largest L2 distance between two sentences' [CLS] input vectors still counted as "the same vector".
#: The input is a sum of three embedding rows and a LayerNorm, all in float32: rounding there stays
#: around 1e-7, two orders of magnitude under this, while any real dependence on the sentence would
#: move a vector of norm ~1-10 by far more.
SAME_INPUT_TOL: float = 1e-5


def check_input_cls(answer: Any, identity: dict[str, float]) -> CheckResult:
    """"Do two different sentences get the same [CLS] input embedding?" answered True/False.

    Args:
        identity: what :func:`~.experiments.cls_identity` returned for a cube of different sentences.
    """
    if _unanswered(answer):
        return CheckResult(None, "Not answered yet: set answer to True or False.")
    if not isinstance(answer, bool):
        return CheckResult(False, f"Answer True or False, not {answer!r}.")
    same = identity["input_max_distance"] < SAME_INPUT_TOL
    details = {"input_max_distance": identity["input_max_distance"], "same": same}
    if answer == same:
        return CheckResult(True, f"Right: the largest L2 distance between two sentences' [CLS] input vectors is "
                                 f"{identity['input_max_distance']:.2g}. Token, position 0 and segment A are the same "
                                 "for every sentence, and nothing else enters before the first layer.", details)
    return CheckResult(False, f"Not quite: the largest L2 distance is {identity['input_max_distance']:.2g}. At the input "
                              "[CLS] is the sum of its token, position-0 and segment-A embeddings (then LayerNorm): "
                              "which of those depends on the sentence?", details)


def check_best_readout(answer: Any, study: PositionStudy) -> CheckResult:
    """Is ``answer`` (a READOUTS key) the readout with the highest mean probe accuracy, or tied with it?

    "Tied" means the paired 95% interval of the difference from the best (``study.compare``) contains 0.
    """
    if not isinstance(study, PositionStudy):
        raise ValueError("Pass the PositionStudy returned by position_experiment() as study.")
    if _unanswered(answer):
        return CheckResult(None, f"Not answered yet: set answer to one of {study.keys()}.")
    if answer not in study.keys():
        return CheckResult(False, f"{answer!r} is not a readout of this study: use one of {study.keys()}.")
    best = max(study.results, key=lambda r: r.probe.mean)
    chosen = study[answer]
    details = {"best": best.key, "chosen": chosen.key}
    if chosen.key == best.key:
        return CheckResult(True, f"Right: {best.label} is best here ({best.probe.mean:.3f} ± {best.probe.std:.3f}).",
                           details)
    d = study.compare(chosen.key, best.key)
    if d.outcome == "indistinguishable":
        return CheckResult(True, f"Close enough: {chosen.label} ({chosen.probe.mean:.3f}) and the best, {best.label} "
                                 f"({best.probe.mean:.3f}), are indistinguishable here: the paired difference lies "
                                 f"within [{d.lo:+.3f}, {d.hi:+.3f}].", details)
    return CheckResult(False, f"Not quite: {chosen.label} gets {chosen.probe.mean:.3f}; the best is {best.label} "
                              f"({best.probe.mean:.3f} ± {best.probe.std:.3f}). Look at the table again.", details)


def check_layer1_probe(answer: Any, study: ParkingStudy, layer: int = 1) -> CheckResult:
    """"Will a linear probe read sentiment from layer-1 [CLS] clearly above chance?" answered True/False.

    The truth is :meth:`~.parking.ParkingStudy.above_chance`: the accuracy minus chance exceeds the noise
    (:func:`helpers.core.stats.noise_margin`), so a result within the noise counts as "not above chance".
    """
    if not isinstance(study, ParkingStudy):
        raise ValueError("Pass the ParkingStudy returned by pos.parking_study() as study.")
    if _unanswered(answer):
        return CheckResult(None, "Not answered yet: set answer to True or False.")
    if not isinstance(answer, bool):
        return CheckResult(False, f"Answer True or False, not {answer!r}.")
    row, probe = study.rows[layer], study.probes[layer]
    truth = study.above_chance(layer)
    details = {"above_chance": truth, "accuracy": probe.mean, "chance": probe.chance, "mean_cosine": row.alike}
    seen = (f"layer-{layer} [CLS] reads sentiment at {probe.mean:.3f} ± {probe.std:.3f} (chance {probe.chance:.3f}) "
            f"while different reviews' [CLS] have mean cosine {row.alike:.5f}")
    if answer == truth and truth:
        return CheckResult(True, f"Right: {seen}. Cosine measures direction, and one shared coordinate (dim {row.dim}, "
                                 f"{row.share:.0%} of the length) sets the direction; the probe standardises every "
                                 "coordinate and reads the small part that differs.", details)
    if answer == truth:
        return CheckResult(True, f"Right for this model: {seen}, which is within the noise of chance.", details)
    if truth:
        return CheckResult(False, f"Not quite: {seen}. Cosine only compares directions; what does a probe do to each "
                                  "coordinate before it fits (look at the StandardScaler in the course's probe)?", details)
    return CheckResult(False, f"Not quite, for this model: {seen}, within the noise of chance.", details)
