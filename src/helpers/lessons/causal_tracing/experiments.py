"""Notebook 08's experiments: the three traced models, their pairs, and attention against the causal effect.

The patching itself (pairs, scorer, sweep, knockout, head ablation, the guards) is the core's
(:mod:`helpers.core.patching`); this module chooses the models and the sizes, runs them and compares the causal
effect per token with notebook 03's attention scores (raw attention, rollout, flow, from :mod:`helpers.core.flow`).
Shapes: P = pairs, L = layers, A = heads, n = tokens of one pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ...core import patching as P
from ...core.attention import cube_example
from ...core.cube import encode
from ...core.flow import explanation_scores, rank_agreement
from ...core.stats import bootstrap_mean, paired_difference
from ...core.token_kinds import cube_kinds

#: Pairs traced per model: full lesson, quick mode.
PAIRS = {"full": 32, "quick": 6}
#: The two trained-[CLS] models the notebook always traces (the third is the model the reader loaded).
TRAINED = ("embedded-cls-tuned", "minilm-nsp")
#: Attention scores compared with the causal effect, in display order.
METHODS = ("raw attention", "rollout", "flow")


@dataclass
class Traced:
    """One model's tracing and how it was set up."""

    name: str
    role: str
    scorer: P.Scorer
    lm: object
    tracing: P.Tracing
    candidates: int = 0


def role_of(lm) -> str:
    """How a model's score is read, in words (which head, or a frozen probe)."""
    if getattr(lm, "head", None) is not None:
        return "its fine-tuned classification head on [CLS]"
    if lm.has_nsp:
        return "its next-sentence head (the pooler on [CLS], then a linear layer)"
    return "a frozen linear probe on its last layer's [CLS] (its own objective never read [CLS])"


def models_to_trace(lm) -> list[str]:
    """The trained-[CLS] models, then the reader's model when it is another one."""
    names = list(TRAINED)
    if lm.name not in names:
        names.append(lm.name)
    return names


def trace_models(lm, n_pairs: int, names: Sequence[str] | None = None, progress: bool = True) -> dict[str, Traced]:
    """Trace each model (patching, knockout, head ablation) on its first ``n_pairs`` pairs that move its score."""
    from ...core.models import load_model

    out = {}
    for name in names or models_to_trace(lm):
        model = lm if name == lm.name else load_model(name, lm.device)
        sc, pairs, task = P.scorer_and_pairs(name, model)
        tr = P.trace(sc, pairs, task, limit=n_pairs, progress=progress)
        out[name] = Traced(name, role_of(model), sc, model, tr, len(pairs))
    return out


def pair_attention(lm, pair: P.MinimalPair) -> tuple[np.ndarray, np.ndarray]:
    """(L,A,n,n) attention of the clean input of a pair and its (n,) token kinds (notebook 03's kinds)."""
    pairs = None if pair.clean_b is None else [pair.clean_b]
    cube = encode(lm, [pair.clean], pairs, hidden_states=False, attentions=True)
    att, tokens = cube_example(cube, 0)
    if tuple(tokens) != tuple(pair.tokens):
        raise ValueError("The attention was computed on other tokens than the pair's.")
    return att, np.asarray(cube_kinds(cube, lm)[0])


def causal_per_token(sw: P.Sweep) -> np.ndarray:
    """(n,) the causal effect of each token: the share restored by restoring it alone, averaged over the hidden
    states 0..L-1 (the last one is read only at [CLS])."""
    return sw.restored[:-1].mean(0)


@dataclass
class Agreement:
    """Rank agreement (Spearman over word and punctuation tokens) of each attention score with the causal effect.

    Attributes:
        rho: method -> (P,) one correlation per pair; summary: method -> (mean, lo, hi) over pairs.
        versus: "a minus b" -> the paired difference between two methods (same pairs).
    """

    model: str
    rho: dict
    summary: dict
    versus: dict = field(default_factory=dict)

    @property
    def pairs(self) -> int:
        return len(next(iter(self.rho.values())))


def attention_agreement(traced: Traced) -> Agreement:
    """Raw attention, rollout and flow (notebook 03's scores into [CLS] after the last layer) against the causal
    effect per token (:func:`causal_per_token`), pair by pair, on the same pairs."""
    rho: dict[str, list[float]] = {m: [] for m in METHODS}
    for sw in traced.tracing.sweeps:
        att, kinds = pair_attention(traced.lm, sw.pair)
        scores = explanation_scores(att)
        agree = rank_agreement(scores, causal_per_token(sw), kinds)
        for m in METHODS:
            rho[m].append(agree[m])
    arrays = {m: np.nan_to_num(np.asarray(v, float)) for m, v in rho.items()}
    summary = {m: bootstrap_mean(v) for m, v in arrays.items()}
    versus = {}
    for a, b in (("raw attention", "rollout"), ("raw attention", "flow"), ("rollout", "flow")):
        versus[f"{a} minus {b}"] = paired_difference(arrays[a], arrays[b], names=(a, b))
    return Agreement(traced.name, arrays, summary, versus)


def mean_map(tr: P.Tracing) -> tuple[np.ndarray, list[str]]:
    """(L+1,K) mean share restored per kind of position (columns that no pair has are dropped) and the labels."""
    labels = mean_map_labels(tr.task)
    cols, names = [], []
    for kind, label in labels.items():
        m = tr.mean(kind)
        if not np.isnan(m).all():
            cols.append(m)
            names.append(label)
    return np.stack(cols, 1), names


def mean_map_labels(task: str) -> dict[str, str]:
    """Column labels of :func:`mean_map` for a task (a sentence pair names its segments)."""
    if task == "next sentence":
        return {"cls": "[CLS]", "before": "sentence A (a token)", "changed": "sentence B (a token)",
                "after": "after B", "sep": "[SEP]"}
    return {"cls": "[CLS]", "before": "a word before", "changed": "the changed word", "after": "a word after",
            "sep": "[SEP]"}


def knockout_drops(tr: P.Tracing, which: str = "words") -> np.ndarray:
    """(P,L) knockout drops: "words" (every word's edge to [CLS]), "changed" or "sep"."""
    drops = {"words": tr.knock_words, "changed": tr.knock_changed, "sep": tr.knock_sep}
    if which not in drops:
        raise ValueError(f"which must be one of {list(drops)}, got {which!r}.")
    return drops[which]


def knockout_layer(tr: P.Tracing, which: str = "words") -> int:
    """The layer (1..L) whose knockout of [CLS]'s reading loses most of the effect, on average over pairs."""
    return int(np.argmax(knockout_drops(tr, which).mean(0))) + 1


def knockout_interval(tr: P.Tracing, layer: int, which: str = "words") -> tuple[float, float, float]:
    """(mean, lo, hi) over pairs of the knockout drop at one layer (1..L)."""
    return bootstrap_mean(knockout_drops(tr, which)[:, layer - 1])


def top_heads(tr: P.Tracing, k: int = 3) -> list[tuple[int, int, float]]:
    """The ``k`` (layer 1..L, head, mean drop) whose ablation at [CLS] loses most of the effect."""
    mean = tr.heads.mean(0)
    order = np.argsort(mean.ravel())[::-1][:k]
    return [(int(i // mean.shape[1]) + 1, int(i % mean.shape[1]), float(mean.ravel()[i])) for i in order]


def guard_report(sc: P.Scorer, pair: P.MinimalPair) -> dict[str, float]:
    """The three checks that patching works, on one pair: restoring every position at hidden state 0 (must be 1:
    the clean run), restoring nothing (must be 0), and the block-by-block route against the model's forward pass
    (the difference of the clean score, must be ~0)."""
    n = len(pair)
    clean = P.states_and_score(sc, pair.ids_clean, pair.types)[1]
    return {"every position at hidden state 0": P.restore(sc, pair, 0, range(n)),
            "no position": P.restore(sc, pair, 0, []),
            "route minus the model's own forward pass": P.check_route(sc, pair.ids_clean, pair.types) - clean}


def table_rows(traced: Mapping[str, Traced]) -> list[dict]:
    """One row per model: where the difference moves into [CLS], the knockout layer, the top head."""
    rows = []
    for name, t in traced.items():
        tr = t.tracing
        k = knockout_layer(tr)
        mean, lo, hi = knockout_interval(tr, k)
        head = top_heads(tr, 1)[0] if len(tr.heads) else None
        rows.append({"model": name, "task": tr.task, "pairs": len(tr.sweeps), "move": P.move_layer(tr),
                     "layers": tr.layers, "changed_before_last": float(tr.mean("span")[tr.layers - 1]),
                     "cls_before_last": float(tr.mean("cls")[tr.layers - 1]), "knock_layer": k,
                     "knock": (mean, lo, hi), "knock_changed": knockout_interval(tr, k, "changed"),
                     "knock_sep": knockout_interval(tr, k, "sep"), "head": head})
    return rows
