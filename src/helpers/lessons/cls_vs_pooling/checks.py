"""The Try-it checks of notebook 06: the best pooling at the last layer, and which vectors look alike. They never raise."""

from __future__ import annotations

from ...core.checks import CheckResult
from ...core.checks import unanswered as _unanswered
from ...core.cube import POOLING_LABELS
from ...core.stats import compare_estimates


def check_best_pooling(answer, results: dict, layer: int | None = None) -> CheckResult:
    """Check a guess of which pooling the probe read best at ``layer`` (default: the last layer); never raises.

    Args:
        answer: a pooling name such as "max"; ``...``/None = not answered.
        results: probe_by_layer()'s result (pooling -> {layer: ProbeResult}).
    """
    if _unanswered(answer):
        return CheckResult(None, "Not answered yet: replace the ... with a pooling name such as 'max'.")
    last = max(max(per) for per in results.values())
    layer = last if layer is None else layer
    probed = {p: per[layer] for p, per in results.items() if layer in per}
    if not probed:
        return CheckResult(False, f"Not quite: no pooling was probed at layer {layer}.")
    scores = {p: r.mean for p, r in probed.items()}
    best = max(scores, key=scores.get)
    details = {"layer": layer, "scores": scores, "best": best}
    table = ", ".join(f"{p} {s:.3f}" for p, s in sorted(scores.items(), key=lambda kv: -kv[1]))
    guess = str(answer).strip().lower()
    if guess not in scores:
        return CheckResult(False, f"Not quite: {answer!r} is not one of the poolings probed ({', '.join(scores)}).",
                           details)
    if guess == best:
        return CheckResult(True, f"Right: at layer {layer} {best} is best ({table}).", details)
    tied = compare_estimates(probed[best], probed[guess]) == "about the same"
    hint = " The two are within the noise (seed spread and test-set size): look at the error bars." if tied else ""
    return CheckResult(False, f"Not quite: at layer {layer} the best is {best}, not {answer} ({table}).{hint}", details)


def check_higher_mean_cosine(answer, rows: dict) -> CheckResult:
    """Check a guess of which pooling has the higher average cosine between two random sentences; never raises.

    Args:
        answer: "cls" or "mean" (``"[CLS]"`` is accepted too); ``...``/None = not answered.
        rows: pooling name -> dict with a "mean cosine" entry, as returned by ``retrieval_scores``.
    """
    names = " or ".join(repr(p) for p in rows)
    if _unanswered(answer):
        return CheckResult(None, f"Not answered yet: replace the ... with {names}.")
    cosines = {p: float(r["mean cosine"]) for p, r in rows.items()}
    guess = str(answer).strip().lower().strip("[]")
    if guess not in cosines:
        return CheckResult(False, f"Not quite: answer with {names}, got {answer!r}.", {"mean cosine": cosines})
    higher = max(cosines, key=cosines.get)
    details = {"mean cosine": cosines, "higher": higher}
    table = ", ".join(f"{POOLING_LABELS.get(p, p)} {c:.3f}" for p, c in cosines.items())
    name = POOLING_LABELS.get(higher, higher)
    if guess == higher:
        return CheckResult(True, f"Right: two random sentences are more alike, on average, with {name} "
                                 f"vectors (mean cosine {table}). The higher it is, the less room cosine has to "
                                 f"tell a neighbour from a stranger.", details)
    return CheckResult(False, f"Not quite: {name} vectors have the higher mean cosine between "
                              f"random sentences ({table}).", details)
