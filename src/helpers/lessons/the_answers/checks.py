"""The Try-it checks of notebook 09: read a verdict off the sweep's intervals, list the readouts that fall short of
[CLS], and compute P(IsNext) from [CLS] by hand. They never raise."""

from __future__ import annotations

import numpy as np

from ...core.checks import CheckResult
from ...core.checks import unanswered as _unanswered
from ...core.readouts import get_readout
from ...core.sweep_report import readouts_of

#: Largest gap between a hand-computed probability and the head's own still counted as the same (float32 rounding
#: of two small matrix products stays around 1e-6).
PROB_TOLERANCE = 1e-4


def check_first_word(answer, sweep: dict, readout: str = "first") -> CheckResult:
    """"After fine-tuning, is a head on the first word indistinguishable from the [CLS] head?" answered True/False.

    The truth is the paired 95% interval of the shipped sweep: indistinguishable when it contains 0.
    """
    if _unanswered(answer):
        return CheckResult(None, "Not answered yet: replace the ... with True or False.")
    if not isinstance(answer, (bool, np.bool_)):
        return CheckResult(False, f"Answer True or False, not {answer!r}.")
    vs = sweep["results"]["table"][readout]["vs_cls"]
    truth = vs["lo"] <= 0 <= vs["hi"]
    label = get_readout(readout).label
    interval = f"{vs['diff']:+.3f} [{vs['lo']:+.3f}, {vs['hi']:+.3f}]"
    details = {"truth": truth, "diff": vs["diff"], "lo": vs["lo"], "hi": vs["hi"]}
    where = "contains 0" if truth else ("lies above 0" if vs["lo"] > 0 else "lies below 0")
    if bool(answer) == truth:
        return CheckResult(True, f"Right: {label} minus [CLS] = {interval}; the interval {where}, so the two heads are "
                                 f"{'indistinguishable on these reviews' if truth else vs['outcome'] + ' apart'}.", details)
    return CheckResult(False, f"Not quite: {label} minus [CLS] = {interval}. Does the interval [lo, hi] contain 0? It "
                              f"{where}.", details)


def check_lower_readouts(answer, sweep: dict) -> CheckResult:
    """"Which fine-tuned readouts are lower than the [CLS] head?" answered as a set of readout keys ("mean", "pos2", ...)."""
    t = sweep["results"]["table"]
    others = [k for k in readouts_of(sweep) if k != "cls"]
    truth = {k for k in others if t[k]["vs_cls"]["outcome"] == "lower"}
    if _unanswered(answer):
        return CheckResult(None, f"Not answered yet: replace the ... with a set of readout keys from {others}, "
                                 "e.g. {\"max\", \"sep\"}, or set() for none.")
    if isinstance(answer, str) or not isinstance(answer, (set, frozenset, list, tuple)):
        return CheckResult(False, f"Answer with a set of readout keys, e.g. {{\"max\", \"sep\"}}, not {answer!r}.")
    guess = {str(k) for k in answer}
    unknown = guess - set(others)
    details = {"truth": sorted(truth), "guess": sorted(guess)}
    if unknown:
        return CheckResult(False, f"Not quite: {sorted(unknown)} {'is' if len(unknown) == 1 else 'are'} not among the "
                                  f"sweep's other readouts {others}.", details)
    rows = ", ".join(f"{k} {t[k]['vs_cls']['diff']:+.3f} [{t[k]['vs_cls']['lo']:+.3f}, {t[k]['vs_cls']['hi']:+.3f}]"
                     for k in others)
    if guess == truth:
        names = ", ".join(get_readout(k).label for k in sorted(truth)) or "none"
        return CheckResult(True, f"Right: lower than [CLS] after fine-tuning: {names} (their intervals lie below 0; "
                                 f"every readout: {rows}).", details)
    missing, extra = sorted(truth - guess), sorted(guess - truth)
    hint = []
    if missing:
        hint.append(f"{len(missing)} readout(s) whose interval lies wholly below 0 are missing")
    if extra:
        hint.append(f"{len(extra)} of yours ha{'s' if len(extra) == 1 else 've'} an interval that reaches 0 or lies above it")
    return CheckResult(False, "Not quite: " + "; ".join(hint) + ". Lower means hi < 0 in the vs_cls interval.", details)


def check_p_is_next(answer, parts: dict) -> CheckResult:
    """"Compute P(IsNext) from the [CLS] vectors by hand": (B,) P(IsNext) per pair, or the (B,2) softmax, against the
    NSP head's own output (``parts`` from :func:`~.evidence.nsp_parts`)."""
    if _unanswered(answer):
        return CheckResult(None, "Not answered yet: replace the ... with P(IsNext) for each pair, one number per pair.")
    head = parts["head_probs"].float().numpy()  # (B,2): IsNext is class 0
    try:
        got = np.asarray(answer.detach().float().cpu() if hasattr(answer, "detach") else answer, dtype=np.float64)
    except (TypeError, ValueError):
        return CheckResult(False, f"Not a list of numbers: {type(answer).__name__}. Give one P(IsNext) per pair.")
    want = head if got.ndim == 2 else head[:, 0]
    if got.shape != want.shape:
        return CheckResult(False, f"Not quite: the answer has shape {got.shape}; give one P(IsNext) per pair, shape "
                                  f"{want.shape}.", {"shape": got.shape})
    gap = float(np.abs(got - want).max())
    details = {"max_gap": gap}
    if gap <= PROB_TOLERANCE:
        return CheckResult(True, f"Right: your P(IsNext) matches the head's own to {gap:.1e} on all {len(want)} pairs. "
                                 f"The {parts['cls_vec'].shape[-1]} numbers of [CLS] go through the pooler (dense + tanh) "
                                 "and the NSP layer before they are a probability.", details)
    return CheckResult(False, f"Not quite: your numbers differ from the head's P(IsNext) by up to {gap:.3f}. The path is "
                              "pooler dense, then tanh, then the NSP layer, then a softmax over its two outputs (IsNext is "
                              "class 0).", details)
