"""The "With this model we found: ..." sentences of notebook 05, built from this run's numbers (pure functions).

The notebook's "What to look for" stays general (true for any model); these functions say what this run shows.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ...core.stats import Estimate, compare_estimates, noise_margin
from .classifier import ClassifyResult

PLAIN_KIND = "plain"
"""The review kind that is not one of the deliberately hard ones (negation, sarcasm, mixed, comparison)."""

LEAN_SE = 2.0
"""Errors "lean to one side" when two classes' error rates differ by more than this many standard errors
(pooled binomial standard error of the difference of two proportions): the course's usual two-standard-error
rule (as in :func:`helpers.core.stats.noise_margin`)."""


def error_lean(confusion, label_names: Sequence[str]) -> dict:
    """Per true class, how many were misclassified; and whether the errors lean to one class.

    Args:
        confusion: (K,K) counts, rows = true label, columns = predicted.
        label_names: K names.

    Returns:
        dict with "errors" and "sizes" (per class), "rates", "most"/"least" (class names with the highest and
        lowest error rate), "gap" (their difference), "se" (its pooled standard error) and "leans" (bool).
    """
    cm = np.asarray(confusion, dtype=float)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(label_names) or cm.shape[0] < 2:
        raise ValueError(f"confusion must be (K,K) with K >= 2 and one name per class; got shape {cm.shape} and "
                         f"{len(label_names)} names.")
    sizes = cm.sum(1)
    errors = sizes - np.diag(cm)
    rates = np.where(sizes > 0, errors / np.maximum(sizes, 1), 0.0)
    hi, lo = int(np.argmax(rates)), int(np.argmin(rates))
    pooled = (errors[hi] + errors[lo]) / max(sizes[hi] + sizes[lo], 1)
    se = math.sqrt(pooled * (1 - pooled) * (1 / max(sizes[hi], 1) + 1 / max(sizes[lo], 1)))
    gap = float(rates[hi] - rates[lo])
    return {"errors": errors.astype(int).tolist(), "sizes": sizes.astype(int).tolist(), "rates": rates.tolist(),
            "most": label_names[hi], "least": label_names[lo], "gap": gap, "se": se,
            "leans": bool(errors.sum() > 0 and gap > LEAN_SE * se)}


def classify_findings(result: ClassifyResult, mistake_kinds: Sequence[str], test_kinds: Sequence[str]) -> str:
    """"With this model we found: ..." for the logistic regression on [CLS]: baseline, lean of the errors, kinds.

    Args:
        result: classify()'s result on the test set.
        mistake_kinds: the kind of each confident mistake listed (``misclassified(..., kind=...)``).
        test_kinds: the kind of every test sentence, for the share each kind has in the test set.
    """
    n_test = len(result.predictions)
    dummy = Estimate([result.dummy], "dummy baseline")
    verdict = compare_estimates(result.per_seed, dummy, n_test=n_test)
    margin = noise_margin(result.per_seed, dummy, n_test=n_test)
    diff = result.per_seed.mean - result.dummy
    if verdict == "higher":
        first = (f"the logistic regression on [CLS] scores {result.per_seed.mean:.3f} ± {result.per_seed.std:.3f} "
                 f"over {result.per_seed.n} seeds, {diff:.3f} above the dummy baseline {result.dummy:.3f}, more than "
                 f"the noise ({margin:.3f} on {n_test} test sentences)")
    else:
        first = (f"the logistic regression on [CLS] scores {result.per_seed.mean:.3f} ± {result.per_seed.std:.3f}, "
                 f"{diff:+.3f} from the dummy baseline {result.dummy:.3f}: within the noise ({margin:.3f} on {n_test} "
                 f"test sentences), so this run cannot say that these vectors carry the label")
    lean = error_lean(result.confusion, result.label_names)
    i, j = result.label_names.index(lean["most"]), result.label_names.index(lean["least"])
    counts = (f"{lean['errors'][i]} of {lean['sizes'][i]} true {lean['most']} misclassified "
              f"({lean['rates'][i]:.0%}) against {lean['errors'][j]} of {lean['sizes'][j]} true {lean['least']} "
              f"({lean['rates'][j]:.0%})")
    if sum(lean["errors"]) == 0:
        second = "there are no errors to lean anywhere"
    elif lean["leans"]:
        second = f"the errors lean to one side: {counts}"
    else:
        second = f"the errors do not lean clearly to one side ({counts}, within {LEAN_SE:g} standard errors)"
    kinds = list(mistake_kinds)
    if kinds:
        hard = [k for k in kinds if k != PLAIN_KIND]
        share_test = float(np.mean([k != PLAIN_KIND for k in test_kinds])) if len(test_kinds) else float("nan")
        more = "more" if len(hard) / len(kinds) > share_test else "not more"
        verb = "is" if len(hard) == 1 else "are"
        third = (f"{len(hard)} of the {len(kinds)} most confident mistakes {verb} of the hard kinds, against "
                 f"{share_test:.0%} of the test set: {more} than their share (a handful of sentences: a hint, "
                 f"not a measurement)")
    else:
        third = "there are no mistakes to sort by kind"
    return f"With this model we found: {first}; {second}; {third}."
