"""What a pretrained mini-BERT does with a pair, and what its [CLS] holds (pure functions, no drawing).

    * :func:`p_is_next` - the NSP head's probability that B follows A; :func:`nsp_verdict` - the same as the
      explorer shows it.
    * :func:`pair_accuracy`, :func:`order_table` (ALBERT's 2x2 experiment), :func:`intro_split`.
    * :func:`probe_pairs` - a linear probe (``core.linear.linear_probe``) on the [CLS] of ``[CLS] A [SEP] B [SEP]``.
    * :data:`TRANSFER_LEVEL` / :func:`transfer_word` - when a pair head "transfers" to the other task.
    * :data:`REFERENCE_KEYS` - the published figures (``helpers.references``) printed beside the order table.

How much the tokens attend to [CLS] is the core's ``attention.how_much_others_read_cls`` (with
``attention.uniform_share`` for the uniform level); the lesson does not define it again.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ...core.cube import embed
from ...core.linear import ProbeResult, linear_probe
from .corpus import Document
from .pairs import Pair, make_pairs
from .recipe import IS_NEXT

#: The published figures notebook 04 prints beside its order table (keys of ``helpers.references``).
REFERENCE_KEYS = ("bert_nsp_accuracy", "albert_order_table", "bert_no_nsp_qnli", "roberta_no_nsp")

TRANSFER_LEVEL = 0.65
"""Accuracy on the *other* objective's pairs above which a pair head is said to "transfer" (below: "barely").

Chance is 0.50 on both kinds of pairs (they are balanced). 0.65 is chance plus 0.15: far beyond sampling
noise for the 500-1000 held-out pairs :func:`order_table` scores (the binomial standard error at chance is
about 0.02, so 0.65 is some 7 of them away), yet well below what a head reaches on the task it was trained
for, so "transfers" means "learned a cue that carries over", not "solves the other task".
"""


def transfer_word(accuracy: float, level: float = TRANSFER_LEVEL) -> str:
    """The verdict word for a pair head scored on the other task's pairs: above ``level`` it "transfers".

    Returns:
        "transfers" or "barely transfers" (see :data:`TRANSFER_LEVEL`).
    """
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must be between 0 and 1, got {accuracy}.")
    return "transfers" if accuracy > level else "barely transfers"


def _nsp_logits(lm, a: Sequence[str], b: Sequence[str]) -> torch.Tensor:
    if not getattr(lm, "has_nsp", False):
        raise ValueError(f"{lm.name!r} has no next-sentence head; load one that has (e.g. load_model('mini-bert')).")
    if isinstance(a, str) or isinstance(b, str):
        raise ValueError("a and b must be lists of sentences (use p_is_next for one pair).")
    if len(a) != len(b) or not a:
        raise ValueError(f"a and b must be non-empty and equally long, got {len(a)} and {len(b)}.")
    for i, (x, y) in enumerate(zip(a, b)):
        if not x.strip() or not y.strip():
            raise ValueError(f"pair {i} has an empty sentence: type something in both.")
    tok = lm.tokenizer
    logits = []
    with torch.inference_mode():
        for s in range(0, len(a), 128):
            enc = tok(list(a[s : s + 128]), list(b[s : s + 128]), padding=True, truncation="longest_first",
                      max_length=lm.max_length, return_tensors="pt").to(lm.device)
            out = lm.model(**enc)
            logits.append((out.seq_relationship_logits if hasattr(out, "seq_relationship_logits") else out.logits).float().cpu())
    return torch.cat(logits)


def p_is_next(lm, a: str, b: str) -> float:
    """P(IsNext): the model's probability that sentence ``b`` follows sentence ``a`` (needs an NSP head)."""
    if not isinstance(a, str) or not isinstance(b, str):
        raise ValueError("a and b must be strings.")
    return float(torch.softmax(_nsp_logits(lm, [a], [b]), -1)[0, IS_NEXT])


def pair_accuracy(lm, pairs: Sequence[Pair]) -> float:
    """Share of ``pairs`` whose label (0 follows / 1 does not) the model's pair head predicts."""
    logits = _nsp_logits(lm, [p.a for p in pairs], [p.b for p in pairs])
    labels = torch.tensor([p.label for p in pairs])
    return float((logits.argmax(-1) == labels).float().mean())


def order_table(models: dict, docs: Sequence[Document], n: int = 1000, seed: int = 1) -> dict[str, dict[str, float]]:
    """ALBERT's 2x2 experiment: every model's pair head on NSP pairs (random B) and on SOP pairs (swapped).

    For SOP pairs "does not follow" means "swapped", so an NSP head is scored on SOP as it is.

    Args:
        models: label -> LoadedModel with a pair head (e.g. {"NSP-trained": ..., "SOP-trained": ...}).
        docs: held-out documents.

    Returns:
        {model label: {"NSP pairs": accuracy, "SOP pairs": accuracy}}.
    """
    nsp = make_pairs(docs, "nsp", seed=seed)[:n]
    sop = make_pairs(docs, "sop", seed=seed)[:n]
    return {name: {"NSP pairs": pair_accuracy(lm, nsp), "SOP pairs": pair_accuracy(lm, sop)}
            for name, lm in models.items()}


def intro_split(models: dict, docs: Sequence[Document], n: int = 1000, seed: int = 1) -> dict[str, dict[str, float]]:
    """Accuracy on SOP pairs split by whether the pair holds the story's first (introduction) sentence.

    The introduction never follows another sentence, so "B is an introduction" gives the answer away
    for both tasks; the pairs without it need real order cues (the script, pronouns, connectives).

    Returns:
        {model label: {"with intro": acc, "without intro": acc, "n with": count, "n without": count}}.
    """
    by_id = {d.doc_id: d for d in docs}
    pairs = make_pairs(docs, "sop", seed=seed)[:n]
    has = [by_id[p.doc_a].sentences[0] in (p.a, p.b) for p in pairs]
    with_intro = [p for p, h in zip(pairs, has) if h]
    without = [p for p, h in zip(pairs, has) if not h]
    if not with_intro or not without:
        raise ValueError("Need pairs with and without an introduction sentence: use more documents.")
    return {name: {"with intro": pair_accuracy(lm, with_intro), "without intro": pair_accuracy(lm, without),
                   "n with": len(with_intro), "n without": len(without)} for name, lm in models.items()}


#: Published figures printed beside order_table (cite, do not overclaim).


def probe_pairs(lm, pairs: Sequence[Pair], labels: Sequence[int], name: str = "", seeds=(0, 1, 2)) -> ProbeResult:
    """Linear probe on the last layer's [CLS] of [CLS] A [SEP] B [SEP] (``core.linear.linear_probe``)."""
    x = embed(lm, [p.a for p in pairs], pairs=[p.b for p in pairs], pooling="cls")
    return linear_probe(x, np.asarray(labels), seeds=seeds, name=name)


def nsp_verdict(lm, a: str, b: str) -> dict:
    """What the NSP explorer shows for two sentences: {"p_is_next", "label", "n_tokens", "text"}.

    Raises:
        ValueError: an empty sentence, or a model without an NSP head (the explorer shows the message).
    """
    p = p_is_next(lm, a, b)
    bar = "#" * int(round(p * 20))
    n = len(lm.tokenizer(a, b, truncation="longest_first", max_length=lm.max_length)["input_ids"])
    label = "IsNext" if p >= 0.5 else "NotNext"
    return {"p_is_next": p, "label": label, "n_tokens": n,
            "text": f"P(IsNext) = {p:.4f}  [{bar:<20}]  -> {label}  ([CLS] A [SEP] B [SEP]: {n} tokens)"}
