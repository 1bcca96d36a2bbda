"""The "With this model we found: ..." sentences of notebook 04, built from a run's numbers (pure functions).

Each function takes numbers the notebook has computed and returns one string; the verdict words come from the
numbers (``core.stats.compare_estimates`` / ``noise_margin`` for accuracies, the named levels below otherwise),
so another model or another run prints its own story.

    * :func:`training_finding` - did MLM move first, and when did the pair task rise beyond chance?
    * :func:`probe_finding` - what a probe reads from [CLS] at init, after MLM + NSP and after MLM only.
    * :func:`cls_row_finding` - how a pair objective trains [CLS]: what [CLS] reads vs how much others read it
      (:func:`format_cls_rows` prints its numbers as a table).
    * :func:`topic_finding` - the in-domain sentence task: the topic of a held-out story sentence.
    * :func:`intro_finding` - how much of a model's order knowledge is the introduction cue.
    * :func:`albert_finding` - whether this run can test ALBERT's claim about NSP and SOP.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ...core.stats import Estimate, compare_estimates, noise_margin
from .analysis import TRANSFER_LEVEL

FOUND = "With this model we found: "

SELECTIVE_DROP = 0.1
"""How far below the MLM-only twin's the normalised entropy of [CLS]'s row must be, in every layer, to call a
pair-trained [CLS] query "more selective".

The normalised entropy runs from 0 (all weight on one token) to 1 (uniform), so 0.1 is a tenth of the whole
range; the standard error of its mean over 60 pairs is below 0.01 on the shipped checkpoints, so a drop of 0.1
is no sampling accident.
"""

SPECIFIC_DROP = 0.1
"""How far below the MLM-only twin's the mean cosine between different pairs' last-layer [CLS] must be to call
a pair-trained [CLS] output "more pair-specific" (the same tenth of the range as :data:`SELECTIVE_DROP`; the
standard error over 60 pairs is below 0.02 on the shipped checkpoints)."""

COLUMN_TOLERANCE = 0.25
"""Differences in how much others read [CLS] below this fraction of the uniform level (1/n) are "about the same".

Uniform attention would give every token 1/n; a quarter of that is a small change in a weight that is itself a
small share of each row.
"""


def _per_layer(values: Sequence[float]) -> str:
    return "/".join(f"{float(v):.2f}" for v in values)


def _layers(n: int) -> str:
    return "layer 1" if n == 1 else "layers " + "/".join(str(i) for i in range(1, n + 1))


def _beyond_chance(acc: float, chance: float, n: int) -> tuple[str, float]:
    """compare_estimates of one accuracy against chance on ``n`` test items, and the noise margin used."""
    a, b = Estimate([acc]), Estimate([chance])
    return compare_estimates(a, b, n_test=n), noise_margin(a, b, n_test=n)


def _versus(a: Estimate, b: Estimate, n_test: int | None = None) -> str:
    """'higher than B's 0.80 ± 0.01 (by 0.15; noise margin 0.04)' and the like."""
    word = compare_estimates(a, b, n_test)
    margin = noise_margin(a, b, n_test)
    d = a.mean - b.mean
    if word == "about the same":
        return (f"about the same as {b.mean:.3f} ± {b.std:.3f} (difference {d:+.3f}, within the noise margin "
                f"{margin:.3f})")
    return f"{word} than {b.mean:.3f} ± {b.std:.3f} (by {abs(d):.3f}; noise margin {margin:.3f})"


# ----------------------------------------------------------------------------- training curves


def _half_step(evals: Sequence[Mapping], key: str, sign: float) -> int:
    """The first step by which ``key`` had made half of its whole change over the run (sign -1: a fall)."""
    first, last = evals[0][key], evals[-1][key]
    change = sign * (last - first)
    return next((e["step"] for e in evals if sign * (e[key] - first) >= change / 2), evals[-1]["step"])


def _one_run(label: str, evals: Sequence[Mapping], n_pairs: int, task: str, chance: float) -> str:
    if not evals:
        raise ValueError(f"{label}: no evaluations; pass TrainResult.evals (or train_log.json's 'evals').")
    key = f"{task}_acc"
    missing = [k for k in ("step", "mlm_loss", key) if k not in evals[0]]
    if missing:
        raise ValueError(f"{label}: the evaluations lack {missing}; pass the {task.upper()} run's evals.")
    first, last = evals[0], evals[-1]
    fell = first["mlm_loss"] > last["mlm_loss"]
    mlm_half = _half_step(evals, "mlm_loss", -1.0)
    rose = [e for e in evals if _beyond_chance(e[key], chance, n_pairs)[0] == "higher"]
    margin = _beyond_chance(last[key], chance, n_pairs)[1]
    text = (f"in {label} ({last['step']} steps) the held-out MLM loss fell from {first['mlm_loss']:.2f} to "
            f"{last['mlm_loss']:.2f}, half of that fall by step {mlm_half}; ")
    if rose:
        pair_half = _half_step(evals, key, 1.0)
        text += (f"the {task.upper()} accuracy first rose beyond chance at step {rose[0]['step']} "
                 f"({rose[0][key]:.3f}; chance {chance:.2f} ± {margin:.3f} on {n_pairs} held-out pairs), made half "
                 f"of its rise by step {pair_half} and ended at {last[key]:.3f}")
        mlm_first = fell and mlm_half < pair_half
    else:
        text += (f"the {task.upper()} accuracy stayed within the noise of chance ({chance:.2f} ± {margin:.3f} on "
                 f"{n_pairs} held-out pairs) and ended at {last[key]:.3f}")
        mlm_first = fell
    return text + (": MLM moved first" if mlm_first else f": {task.upper()} moved no later than MLM")


def training_finding(runs: Mapping[str, tuple[Sequence[Mapping], int]], task: str = "nsp", chance: float = 0.5) -> str:
    """Did MLM learn first, and when did the pair task rise beyond chance (``compare_estimates`` on n pairs)?

    "MLM moved first" when the MLM loss made half of its fall before the pair accuracy made half of its rise
    (or the pair accuracy never rose beyond chance).

    Args:
        runs: label (e.g. "your live run") -> (evaluations with "step", "mlm_loss", "<task>_acc"; the number of
            held-out pairs they were scored on).
        task: "nsp" or "sop".

    Returns:
        "With this model we found: in <label> ... ; in <label> ...".
    """
    if not runs:
        raise ValueError("runs is empty: give label -> (evals, number of held-out pairs).")
    if task not in ("nsp", "sop"):
        raise ValueError(f"task must be 'nsp' or 'sop', got {task!r}.")
    return FOUND + "; ".join(_one_run(label, ev, n, task, chance) for label, (ev, n) in runs.items()) + "."


# ----------------------------------------------------------------------------- probes on [CLS]


def probe_finding(rows: Mapping[str, Sequence], init: str = "init", nsp: str = "MLM + NSP",
                  mlm: str = "MLM only") -> str:
    """A random [CLS] against chance, and the NSP-trained [CLS] against the MLM-only twin, from the probes.

    Args:
        rows: model label -> (is-next ProbeResult, same-topic ProbeResult), as notebook 04 builds them.

    Returns:
        "With this model we found: ..." with every verdict from ``core.stats.compare_estimates``.
    """
    missing = [k for k in (init, nsp, mlm) if k not in rows]
    if missing:
        raise ValueError(f"rows lacks {missing}: give the init, MLM + NSP and MLM-only probe results.")
    r0 = rows[init][0]
    word, margin = _beyond_chance(r0.mean, r0.chance, r0.n_test)
    d = r0.mean - r0.chance
    if word == "about the same":
        start = (f"a random [CLS] reads 'is next' at {r0.mean:.3f} ± {r0.std:.3f} against chance {r0.chance:.3f}, "
                 f"a difference of {d:+.3f} within the noise margin {margin:.3f} ({r0.n_test} test pairs): at "
                 "initialisation it carries nothing we can measure")
    else:
        start = (f"a random [CLS] reads 'is next' at {r0.mean:.3f} ± {r0.std:.3f}, {word} than chance "
                 f"{r0.chance:.3f} (by {abs(d):.3f}; noise margin {margin:.3f}, {r0.n_test} test pairs)")
    parts = [start]
    for k, what in enumerate(("is next", "same topic")):
        a, b = rows[nsp][k], rows[mlm][k]
        parts.append(f"'{what}' from the {nsp} [CLS] is {a.mean:.3f} ± {a.std:.3f}, {_versus(a, b)} for {mlm}")
    return FOUND + "; ".join(parts) + "."


# ----------------------------------------------------------------------------- what [CLS] reads


def format_cls_rows(rows: Mapping[str, Mapping]) -> str:
    """A small table of :func:`.analysis.cls_attention_rows`: per model, the entropy and share on words of what
    [CLS] reads in every layer, and the mean cosine between different pairs' last-layer [CLS] ("alike")."""
    if not rows:
        raise ValueError("rows is empty: give model label -> cls_row_stats(...).")
    n = len(np.asarray(next(iter(rows.values()))["entropy"]))
    width = max(len(k) for k in rows) + 2
    head = (f"{'':<{width}}" + "".join(f"{'entropy L' + str(i):>12}" for i in range(1, n + 1))
            + "".join(f"{'words L' + str(i):>10}" for i in range(1, n + 1)) + f"{'alike':>8}")
    lines = [head]
    for name, r in rows.items():
        lines.append(f"{name:<{width}}" + "".join(f"{float(v):>12.2f}" for v in r["entropy"])
                     + "".join(f"{float(v):>10.2f}" for v in r["words"]) + f"{float(r['alike']):>8.2f}")
    return "\n".join(lines)


def cls_row_finding(rows: Mapping[str, Mapping], mlm: str = "MLM only", init: str = "init") -> str:
    """How a pair objective trains [CLS], from :func:`.analysis.cls_attention_rows`'s numbers.

    A pair-trained model (every label but ``mlm`` and ``init``) is "more selective" when the normalised entropy
    of what [CLS] reads is at least :data:`SELECTIVE_DROP` below the MLM-only twin's in every layer, and "more
    pair-specific" when the mean cosine between different pairs' last-layer [CLS] is at least
    :data:`SPECIFIC_DROP` below it. How much others read [CLS] is "about the same" when it differs from the twin's
    by less than :data:`COLUMN_TOLERANCE` of the uniform level in every layer.

    Args:
        rows: label -> {"entropy": (L,), "words": (L,), "others": (L,), "alike": float, "uniform": float}.

    Returns:
        "With this model we found: ..." (the numbers, then the verdict).
    """
    if mlm not in rows:
        raise ValueError(f"rows lacks the MLM-only twin {mlm!r}: it is what the pair objectives are compared with.")
    pair = [k for k in rows if k not in (mlm, init)]
    if not pair:
        raise ValueError("rows holds no pair-trained model: add e.g. 'MLM + NSP'.")
    n = len(np.asarray(rows[mlm]["entropy"]))
    base = rows[mlm]
    numbers = (f"what [CLS] reads has a normalised entropy ({_layers(n)}; 1 = uniform) of "
               + ", ".join(f"{k} {_per_layer(r['entropy'])}" for k, r in rows.items())
               + ", with a share on words of " + ", ".join(f"{k} {_per_layer(r['words'])}" for k, r in rows.items())
               + "; the mean cosine between different pairs' last-layer [CLS] is "
               + ", ".join(f"{k} {r['alike']:.2f}" for k, r in rows.items()))
    selective = {k: bool(np.all(np.asarray(base["entropy"]) - np.asarray(rows[k]["entropy"]) >= SELECTIVE_DROP))
                 for k in pair}
    specific = {k: base["alike"] - rows[k]["alike"] >= SPECIFIC_DROP for k in pair}
    both = [k for k in pair if selective[k] and specific[k]]
    verdict = []
    if both:
        verdict.append(f"{' and '.join(both)} made the [CLS] query more selective (entropy at least "
                       f"{SELECTIVE_DROP:.1f} below {mlm} in every layer) and its output more pair-specific (mean "
                       f"cosine at least {SPECIFIC_DROP:.1f} lower): that is how a pair objective trains [CLS], by "
                       "what [CLS] reads")
    for k in pair:
        if k in both:
            continue
        got = [w for w, ok in (("more selective", selective[k]), ("more pair-specific", specific[k])) if ok]
        verdict.append(f"{k} made [CLS] {' and '.join(got) if got else 'neither more selective nor more pair-specific'}"
                       f" than {mlm} by these levels")
    uniform = float(base["uniform"])
    gaps = {k: float(np.max(np.abs(np.asarray(rows[k]["others"]) - np.asarray(base["others"])))) for k in pair}
    for same in (True, False):
        group = [k for k in pair if (gaps[k] < COLUMN_TOLERANCE * uniform) == same]
        if group:
            verdict.append(f"how much others read [CLS] is {'about the same' if same else 'different'} in "
                           f"{', '.join(group)} and {mlm} (at most {max(gaps[k] for k in group):.3f} apart per layer; "
                           f"uniform {uniform:.3f})")
    return FOUND + numbers + ". " + "; ".join(verdict) + "."


# ----------------------------------------------------------------------------- the topic task


def topic_finding(results: Mapping[str, Estimate], ours: str = "MLM + NSP [CLS]", twin: str = "MLM only [CLS]",
                  mean: str = "MLM + NSP masked mean", n_topics: int | None = None) -> str:
    """The in-domain verdict: the NSP-trained [CLS] against its MLM-only twin's [CLS] and against the mean.

    Args:
        results: feature label -> ProbeResult (from :func:`.analysis.topic_probe`).
        n_topics: how many topics there are (for the sentence).

    Returns:
        "With this model we found: ..." with the verdicts of ``core.stats.compare_estimates``.
    """
    missing = [k for k in (ours, twin, mean) if k not in results]
    if missing:
        raise ValueError(f"results lacks {missing}: probe [CLS] of both models and the mean (topic_probe).")
    r = results[ours]
    n_test = getattr(r, "n_test", None)
    what = f"{n_topics} topics, " if n_topics else ""
    chance = getattr(r, "chance", None)
    setting = f"({what}chance {chance:.3f}, {n_test} test sentences)" if chance is not None else ""
    return (FOUND + f"on the topic of a held-out story sentence {setting}, the {ours} reads "
            f"{r.mean:.3f} ± {r.std:.3f}: "
            f"{_versus(r, results[twin], n_test)} for the {twin}, and {_versus(r, results[mean], n_test)} for the "
            f"{mean}.")


# ----------------------------------------------------------------------------- order


def intro_finding(split: Mapping[str, Mapping], chance: float = 0.5) -> str:
    """Per model: is its accuracy on swapped pairs WITHOUT the introduction beyond chance (n of those pairs)?

    Args:
        split: from :func:`.analysis.intro_split`.

    Returns:
        "With this model we found: ..." naming, per model, whether its order knowledge is the introduction cue.
    """
    if not split:
        raise ValueError("split is empty: pass intro_split(...)'s result.")
    parts = []
    for name, row in split.items():
        word, margin = _beyond_chance(row["without intro"], chance, int(row["n without"]))
        head = (f"{name} is right on {row['with intro']:.3f} of the pairs with the introduction and "
                f"{row['without intro']:.3f} without it (chance {chance:.2f} ± {margin:.3f} on "
                f"{row['n without']} pairs)")
        if word == "about the same":
            parts.append(head + ": its order knowledge is the introduction cue alone")
        elif word == "higher":
            parts.append(head + ": it knows order beyond the introduction cue")
        else:
            parts.append(head + ": below chance without the introduction, so it learned the order backwards there")
    return FOUND + "; ".join(parts) + "."


def albert_finding(table: Mapping[str, Mapping[str, float]], published_sop_on_sop: float,
                   sop_evals: Sequence[Mapping] | None = None, n_pairs: int | None = None,
                   transfer_level: float = TRANSFER_LEVEL) -> str:
    """Can this run test ALBERT's claim (NSP learns topic, not order; SOP learns order and still solves NSP)?

    It can only if the SOP model learned its own task about as well as ALBERT's did (``published_sop_on_sop``, as a
    fraction) and NSP did not transfer to order through a cue ALBERT's text lacks (here: every story follows a
    script, so NSP's true pairs all run forward through it; "transfers" is above ``transfer_level``).

    Args:
        table: from :func:`.analysis.order_table` with "NSP-trained" and "SOP-trained".
        sop_evals: the SOP model's held-out evaluations (train_log.json's "evals"), to say whether its curve
            was still rising at the end; ``n_pairs`` the held-out pairs they were scored on.

    Returns:
        "With this model we found: ..." ending with whether this run can test the claim, and what it would need.
    """
    for k in ("NSP-trained", "SOP-trained"):
        if k not in table:
            raise ValueError(f"table lacks {k!r}: pass order_table({{'NSP-trained': ..., 'SOP-trained': ...}}, ...).")
    if not 0.0 < published_sop_on_sop <= 1.0:
        raise ValueError(f"published_sop_on_sop must be a fraction (e.g. 0.865), got {published_sop_on_sop}.")
    sop_own, nsp_own = table["SOP-trained"]["SOP pairs"], table["NSP-trained"]["NSP pairs"]
    nsp_on_sop = table["NSP-trained"]["SOP pairs"]
    weak = sop_own < published_sop_on_sop
    script = nsp_on_sop > transfer_level
    facts = [f"the SOP-trained model reaches {sop_own:.3f} on its own task (ALBERT's: {published_sop_on_sop:.3f}; "
             f"the NSP-trained model {nsp_own:.3f} on its own)"]
    rising = None
    if sop_evals:
        key = "sop_acc"
        if any(key not in e or "step" not in e for e in sop_evals):
            raise ValueError("sop_evals must be the SOP run's evaluations (each with 'step' and 'sop_acc').")
        mid = sop_evals[len(sop_evals) // 2]
        last = sop_evals[-1]
        best = max(sop_evals, key=lambda e: e[key])
        n = n_pairs or 1
        rising = compare_estimates(Estimate([last[key]]), Estimate([mid[key]]), n_test=n) == "higher"
        trend = "was still rising" if rising else "was no longer rising"
        facts.append(f"its held-out curve {trend} over the second half of training (step {mid['step']}: "
                     f"{mid[key]:.3f}, step {last['step']}: {last[key]:.3f}; best "
                     f"{best[key]:.3f} at step {best['step']})")
    facts.append(f"the NSP-trained model {'transfers' if script else 'barely transfers'} to order ({nsp_on_sop:.3f} "
                 f"on swapped pairs, transfer level {transfer_level:.2f})")
    if weak or script:
        why = []
        if weak:
            why.append("the SOP model reaches only a modest accuracy on its own task")
        if script:
            why.append("NSP transfers to order here because each story follows a script, so NSP's true pairs "
                       "always run forward through it")
        need = []
        if weak:
            need.append("an SOP model trained until it learns its task" + (
                "" if rising is None or rising else " (this one's curve had stopped rising, so that takes another "
                "recipe or a larger model, not just more steps)"))
        if script:
            need.append("text whose sentences do not follow a fixed script (real text has none), with NotNext "
                        "negatives drawn from the same topic to separate the topic cue from coherence (the confound "
                        "ALBERT's argument rests on)")
        verdict = (f"so this run cannot test ALBERT's claim: {' and '.join(why)}. Testing it would need "
                   f"{' and '.join(need)}: that means retraining, which this notebook does not do")
    else:
        verdict = ("so this run can test ALBERT's claim: the SOP model learned its task as well as ALBERT's did and "
                   "NSP did not carry over to order")
    return FOUND + "; ".join(facts) + "; " + verdict + "."
