"""Notebook 08's sentences: every "with this model we found ..." line, built from a run's numbers (pure functions)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ...core import patching as P

#: A mean rank correlation whose whole 95% interval lies above this is called a good guide to the causal effect.
GOOD_RHO = 0.5


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _ci(m: float, lo: float, hi: float, pct: bool = True) -> str:
    f = _pct if pct else (lambda v: f"{v:+.2f}")
    return f"{f(m)} [{f(lo)}, {f(hi)}]"


def pair_sentence(sw: P.Sweep) -> str:
    """What one pair's sweep shows, in words."""
    L = len(sw.span) - 1
    word = " ".join(sw.pair.tokens[i] for i in sw.pair.changed)
    word = "sentence B" if len(sw.pair.changed) > 3 else repr(word)
    cls = sw.restored[:, 0]
    first = next((k for k in range(L + 1) if cls[k] > sw.span[k]), None)
    out = (f"Clean score {sw.clean:+.2f}, corrupted {sw.corrupt:+.2f}. Restoring {word} at the embeddings brings back "
           f"{_pct(sw.span[0])} of the difference; at hidden state {L - 1} (the input of the last layer) it still brings "
           f"back {_pct(sw.span[L - 1])}, and [CLS] {_pct(cls[L - 1])}.")
    if first is not None:
        out += f" [CLS] first carries more than {word} at hidden state {first}."
    return out


def knockout_sentence(row: Mapping, others: str = "") -> str:
    """The knockout finding of one model (a :func:`experiments.table_rows` row); ``others``: a clause to append
    (e.g. :func:`knockout_others`)."""
    k = row["knock_layer"]
    m, lo, hi = row["knock"]
    cm, clo, chi = row["knock_changed"]
    sm, slo, shi = row["knock_sep"]
    word = "sentence B" if row["task"] == "next sentence" else "the changed word"
    return (f"{row['model']}: blocking [CLS]'s reading of every word in layer {k} loses {_ci(m, lo, hi)} of the "
            f"difference, the most of any layer; blocking only {word} there loses {_ci(cm, clo, chi)}, only [SEP] "
            f"{_ci(sm, slo, shi)}" + (f"; {others}" if others else "") + ".")


def knockout_others(tr: P.Tracing, k: int) -> str:
    """How much the other layers' knockouts lose (the largest of them)."""
    drops = tr.knock_words.mean(0)
    others = [i for i in range(tr.layers) if i != k - 1]
    j = max(others, key=lambda i: abs(drops[i]))
    return f"no other layer's knockout moves it by more than {_pct(abs(drops[j]))} (layer {j + 1}: {drops[j]:+.0%})"


def heads_sentence(name: str, top: Sequence[tuple[int, int, float]]) -> str:
    """The heads whose ablation at [CLS] loses most."""
    parts = [f"layer {layer} head {head} ({_pct(d)})" for layer, head, d in top]
    return f"{name}: zeroing one head's output at [CLS] loses most of the difference for " + ", ".join(parts) + "."


def three_models_sentence(rows: Sequence[Mapping]) -> str:
    """Do the models put the verdict into [CLS] at the same depth? From the move layers."""
    moves = {r["model"]: r["move"] for r in rows}
    parts = [f"{name} at hidden state {m}" if m is not None else f"{name} never before the output"
             for name, m in moves.items()]
    last = [r["move"] == r["layers"] for r in rows]
    if all(last):
        head = (f"With these {len(rows)} models we found one picture, not {len(rows)}: in every one the difference reaches "
                "[CLS] only in the last layer; before it, [CLS] carries almost none of it")
        head += " (" + ", ".join(f"{r['model']} {_pct(r['cls_before_last'])} at hidden state {r['layers'] - 1}" for r in rows) + ")."
        spread = [f"{r['model']} {_pct(r['changed_before_last'])}" for r in rows]
        return head + (" Where it sits until then differs: restoring the changed word(s) alone at that hidden state "
                       "brings back " + ", ".join(spread) + ".")
    return ("With these models the difference moves into [CLS] at different depths: " + "; ".join(parts) + ".")


def agreement_sentence(ag) -> str:
    """Attention as an explanation, worded from the intervals of the mean rank correlations."""
    parts = []
    for m, (mean, lo, hi) in ag.summary.items():
        if lo > GOOD_RHO:
            word = "a good guide"
        elif lo > 0:
            word = "positively related, weakly"
        elif hi < 0:
            word = "ranked against it"
        else:
            word = "not distinguishable from no relation"
        parts.append(f"{m} rho {_ci(mean, lo, hi, pct=False)}: {word}")
    best = max(ag.summary, key=lambda k: ag.summary[k][0])
    diffs = [d for key, d in ag.versus.items() if best in (d.a, d.b)]
    clear = all(d.outcome != "indistinguishable" for d in diffs)
    tail = (f"{best} agrees best, clearly ({'; '.join(d.verdict() for d in diffs)})" if clear else
            f"{best} has the highest mean, but not clearly ({'; '.join(d.verdict() for d in diffs)})")
    return (f"With {ag.model} on {ag.pairs} pairs, ranking the tokens by the causal effect of restoring them: "
            + "; ".join(parts) + f". {tail}.")


def attention_verdict(ags: Sequence) -> str:
    """Is attention an explanation of where the verdict comes from? One line over every model traced."""
    good = [a.model for a in ags if any(lo > GOOD_RHO for _, lo, _ in a.summary.values())]
    if len(good) == len(ags):
        return ("Verdict: on every model traced here, at least one attention score ranks the tokens as their causal "
                f"effect does (a mean rho whose interval lies above {GOOD_RHO}).")
    if not good:
        return ("Verdict: on no model traced here does any attention score rank the tokens as their causal effect "
                f"does well (no interval lies above {GOOD_RHO}): attention shows where [CLS] looks, not what it uses.")
    return (f"Verdict: attention ranks the tokens as their causal effect does only for {', '.join(good)} (an interval "
            f"above {GOOD_RHO}); for the others it does not: whether attention explains depends on the model.")
