"""The inputs of pretraining: a WordPiece vocabulary, sentence pairs, their encoding, batches and MLM masking.

Shapes use B = pairs in a batch, T = tokens (padded), V = vocabulary.

    * :func:`train_tokenizer` - a WordPiece vocabulary learned from the corpus (tokenizers library).
    * :func:`make_pairs` - sentence pairs for ``"nsp"`` (50% IsNext / 50% NotNext from another document),
      ``"sop"`` (two true sentences, in order or swapped) or ``"mlm"`` (true pairs, no pair label);
      :func:`topic_pairs` - NotNext pairs, half of them from one topic.
    * :func:`encode_pairs` / :func:`collate` - ``[CLS] A [SEP] B [SEP]`` rows (or another of
      :data:`~.recipe.PAIR_LAYOUTS`) and padded batches.
    * :func:`mask_tokens` - MLM masking: 15% of the non-special tokens, 80/10/10, labels -100 elsewhere.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

import torch

from .corpus import Document
from .recipe import IGNORE, IS_NEXT, NOT_NEXT, PAIR_LAYOUTS, RECIPE, SPECIAL_TOKENS, check_layout, check_objective


# ----------------------------------------------------------------------------- tokenizer


def train_tokenizer(texts: Sequence[str], vocab_size: int = RECIPE["vocab_size"], max_length: int = 128):
    """Learn a lower-cased WordPiece vocabulary from ``texts`` and wrap it as a ``BertTokenizerFast``.

    The tokenizers library's WordPiece trainer is run to completion (BERT's normaliser and
    pre-tokeniser). Its tie-breaking between equally frequent merges differs from run to run, so
    only the deterministic part of what it learns is kept: every whole word of the corpus and the
    character alphabet (``c`` and ``##c``), which can still spell any unseen word. Ids are then
    fixed: the five special tokens first ([PAD]=0 ... [MASK]=4), then the pieces in sorted order.
    The same texts always give the same ids, so the shipped checkpoint can be reproduced.

    Raises:
        ValueError: empty texts, or a corpus needing more than ``vocab_size`` pieces.
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertTokenizerFast

    texts = list(texts)
    if not texts:
        raise ValueError("texts is empty: give the corpus sentences to learn a vocabulary from.")
    norm, pre = normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer()
    words = sorted({w for t in texts for w, _ in pre.pre_tokenize_str(norm.normalize_str(t))})
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer, tok.pre_tokenizer = norm, pre
    room = len(SPECIAL_TOKENS) + 3 * len(words) + 1000  # enough for every word to become one piece
    trainer = trainers.WordPieceTrainer(vocab_size=room, special_tokens=list(SPECIAL_TOKENS), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    learned = set(tok.get_vocab())
    chars = {c for w in words for c in w}
    pieces = {w for w in words if w in learned} | chars | {"##" + c for c in chars}
    missing = [w for w in words if w not in learned]
    if missing:  # not expected when the trainer has room; keep the vocabulary complete anyway
        pieces |= set(missing)
    pieces -= set(SPECIAL_TOKENS)
    if len(pieces) + len(SPECIAL_TOKENS) > vocab_size:
        raise ValueError(f"The corpus needs {len(pieces) + len(SPECIAL_TOKENS)} pieces but vocab_size={vocab_size}: "
                         "raise vocab_size or use fewer texts.")
    vocab = {t: i for i, t in enumerate(list(SPECIAL_TOKENS) + sorted(pieces))}
    return BertTokenizerFast(vocab=vocab, do_lower_case=True, model_max_length=max_length)


# ----------------------------------------------------------------------------- pairs


@dataclass
class Pair:
    """One training or evaluation example: sentence A, sentence B and the pair label.

    Attributes:
        a, b: the two sentences.
        label: 0 = B follows A (IsNext / in order), 1 = not (NotNext / swapped); -100 for MLM-only.
        topic_a, topic_b: the topics of the documents A and B come from.
        doc_a, doc_b: their document ids.
    """

    a: str
    b: str
    label: int
    topic_a: str
    topic_b: str
    doc_a: str
    doc_b: str

    @property
    def same_topic(self) -> bool:
        return self.topic_a == self.topic_b


def make_pairs(docs: Sequence[Document], objective: str = "nsp", seed: int = 0) -> list[Pair]:
    """One pair per pair of consecutive sentences in every document.

    Args:
        docs: documents (e.g. ``corpus.train``), at least two.
        objective: ``"nsp"``: with probability 1/2 B is replaced by a random sentence of another
            document (label 1); ``"sop"``: with probability 1/2 A and B are swapped (label 1);
            ``"mlm"``: A and B as they are, label -100.
        seed: seeds the coin flips and the random sentences (a new seed per epoch gives new pairs).

    Returns:
        list of :class:`Pair`, in document order.
    """
    check_objective(objective)
    docs = list(docs)
    if len(docs) < 2:
        raise ValueError("make_pairs needs at least two documents (NotNext sentences come from another one).")
    rng = random.Random(f"pairs-{objective}-{seed}")
    out: list[Pair] = []
    for k, doc in enumerate(docs):
        for i in range(len(doc.sentences) - 1):
            a, b = doc.sentences[i], doc.sentences[i + 1]
            coin = rng.random() < 0.5
            if objective == "mlm":
                out.append(Pair(a, b, IGNORE, doc.topic, doc.topic, doc.doc_id, doc.doc_id))
            elif objective == "sop":
                if coin:
                    out.append(Pair(b, a, NOT_NEXT, doc.topic, doc.topic, doc.doc_id, doc.doc_id))
                else:
                    out.append(Pair(a, b, IS_NEXT, doc.topic, doc.topic, doc.doc_id, doc.doc_id))
            elif coin:
                j = rng.randrange(len(docs) - 1)
                other = docs[j + 1 if j >= k else j]
                b2 = rng.choice(other.sentences)
                out.append(Pair(a, b2, NOT_NEXT, doc.topic, other.topic, doc.doc_id, other.doc_id))
            else:
                out.append(Pair(a, b, IS_NEXT, doc.topic, doc.topic, doc.doc_id, doc.doc_id))
    return out


def topic_pairs(docs: Sequence[Document], n: int, seed: int = 0) -> list[Pair]:
    """``n`` NotNext pairs (A and B from different documents), half from the same topic, half not.

    Used to probe whether [CLS] knows "same topic" apart from "is next".
    """
    docs = list(docs)
    by_topic: dict[str, list[Document]] = {}
    for d in docs:
        by_topic.setdefault(d.topic, []).append(d)
    topics = sorted(t for t, ds in by_topic.items() if len(ds) >= 2)
    if not topics or len(by_topic) < 2:
        raise ValueError("topic_pairs needs two documents of one topic and at least two topics.")
    rng = random.Random(f"topic-pairs-{seed}")
    out = []
    for i in range(n):
        t = rng.choice(topics)
        d1, d2 = rng.sample(by_topic[t], 2)
        if i % 2 == 1:
            t2 = rng.choice([x for x in sorted(by_topic) if x != t])
            d2 = rng.choice(by_topic[t2])
        out.append(Pair(rng.choice(d1.sentences), rng.choice(d2.sentences), NOT_NEXT, d1.topic, d2.topic,
                        d1.doc_id, d2.doc_id))
    return out


def encode_pairs(tokenizer, pairs: Sequence[Pair], max_length: int = 128, layout: str = "start") -> list[dict]:
    """Tokenize pairs in one of :data:`PAIR_LAYOUTS` (default ``[CLS] A [SEP] B [SEP]``), without padding.

    Segment ids are 0 for A and its [SEP], 1 for the rest ([CLS] outside the start counts with B).
    Pairs longer than ``max_length`` lose tokens from the longer sentence first, as the tokenizer's
    "longest_first" truncation does.

    Returns:
        list of dicts with ``input_ids``, ``token_type_ids`` (lists of ints), ``label`` and ``summary_pos`` (where
        [CLS] is; -1 for the "none" layout, whose pair head reads the masked mean).
    """
    if not pairs:
        raise ValueError("pairs is empty.")
    check_layout(layout)
    if layout == "start":
        enc = tokenizer([p.a for p in pairs], [p.b for p in pairs], truncation="longest_first",
                        max_length=max_length, return_token_type_ids=True)
        return [{"input_ids": i, "token_type_ids": t, "label": p.label, "summary_pos": 0}
                for i, t, p in zip(enc["input_ids"], enc["token_type_ids"], pairs)]
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    room = max_length - (2 if layout == "none" else 3)
    a_ids = tokenizer([p.a for p in pairs], add_special_tokens=False)["input_ids"]
    b_ids = tokenizer([p.b for p in pairs], add_special_tokens=False)["input_ids"]
    rows = []
    for a, b, p in zip(a_ids, b_ids, pairs):
        a, b = list(a), list(b)
        while len(a) + len(b) > room:
            (a if len(a) > len(b) else b).pop()
        if layout == "last":
            ids, types, pos = a + [sep_id] + b + [sep_id, cls_id], [0] * (len(a) + 1) + [1] * (len(b) + 2), len(a) + len(b) + 2
        elif layout == "middle":
            ids, types, pos = a + [sep_id, cls_id] + b + [sep_id], [0] * (len(a) + 1) + [1] * (len(b) + 2), len(a) + 1
        else:
            ids, types, pos = a + [sep_id] + b + [sep_id], [0] * (len(a) + 1) + [1] * (len(b) + 1), -1
        rows.append({"input_ids": ids, "token_type_ids": types, "label": p.label, "summary_pos": pos})
    return rows


def collate(rows: Sequence[dict], pad_id: int = 0, width: int | None = None) -> dict[str, torch.Tensor]:
    """Pad rows to the longest one (or ``width``) and stack: input_ids/token_type_ids/attention_mask (B,T), labels (B,).

    Rows of a layout other than "start" also give ``summary_pos`` (B,): where the pair head reads (-1: the mean).
    """
    longest = max(len(r["input_ids"]) for r in rows)
    width = longest if width is None else width
    if width < longest:
        raise ValueError(f"width={width} is shorter than the longest row ({longest} tokens).")
    n = len(rows)
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    types = torch.zeros((n, width), dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    for j, r in enumerate(rows):
        k = len(r["input_ids"])
        ids[j, :k] = torch.tensor(r["input_ids"])
        types[j, :k] = torch.tensor(r["token_type_ids"])
        mask[j, :k] = 1
    labels = torch.tensor([r["label"] for r in rows], dtype=torch.long)
    out = {"input_ids": ids, "token_type_ids": types, "attention_mask": mask, "next_sentence_label": labels}
    if any(r.get("summary_pos", 0) != 0 for r in rows):
        out["summary_pos"] = torch.tensor([r["summary_pos"] for r in rows], dtype=torch.long)
    return out


# ----------------------------------------------------------------------------- masking


def special_ids(tokenizer) -> list[int]:
    """Ids of the tokenizer's special tokens ([PAD], [UNK], [CLS], [SEP], [MASK])."""
    return sorted(set(tokenizer.all_special_ids))


def mask_tokens(
    input_ids: torch.Tensor,
    special: Sequence[int],
    mask_id: int,
    vocab_size: int,
    generator: torch.Generator | None = None,
    rate: float = RECIPE["mask_rate"],
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: pick ``rate`` of the non-special tokens; of those 80% -> [MASK], 10% -> random, 10% kept.

    Args:
        input_ids: (B,T) token ids (padding counts as special when its id is in ``special``).
        special: ids never picked and never used as random replacements.
        mask_id: the [MASK] id.
        vocab_size: V; random replacements are drawn from the non-special ids below V.
        generator: a seeded ``torch.Generator`` (a new state per epoch gives dynamic masking).
        rate: the share of non-special tokens to predict.

    Returns:
        (masked_ids, labels): both (B,T); labels hold the original id where a token was picked and
        -100 everywhere else, so only picked tokens enter the MLM loss.
    """
    if not 0.0 < rate < 1.0:
        raise ValueError(f"rate must be between 0 and 1, got {rate}.")
    special_t = torch.tensor(sorted(set(int(s) for s in special)), dtype=input_ids.dtype)
    can = ~torch.isin(input_ids, special_t)
    picked = (torch.rand(input_ids.shape, generator=generator) < rate) & can
    labels = torch.where(picked, input_ids, torch.full_like(input_ids, IGNORE))
    roll = torch.rand(input_ids.shape, generator=generator)
    to_mask = picked & (roll < 0.8)
    to_random = picked & (roll >= 0.8) & (roll < 0.9)
    allowed = torch.tensor([i for i in range(vocab_size) if i not in set(special_t.tolist())], dtype=input_ids.dtype)
    random_ids = allowed[torch.randint(len(allowed), input_ids.shape, generator=generator)]
    out = torch.where(to_mask, torch.full_like(input_ids, mask_id), input_ids)
    out = torch.where(to_random, random_ids, out)
    return out, labels
