"""What a pretrained mini-BERT does with a pair, and what its [CLS] holds (pure functions, no drawing).

    * :func:`p_is_next` - the NSP head's probability that B follows A; :func:`nsp_verdict` - the same as the
      explorer shows it.
    * :func:`pair_accuracy`, :func:`order_table` (ALBERT's 2x2 experiment), :func:`intro_split`.
    * :func:`probe_pairs` - a linear probe (``core.linear.linear_probe``) on the [CLS] of ``[CLS] A [SEP] B [SEP]``.
    * :func:`cls_row_stats` / :func:`cls_attention_rows` - what [CLS] reads (its own attention row: normalised
      entropy, share on words), how much others read [CLS] (its column) and how alike different pairs' [CLS] are.
    * :func:`topic_split` / :func:`topic_probe` - an in-domain sentence task: the topic of a held-out story
      sentence, read by a linear probe from [CLS] or the mean.
    * :data:`TRANSFER_LEVEL` / :func:`transfer_word` - when a pair head "transfers" to the other task.
    * :data:`REFERENCE_KEYS` - the published figures (``helpers.references``) printed beside the order table.

What [CLS] reads and how much others read [CLS] are the core's ``attention.what_cls_reads`` /
``attention.normalised_cls_entropy`` and ``attention.how_much_others_read_cls`` (with ``attention.uniform_share``
for the uniform level); the lesson does not define them again.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ...core.attention import how_much_others_read_cls, normalised_cls_entropy, uniform_share, what_cls_reads
from ...core.cube import POOLING_LABELS, embed, encode
from ...core.linear import ProbeResult, linear_probe
from ...core.stats import alikeness
from .corpus import Document
from .pairs import Pair, collate, encode_pairs, make_pairs
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
    from .training import pair_logits  # training imports this module

    tok = lm.tokenizer
    layout = getattr(lm.model.config, "summary_layout", "start")
    logits = []
    with torch.inference_mode():
        for s in range(0, len(a), 128):
            if layout != "start":  # a position twin: its own layout, its own read
                rows = encode_pairs(tok, [Pair(x, y, 0, "", "", "", "") for x, y in zip(a[s : s + 128], b[s : s + 128])],
                                    max_length=lm.max_length, layout=layout)
                batch = {k: v.to(lm.device) for k, v in collate(rows, tok.pad_token_id).items()}
                out = lm.model.bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                    token_type_ids=batch["token_type_ids"])
                logits.append(pair_logits(lm.model, out, batch).float().cpu())
                continue
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


# ----------------------------------------------------------------------------- what [CLS] reads


def cls_row_stats(cube, lm=None) -> dict:
    """What [CLS] reads, how much others read it, and how alike different rows' last-layer [CLS] are.

    Args:
        cube: from ``encode(lm, a, pairs=b, attentions=True)`` (hidden_states may be left out).
        lm: the model (for its special tokens).

    Returns:
        dict with "entropy" (L,) the normalised entropy of [CLS]'s own row (1 = uniform, heads averaged),
        "words" (L,) the share of [CLS]'s row on word tokens, "others" (L,) how much the other tokens read
        [CLS], "alike" the mean cosine between different rows' last-layer [CLS], and "uniform" (1/n averaged).
    """
    if cube.attentions is None:
        raise ValueError("cls_row_stats needs attentions: encode(lm, texts, pairs=..., attentions=True).")
    return {"entropy": normalised_cls_entropy(cube).mean(-1), "words": what_cls_reads(cube, lm)["word"].mean(-1),
            "others": how_much_others_read_cls(cube, lm).mean(-1), "alike": alikeness(cube.cls(-1)),
            "uniform": uniform_share(cube.attention_mask)}


def cls_attention_rows(models: dict, pairs: Sequence[Pair]) -> dict[str, dict]:
    """:func:`cls_row_stats` of every model on the same pairs ``[CLS] A [SEP] B [SEP]``.

    Args:
        models: label -> LoadedModel (e.g. init, MLM only, MLM + NSP, MLM + SOP).
        pairs: the pairs to encode (at least two).

    Returns:
        {model label: cls_row_stats(...)}.
    """
    if len(pairs) < 2:
        raise ValueError("cls_attention_rows needs at least two pairs (alikeness compares different pairs).")
    if not models:
        raise ValueError("models is empty: give label -> LoadedModel.")
    a, b = [p.a for p in pairs], [p.b for p in pairs]
    return {name: cls_row_stats(encode(lm, a, pairs=b, hidden_states=False, attentions=True), lm)
            for name, lm in models.items()}


# ----------------------------------------------------------------------------- the topic of a sentence


def topic_split(docs: Sequence[Document]) -> tuple[list[str], list[str], list[str], list[str]]:
    """Sentences of held-out documents for the topic task, split by document (no story on both sides).

    Inside every topic the documents alternate between the probe's training and test side, so both sides
    hold every topic and no sentence of a test story was seen by the probe.

    Returns:
        (train sentences, train topics, test sentences, test topics).
    """
    by_topic: dict[str, list[Document]] = {}
    for d in docs:
        by_topic.setdefault(d.topic, []).append(d)
    if len(by_topic) < 2 or any(len(v) < 2 for v in by_topic.values()):
        raise ValueError("topic_split needs at least two topics and two documents of every topic.")
    train_x, train_y, test_x, test_y = [], [], [], []
    for topic in sorted(by_topic):
        for i, d in enumerate(by_topic[topic]):
            xs, ys = (train_x, train_y) if i % 2 == 0 else (test_x, test_y)
            xs += list(d.sentences)
            ys += [topic] * len(d.sentences)
    return train_x, train_y, test_x, test_y


def topic_probe(models: dict, docs: Sequence[Document], poolings: Sequence[str] = ("cls", "mean"),
                seeds: Sequence[int] = (0, 1, 2, 3, 4)) -> dict[str, ProbeResult]:
    """A linear probe for the topic of a single held-out story sentence, from each model's last layer.

    One forward pass per model (``encode``); every feature is probed on the same sentences
    (:func:`topic_split`), so the results compare fairly.

    Args:
        models: label -> LoadedModel.
        docs: held-out documents.
        poolings: "cls" and/or "mean" (the course's masked mean).

    Returns:
        {"<model label> <pooling label>": ProbeResult}, e.g. "MLM + NSP [CLS]", "MLM + NSP masked mean".
    """
    bad = [p for p in poolings if p not in ("cls", "mean")]
    if bad or not poolings:
        raise ValueError(f"poolings must be 'cls' and/or 'mean', got {list(poolings)!r}.")
    train_x, train_y, test_x, test_y = topic_split(docs)
    topics = sorted(set(train_y))
    y_train = np.array([topics.index(t) for t in train_y])
    y_test = np.array([topics.index(t) for t in test_y])
    out = {}
    for name, lm in models.items():
        train = encode(lm, train_x, hidden_states=False, attentions=False)
        test = encode(lm, test_x, hidden_states=False, attentions=False)
        for how in poolings:
            label = f"{name} {POOLING_LABELS[how]}"
            out[label] = linear_probe(train.pool(how), y_train, test.pool(how), y_test, seeds=seeds, name=label)
    return out
