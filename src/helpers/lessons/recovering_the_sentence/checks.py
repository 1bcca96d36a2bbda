"""Notebook 07 · the Try-it checks. Each returns a CheckResult (✅ / ❌ / not answered) and never raises."""

from __future__ import annotations

import numpy as np

from ...core.checks import CheckResult, unanswered
from ...core.stats import as_numpy
from .experiments import SplitStudy, split_difference, split_verdict
from .order import OrderTest


def _noise_note(study: SplitStudy | None, a, b, level: float = 0.95) -> tuple[str | None, str]:
    """(verdict or None, text) for estimate a against b over the study's splits."""
    if study is None or a is None or b is None:
        return None, ""
    lo, hi = split_difference(a, b).ci(level)
    return split_verdict(a, b, level), (f"; over {len(study.seeds)} splits the difference is "
                                         f"{a.mean - b.mean:+.3f}, {level:.0%} interval [{lo:+.3f}, {hi:+.3f}]")


def check_leakier(answer, results: dict, layer: int | None = None, study: SplitStudy | None = None) -> CheckResult:
    """Check a guess of which pooling lets the probe recover more words (higher F1) at ``layer``; never raises.

    Args:
        results: ``inversion_by_layer`` output (one split).
        study: optional ``inversion_over_splits`` output: when the two poolings' F1 are indistinguishable over
            its splits (paired interval straddling 0), either answer is accepted as within the noise.
    """
    if unanswered(answer):
        return CheckResult(None, "Not answered yet: replace the ... with 'cls' or 'mean'.")
    guess = str(answer).strip().lower()
    if guess not in results:
        return CheckResult(False, f"Not quite: answer with one of {sorted(results)}, got {answer!r}.")
    layer = max(results[guess]) if layer is None else layer
    f1 = {p: per[layer]["f1"] for p, per in results.items()}
    best = max(f1, key=f1.get)
    details = {"layer": layer, "f1": f1, "best": best}
    table = ", ".join(f"{p} F1 {v:.3f}" for p, v in f1.items())
    other = next((p for p in f1 if p != guess), None)
    verdict, note = None, ""
    if study is not None and other is not None and guess in study.f1 and other in study.f1:
        verdict, note = _noise_note(study, study.f1[guess].get(layer), study.f1[other].get(layer))
    details["verdict"] = verdict
    whys = {"mean": "the mean keeps one term per token, so the words' own vectors are still in it; [CLS] holds only "
                    "what attention copied into one position",
            "cls": "this model's attention has gathered the words into [CLS] more sharply than the average of every "
                   "position keeps them"}
    if verdict == "indistinguishable":
        return CheckResult(True, f"Right, within the noise: at layer {layer} {table}{note}, so neither gives away "
                                 f"clearly more.", details)
    right = guess == best if verdict is None else verdict == "higher"
    if verdict is not None:
        best = guess if right else other
        details["best"] = best
    if right:
        return CheckResult(True, f"Right: at layer {layer} {best} gives away more words ({table}{note}). "
                                 f"Why: {whys.get(best, 'compare what each pooling averages')}.",
                           details)
    return CheckResult(False, f"Not quite: at layer {layer} {best} gives away more words ({table}{note}).", details)


#: An F1 gap over the baseline smaller than this is called "by a hair" in check_beats_baseline's message.
SMALL_F1_GAP = 0.01


def check_beats_baseline(answer, results: dict, baseline: dict, pooling: str = "cls",
                         layer: int | None = None, study: SplitStudy | None = None) -> CheckResult:
    """Check a True/False guess: does ``pooling``'s probe at ``layer`` beat the frequent-words baseline (higher F1)?

    Args:
        answer: True or False; ``...``/None = not answered.
        results: ``inversion_by_layer`` output, pooling -> layer -> {"precision", "recall", "f1"}.
        baseline: ``frequent_words_baseline`` output.
        pooling: which vector the question is about.
        layer: which layer; default the last one probed.
        study: optional ``inversion_over_splits`` output; when given, the verdict is its paired interval
            (probe minus baseline over the splits) and a difference within the noise accepts either answer.

    Without ``study`` the verdict is the plain comparison of the two F1 values; a gap under ``SMALL_F1_GAP`` is
    flagged as too small to show word identity.
    """
    if unanswered(answer):
        return CheckResult(None, "Not answered yet: replace the ... with True or False.")
    if not isinstance(answer, (bool, np.bool_)):
        return CheckResult(False, f"Not quite: answer True or False, not {answer!r}.")
    if pooling not in results:
        return CheckResult(False, f"Not quite: {pooling!r} was not probed; the results hold {sorted(results)}.")
    layer = max(results[pooling]) if layer is None else layer
    if layer not in results[pooling]:
        return CheckResult(False, f"Not quite: layer {layer} was not probed; the results hold "
                                  f"{sorted(results[pooling])}.")
    probe_f1, base_f1 = float(results[pooling][layer]["f1"]), float(baseline["f1"])
    truth = probe_f1 > base_f1
    verdict, note = None, ""
    if study is not None and pooling in study.f1:
        verdict, note = _noise_note(study, study.f1[pooling].get(layer), study.baseline["f1"])
        if verdict is not None:
            truth = verdict == "higher"
    details = {"layer": layer, "probe_f1": probe_f1, "baseline_f1": base_f1, "beats": truth, "verdict": verdict}
    numbers = f"{pooling} probe F1 {probe_f1:.3f} vs frequent-words baseline F1 {base_f1:.3f} at layer {layer}{note}"
    if verdict == "indistinguishable":
        return CheckResult(True, f"Right, within the noise: {numbers}. The probe and the baseline cannot be told "
                                 "apart, so this vector shows no clear word identity beyond 'which words are common'.",
                           details)
    if bool(answer) == truth:
        if not truth:
            meaning = "so a guess of the common words does as well as reading this vector"
        elif verdict is None and probe_f1 - base_f1 < SMALL_F1_GAP:
            meaning = ("but only by a hair: a probe can edge past the baseline just by guessing a different number "
                       "of the common words, so only a clear gap shows that the vector holds the sentence's words")
        else:
            meaning = "so the vector holds word identity beyond 'which words are common'"
        return CheckResult(True, f"Right: {numbers}, {meaning}.", details)
    return CheckResult(False, f"Not quite: {numbers}. Compare the F1 in the table's row for layer {layer} with the "
                              f"baseline's line above it.", details)


#: The choices of the "why is layer-0 [CLS] no better than the baseline?" question.
LAYER0_REASONS: dict[str, str] = {
    "a": "the linear probe is too weak to read anything at layer 0",
    "b": "every sentence's layer-0 [CLS] is the same vector",
    "c": "the vocabulary words are not in the sentences yet at layer 0",
}

#: Two vectors whose largest coordinate difference is below this fraction of their length count as the same.
SAME_VECTOR_TOL: float = 1e-5


def check_layer0_why(answer, cls_layer0, results: dict) -> CheckResult:
    """Why does the layer-0 [CLS] probe do no better than the frequent-words baseline? (a, b or c of LAYER0_REASONS)

    Args:
        answer: "a", "b" or "c".
        cls_layer0: (N,H) the sentences' [CLS] vectors at hidden state 0.
        results: ``inversion_by_layer`` output (for the layer-0 mean, the contrast that rules out "a").
    """
    if unanswered(answer):
        return CheckResult(None, "Not answered yet: replace the ... with 'a', 'b' or 'c'.")
    guess = str(answer).strip().strip("'\"()").lower()
    if guess not in LAYER0_REASONS:
        return CheckResult(False, f"Not quite: answer with one of {sorted(LAYER0_REASONS)}, got {answer!r}.")
    x = as_numpy(cls_layer0)
    if x.ndim != 2 or len(x) < 2:
        return CheckResult(False, f"Pass the (N,H) layer-0 [CLS] vectors (feats['cls'][0]), got shape {x.shape}.")
    spread = float(np.abs(x - x[0]).max() / max(float(np.linalg.norm(x[0])), 1e-12))
    same = spread < SAME_VECTOR_TOL
    mean0 = results.get("mean", {}).get(0, {}).get("f1")
    contrast = f" (the same probe reads the layer-0 mean at F1 {mean0:.3f})" if mean0 is not None else ""
    details = {"spread": spread, "same_vector": same, "mean_f1_layer0": mean0}
    if guess == "b" and same:
        return CheckResult(True, f"Right: the {len(x)} sentences' layer-0 [CLS] vectors differ by at most {spread:.1e} "
                                 "of their length. Hidden state 0 is the embedding of the token [CLS] at position 0 in "
                                 "segment 0, before any attention has mixed in the sentence; a probe of a constant "
                                 "makes one guess for every sentence, which is what the baseline does.", details)
    if guess == "b":
        return CheckResult(False, f"Not for this model: its layer-0 [CLS] vectors differ (up to {spread:.1e} of their "
                                  "length), so look for another reason.", details)
    if guess == "a":
        return CheckResult(False, f"Not quite: the probe is not the problem{contrast}. Compare the [CLS] vectors of two "
                                  "sentences at layer 0: feats['cls'][0][0] and feats['cls'][0][1].", details)
    return CheckResult(False, "Not quite: the words are in the sentence from the start (the layer-0 mean is the average "
                              f"of their embeddings{contrast}); the question is what the [CLS] position holds before "
                              "attention. Compare feats['cls'][0][0] with feats['cls'][0][1].", details)


def check_knows_order(answer, order: OrderTest, pooling: str = "cls", layer: int | None = None) -> CheckResult:
    """Check a True/False prediction: does ``pooling`` at ``layer`` (default: the last) tell a sentence from its shuffle?

    The truth is :meth:`~.order.OrderTest.tells` (the probe above chance by more than the course's noise margin).
    """
    if unanswered(answer):
        return CheckResult(None, "Not answered yet: replace the ... with True or False.")
    if not isinstance(answer, (bool, np.bool_)):
        return CheckResult(False, f"Not quite: answer True or False, not {answer!r}.")
    try:
        truth = order.tells(pooling, layer)
    except ValueError as exc:
        return CheckResult(False, f"Not quite: {exc}")
    layer = order.layers[-1] if layer is None else layer
    probe = order.probe[pooling][layer]
    numbers = (f"at layer {layer} the {pooling} probe tells originals from shuffles at {probe.mean:.3f} ± "
               f"{probe.std:.3f} (chance {probe.chance:.3f}, {order.n_test} test sentences in both versions); "
               f"shuffling moves the vector {order.moved[pooling][layer]:.2f} of the way to another sentence")
    details = {"layer": layer, "accuracy": probe.mean, "chance": probe.chance, "tells": truth}
    if bool(answer) == truth:
        meaning = ("so the vector carries word order, not only a bag of words" if truth else
                   "so for this vector a shuffled sentence is as good as the original: it is close to a bag of words")
        return CheckResult(True, f"Right: {numbers}, {meaning}.", details)
    return CheckResult(False, f"Not quite: {numbers}.", details)
