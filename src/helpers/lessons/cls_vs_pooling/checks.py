"""The Try-it checks of notebook 06: the best pooling at the last layer, the fine-tuned mean head against the
[CLS] head, and which vectors look alike. They never raise.

Both accept any answer within the noise of the winner: a run cannot rank two readouts its error bars cannot tell
apart (probe accuracies: :func:`helpers.core.stats.compare_estimates`; mean cosines: their standard errors over
the sentences, :func:`.experiments.within_noise`).
"""

from __future__ import annotations

from ...core.checks import CheckResult
from ...core.checks import unanswered as _unanswered
from ...core.cube import POOLING_LABELS
from ...core.stats import compare_estimates, difference, noise_margin
from .experiments import within_noise


def check_best_pooling(answer, results: dict, layer: int | None = None) -> CheckResult:
    """Check a guess of which pooling the probe read best at ``layer`` (default: the last layer); never raises.

    Any pooling indistinguishable from the best one counts as right (``compare_estimates`` says "about the same":
    paired on the same reviews when the probes carry per-sentence results).

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
    tied = [p for p in probed if p != best and compare_estimates(probed[best], probed[p]) == "about the same"]
    details = {"layer": layer, "scores": scores, "best": best, "within the noise": tied}
    table = ", ".join(f"{p} {s:.3f}" for p, s in sorted(scores.items(), key=lambda kv: -kv[1]))
    guess = str(answer).strip().lower()
    if guess not in scores:
        return CheckResult(False, f"Not quite: {answer!r} is not one of the poolings probed ({', '.join(scores)}).",
                           details)
    if guess == best:
        also = (f" Within the noise of it: {', '.join(tied)}; this run cannot rank those." if tied else "")
        return CheckResult(True, f"Right: at layer {layer} {best} is best ({table}).{also}", details)
    pair = difference(probed[guess], probed[best])
    how = (f"paired on the same reviews, the difference lies within [{pair.lo:+.3f}, {pair.hi:+.3f}]"
           if pair is not None else f"the noise margin is {noise_margin(probed[best], probed[guess]):.3f}")
    if guess in tied:
        return CheckResult(True, (
            f"Right, indistinguishable from the best: at layer {layer} {guess} scores {scores[guess]:.3f} and the best, "
            f"{best}, {scores[best]:.3f}; {how}, so this run cannot tell them apart ({table})."), details)
    return CheckResult(False, (
        f"Not quite: at layer {layer} {answer} scores {scores[guess]:.3f}, {scores[best] - scores[guess]:.3f} below "
        f"the best, {best} ({scores[best]:.3f}); {how} ({table})."), details)


def check_higher_mean_cosine(answer, rows: dict) -> CheckResult:
    """Check a guess of which pooling has the higher average cosine between two random sentences; never raises.

    When the two mean cosines are within the noise of each other (their standard errors over the sentences,
    ``"mean cosine se"`` in the rows), either answer counts as right.

    Args:
        answer: "cls" or "mean" (``"[CLS]"`` is accepted too); ``...``/None = not answered.
        rows: pooling name -> dict with a "mean cosine" entry (and optionally "mean cosine se"), as returned
            by ``retrieval_scores``.
    """
    names = " or ".join(repr(p) for p in rows)
    if _unanswered(answer):
        return CheckResult(None, f"Not answered yet: replace the ... with {names}.")
    cosines = {p: float(r["mean cosine"]) for p, r in rows.items()}
    errors = {p: float(r.get("mean cosine se", 0.0)) for p, r in rows.items()}
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
    if within_noise(cosines[higher], cosines[guess], errors[higher], errors[guess]):
        details["within the noise"] = True
        return CheckResult(True, f"Right, within the noise: the two mean cosines ({table}) are closer than their "
                                 f"standard errors can separate, so this run cannot say which is higher.", details)
    return CheckResult(False, f"Not quite: {name} vectors have the higher mean cosine between "
                              f"random sentences ({table}).", details)


OUTCOMES = ("higher", "lower", "indistinguishable")


def check_mean_head(answer, shipped: dict) -> CheckResult:
    """Check a prediction of how the fine-tuned mean head compares with the fine-tuned [CLS] head in the shipped
    sweep: "higher", "lower" or "indistinguishable" (the paired 95% interval's verdict); never raises.

    Args:
        answer: one of OUTCOMES; ``...``/None = not answered.
        shipped: ``helpers.core.sweep_report.load_sweep()``.
    """
    if _unanswered(answer):
        return CheckResult(None, f"Not answered yet: replace the ... with one of {OUTCOMES}.")
    vs = shipped["results"]["table"]["mean"]["vs_cls"]
    truth = vs["outcome"]
    interval = f"{vs['diff']:+.3f} [{vs['lo']:+.3f}, {vs['hi']:+.3f}]"
    details = {"outcome": truth, "diff": vs["diff"], "lo": vs["lo"], "hi": vs["hi"]}
    guess = str(answer).strip().lower()
    if guess not in OUTCOMES:
        return CheckResult(False, f"Not quite: answer with one of {OUTCOMES}, got {answer!r}.", details)
    if guess == truth:
        return CheckResult(True, f"Right: mean head minus [CLS] head = {interval} on the same test reviews: "
                                 f"{vs['verdict']}.", details)
    return CheckResult(False, f"Not quite: mean head minus [CLS] head = {interval}, so the verdict is "
                              f"{truth!r} ({vs['verdict']}).", details)
