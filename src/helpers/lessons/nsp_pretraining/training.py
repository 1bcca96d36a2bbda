"""Pretrain a small BERT on CPU with BERT's two objectives: examples, masking, training, checkpoints, probes.

Shapes use B = pairs in a batch, T = tokens (padded), H = width, V = vocabulary, L = layers, A = heads.

The pieces, in the order notebook 04 uses them:
    * :func:`train_tokenizer` - a WordPiece vocabulary learned from the corpus (tokenizers library).
    * :func:`make_pairs` - sentence pairs for ``"nsp"`` (50% IsNext / 50% NotNext from another document),
      ``"sop"`` (two true sentences, in order or swapped) or ``"mlm"`` (true pairs, no pair label).
    * :func:`mask_tokens` - MLM masking: 15% of the non-special tokens, 80/10/10, labels -100 elsewhere.
    * :func:`make_config` / :func:`new_model` - a small ``BertForPreTraining``.
    * :func:`pretrain` - AdamW + warm-up + linear decay, tqdm, dynamic masking and pairing per epoch,
      periodic held-out evaluation, an optional callback (e.g. :class:`LivePlot`).
    * :func:`save_checkpoint` - safetensors + config + tokenizer files + logs, loadable by
      ``helpers.load_model(folder)`` (and ``load_model("mini-bert")`` for data/mini-bert).
    * :func:`p_is_next`, :func:`pair_accuracy`, :func:`order_table`, :func:`cls_attention_share`,
      :func:`probe_pairs` - what the trained model does and what its [CLS] holds.
    * :func:`build_nsp_explorer` - a widget: type two sentences, see P(IsNext).

Label convention (the one transformers uses for ``next_sentence_label``): 0 = B really follows A
(IsNext, or "in order" for SOP), 1 = B does not follow A (NotNext, or "swapped").

Reproduce the shipped checkpoint with ``python -m helpers.pretrain --out data/mini-bert`` (``make mini-bert``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ...core import config
from ...core.models import from_module
from .corpus import Corpus, Document, make_corpus

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
OBJECTIVES = ("nsp", "sop", "mlm")
IS_NEXT, NOT_NEXT = 0, 1
IGNORE = -100

#: The recipe of the shipped checkpoint (``python -m helpers.pretrain``); notebook 04 and the bench use it too.
RECIPE = {
    "seed": 0,
    "n_train_docs": 3000,
    "n_heldout_docs": 400,
    "vocab_size": 1200,
    "layers": 2,
    "width": 64,
    "heads": 2,
    "intermediate": 256,
    "max_positions": 128,
    "dropout": 0.0,
    "batch_size": 32,
    "lr": 2e-3,
    "warmup": 0.06,
    "weight_decay": 0.01,
    "steps": 7000,
    "eval_every": 250,
    "mask_rate": 0.15,
    "eval_pairs": 1024,
}

#: Quick mode (CLS_QUICK=1): the same recipe, trained only briefly.
QUICK_RECIPE = dict(RECIPE, steps=200, eval_every=50, eval_pairs=256)


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
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}.")
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


def encode_pairs(tokenizer, pairs: Sequence[Pair], max_length: int = 128) -> list[dict]:
    """Tokenize pairs as [CLS] A [SEP] B [SEP] (segments 0 then 1), without padding.

    Returns:
        list of dicts with ``input_ids``, ``token_type_ids`` (lists of ints) and ``label``.
    """
    if not pairs:
        raise ValueError("pairs is empty.")
    enc = tokenizer([p.a for p in pairs], [p.b for p in pairs], truncation="longest_first", max_length=max_length,
                    return_token_type_ids=True)
    return [{"input_ids": i, "token_type_ids": t, "label": p.label}
            for i, t, p in zip(enc["input_ids"], enc["token_type_ids"], pairs)]


def collate(rows: Sequence[dict], pad_id: int = 0, width: int | None = None) -> dict[str, torch.Tensor]:
    """Pad rows to the longest one (or ``width``) and stack: input_ids/token_type_ids/attention_mask (B,T), labels (B,)."""
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
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask, "next_sentence_label": labels}


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
    rate: float = 0.15,
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


# ----------------------------------------------------------------------------- model


def make_config(vocab_size: int, layers: int = RECIPE["layers"], width: int = RECIPE["width"],
                heads: int = RECIPE["heads"], intermediate: int | None = None,
                max_positions: int = RECIPE["max_positions"], dropout: float = RECIPE["dropout"]):
    """A small ``BertConfig`` (BERT-base is 12 layers, width 768, 12 heads, dropout 0.1).

    The recipe uses no dropout: the model sees each generated pair only a few times, so there is
    nothing to over-fit in a few minutes, and dropout would only slow learning down.
    """
    from transformers import BertConfig

    if width % heads:
        raise ValueError(f"width={width} must be divisible by heads={heads}.")
    return BertConfig(vocab_size=vocab_size, hidden_size=width, num_hidden_layers=layers, num_attention_heads=heads,
                      intermediate_size=intermediate or 4 * width, max_position_embeddings=max_positions,
                      type_vocab_size=2, hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)


def new_model(tokenizer, seed: int = 0, **sizes):
    """A freshly initialised ``BertForPreTraining`` for ``tokenizer``'s vocabulary (``sizes``: see make_config)."""
    from transformers import BertForPreTraining

    torch.manual_seed(seed)
    for key in ("layers", "width", "heads", "intermediate", "max_positions", "dropout"):
        sizes.setdefault(key, RECIPE[key])
    model = BertForPreTraining(make_config(len(tokenizer), **sizes))
    return model


def pretraining_losses(model, batch: dict[str, torch.Tensor], mlm_labels: torch.Tensor,
                       objective: str = "nsp") -> dict[str, torch.Tensor]:
    """Forward pass and losses, computing the vocabulary logits only at the masked positions.

    Equal to ``BertForPreTraining(..., labels=mlm_labels, next_sentence_label=...)``'s losses
    (tests check it) but cheaper: the (M,V) logits of the M picked tokens instead of (B,T,V).

    Returns:
        dict with ``loss`` (the sum that is trained), ``mlm_loss``, ``mlm_correct``, ``mlm_count``,
        and for "nsp"/"sop" ``pair_loss``, ``pair_correct``, ``pair_count``.
    """
    out = model.bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                     token_type_ids=batch["token_type_ids"], return_dict=True)
    picked = mlm_labels != IGNORE
    targets = mlm_labels[picked]
    logits = model.cls.predictions(out.last_hidden_state[picked])  # (M,V)
    mlm_loss = F.cross_entropy(logits, targets) if len(targets) else logits.sum() * 0.0
    res = {"mlm_loss": mlm_loss, "mlm_correct": (logits.argmax(-1) == targets).sum(), "mlm_count": picked.sum()}
    loss = mlm_loss
    if objective != "mlm":
        pair_logits = model.cls.seq_relationship(out.pooler_output)  # (B,2)
        labels = batch["next_sentence_label"]
        pair_loss = F.cross_entropy(pair_logits, labels)
        res.update(pair_loss=pair_loss, pair_correct=(pair_logits.argmax(-1) == labels).sum(),
                   pair_count=torch.tensor(len(labels)))
        loss = loss + pair_loss
    res["loss"] = loss
    return res


# ----------------------------------------------------------------------------- training


@dataclass
class TrainResult:
    """What :func:`pretrain` gives back.

    Attributes:
        model: the trained ``BertForPreTraining`` (eval mode).
        tokenizer: its tokenizer.
        objective: "nsp", "sop" or "mlm".
        history: one dict per logged training step (step, seconds, tokens, loss, mlm_loss, pair_loss, lr).
        evals: one dict per evaluation (step, seconds, mlm_loss, mlm_acc, and <task>_loss/<task>_acc).
        settings: the arguments used.
    """

    model: object
    tokenizer: object
    objective: str
    history: list[dict] = field(default_factory=list)
    evals: list[dict] = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    @property
    def final(self) -> dict:
        """The last evaluation."""
        return self.evals[-1] if self.evals else {}


def task_name(objective: str) -> str:
    """The pair task an objective trains: "nsp" -> "nsp", "sop" -> "sop", "mlm" -> "" (none)."""
    return "" if objective == "mlm" else objective


def _batches(rows: list[dict], batch_size: int, rng: random.Random, bucket: int = 32) -> list[list[dict]]:
    """Shuffle, then sort by length inside chunks of ``bucket`` batches (less padding), then shuffle batches."""
    order = list(range(len(rows)))
    rng.shuffle(order)
    chunk = batch_size * bucket
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: len(rows[i]["input_ids"]))
        batches += [[rows[i] for i in part[s : s + batch_size]] for s in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return [b for b in batches if len(b) == batch_size or len(batches) == 1]


class EvalSet:
    """Held-out pairs, tokenized and masked once with a fixed seed, so evaluations are comparable."""

    def __init__(self, tokenizer, pairs: Sequence[Pair], objective: str, batch_size: int = 128, seed: int = 12345):
        self.objective = objective
        rows = encode_pairs(tokenizer, pairs)
        gen = torch.Generator().manual_seed(seed)
        self.batches = []
        for s in range(0, len(rows), batch_size):
            batch = collate(rows[s : s + batch_size], tokenizer.pad_token_id)
            ids, labels = mask_tokens(batch["input_ids"], special_ids(tokenizer), tokenizer.mask_token_id,
                                      len(tokenizer), gen)
            batch["input_ids"] = ids
            self.batches.append((batch, labels))

    @torch.no_grad()
    def evaluate(self, model) -> dict[str, float]:
        """Held-out MLM loss/accuracy (over masked tokens) and pair-task loss/accuracy (over pairs)."""
        was_training = model.training
        model.eval()
        dev = next(model.parameters()).device
        tot = {"mlm_loss": 0.0, "mlm_correct": 0, "mlm_count": 0, "pair_loss": 0.0, "pair_correct": 0, "pair_count": 0}
        for batch, labels in self.batches:
            batch = {k: v.to(dev) for k, v in batch.items()}
            r = pretraining_losses(model, batch, labels.to(dev), self.objective)
            tot["mlm_loss"] += float(r["mlm_loss"]) * int(r["mlm_count"])
            tot["mlm_correct"] += int(r["mlm_correct"])
            tot["mlm_count"] += int(r["mlm_count"])
            if "pair_loss" in r:
                tot["pair_loss"] += float(r["pair_loss"]) * int(r["pair_count"])
                tot["pair_correct"] += int(r["pair_correct"])
                tot["pair_count"] += int(r["pair_count"])
        model.train(was_training)
        out = {"mlm_loss": tot["mlm_loss"] / max(tot["mlm_count"], 1), "mlm_acc": tot["mlm_correct"] / max(tot["mlm_count"], 1)}
        task = task_name(self.objective)
        if task:
            out[f"{task}_loss"] = tot["pair_loss"] / max(tot["pair_count"], 1)
            out[f"{task}_acc"] = tot["pair_correct"] / max(tot["pair_count"], 1)
        return out


def pretrain(
    corpus: Corpus,
    tokenizer=None,
    model=None,
    *,
    objective: str = "nsp",
    steps: int = RECIPE["steps"],
    batch_size: int = RECIPE["batch_size"],
    lr: float = RECIPE["lr"],
    warmup: float = RECIPE["warmup"],
    weight_decay: float = RECIPE["weight_decay"],
    seed: int = RECIPE["seed"],
    eval_every: int = 100,
    eval_pairs: int = RECIPE["eval_pairs"],
    time_budget: float | None = None,
    callback: Callable[[TrainResult], None] | None = None,
    progress: bool = True,
    device: str | torch.device = "cpu",
) -> TrainResult:
    """Pretrain ``model`` (a new one from :data:`RECIPE` when None) on ``corpus`` with MLM + ``objective``.

    Every epoch draws new pairs (NotNext partners / swaps) and every batch new masks (dynamic
    masking), all from generators seeded by ``seed``. Evaluation runs every ``eval_every`` steps and
    at the end on held-out pairs of the same objective (an NSP eval set for "mlm").

    Args:
        corpus: from :func:`helpers.corpus.make_corpus`.
        tokenizer: None trains one with :func:`train_tokenizer` on the training sentences.
        model: a ``BertForPreTraining``; None makes one with :func:`new_model`.
        objective: "nsp" (MLM + NSP, as BERT), "sop" (MLM + sentence order, as ALBERT) or "mlm" (MLM only).
        steps: optimizer steps; warm-up over the first ``warmup`` fraction, then linear decay to 0.
        time_budget: stop early after this many seconds of training (evaluation time excluded).
        callback: called with the TrainResult after every evaluation (e.g. a :class:`LivePlot`).
        device: where to train.

    Returns:
        TrainResult with the model in eval mode, the history and the evaluations.
    """
    from tqdm.auto import tqdm

    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}.")
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be positive, got {steps} and {batch_size}.")
    dev = torch.device(device)
    if tokenizer is None:
        tokenizer = train_tokenizer(corpus.texts("train"))
    if model is None:
        model = new_model(tokenizer, seed=seed)
    model.to(dev).train()
    eval_objective = "nsp" if objective == "mlm" else objective
    held = make_pairs(corpus.heldout, eval_objective, seed=seed)[:eval_pairs]
    evalset = EvalSet(tokenizer, held, objective)

    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "LayerNorm" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "LayerNorm" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    n_warm = max(1, int(warmup * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / n_warm if s < n_warm else max(0.0, (steps - s) / max(1, steps - n_warm)))
    gen = torch.Generator().manual_seed(seed)
    rng = random.Random(f"batches-{seed}")
    specials, mask_id, vocab = special_ids(tokenizer), tokenizer.mask_token_id, len(tokenizer)
    result = TrainResult(model=model, tokenizer=tokenizer, objective=objective,
                         settings=dict(objective=objective, steps=steps, batch_size=batch_size, lr=lr, warmup=warmup,
                                       weight_decay=weight_decay, seed=seed, eval_every=eval_every,
                                       eval_pairs=len(held), n_train_docs=len(corpus.train),
                                       n_heldout_docs=len(corpus.heldout), corpus_seed=corpus.seed))

    def run_eval(step: int, seconds: float, tokens: int) -> None:
        result.evals.append({"step": step, "seconds": round(seconds, 3), "tokens": tokens, **evalset.evaluate(model)})
        if callback is not None:
            callback(result)

    run_eval(0, 0.0, 0)
    step, epoch, tokens, train_s = 0, 0, 0, 0.0
    bar = tqdm(total=steps, desc=f"pretrain ({objective})", disable=not progress, leave=False)
    while step < steps:
        rows = encode_pairs(tokenizer, make_pairs(corpus.train, objective, seed=seed * 1000 + epoch))
        for rows_b in _batches(rows, batch_size, rng):
            t0 = time.perf_counter()
            batch = collate(rows_b, tokenizer.pad_token_id)
            ids, labels = mask_tokens(batch["input_ids"], specials, mask_id, vocab, gen)
            batch["input_ids"] = ids
            batch = {k: v.to(dev) for k, v in batch.items()}
            r = pretraining_losses(model, batch, labels.to(dev), objective)
            opt.zero_grad(set_to_none=True)
            r["loss"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            n_tok = int(batch["attention_mask"].sum())
            tokens += n_tok
            train_s += time.perf_counter() - t0
            entry = {"step": step, "seconds": round(train_s, 3), "tokens": tokens, "loss": float(r["loss"].detach()),
                     "mlm_loss": float(r["mlm_loss"].detach()), "lr": sched.get_last_lr()[0]}
            if "pair_loss" in r:
                entry["pair_loss"] = float(r["pair_loss"].detach())
            result.history.append(entry)
            bar.update(1)
            bar.set_postfix(loss=f"{entry['loss']:.3f}")
            out_of_time = time_budget is not None and train_s >= time_budget
            if step % eval_every == 0 or step == steps or out_of_time:
                run_eval(step, train_s, tokens)
            if step >= steps or out_of_time:
                break
        epoch += 1
        if time_budget is not None and train_s >= time_budget:
            break
    bar.close()
    if result.evals[-1]["step"] != step:
        run_eval(step, train_s, tokens)
    result.settings["steps_done"] = step
    model.eval()
    return result


# ----------------------------------------------------------------------------- live plot


def plot_history(result: TrainResult):
    """Figure: training loss, held-out MLM loss/accuracy and pair-task loss/accuracy against step."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    ev = result.evals
    steps = [e["step"] for e in ev]
    task = task_name(result.objective)
    ax = axes[0]
    if result.history:
        h = result.history
        ax.plot([x["step"] for x in h], [x["mlm_loss"] for x in h], color="tab:blue", alpha=0.25, lw=0.8,
                label="MLM loss (train batch)")
        if task:
            ax.plot([x["step"] for x in h], [x.get("pair_loss", np.nan) for x in h], color="tab:orange", alpha=0.25,
                    lw=0.8, label=f"{task.upper()} loss (train batch)")
    ax.plot(steps, [e["mlm_loss"] for e in ev], "o-", color="tab:blue", ms=3, label="MLM loss (held-out)")
    if task:
        ax.plot(steps, [e[f"{task}_loss"] for e in ev], "o-", color="tab:orange", ms=3, label=f"{task.upper()} loss (held-out)")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend(fontsize=7)
    ax = axes[1]
    ax.plot(steps, [e["mlm_acc"] for e in ev], "o-", color="tab:blue", ms=3, label="MLM accuracy (held-out)")
    if task:
        ax.plot(steps, [e[f"{task}_acc"] for e in ev], "o-", color="tab:orange", ms=3,
                label=f"{task.upper()} accuracy (held-out)")
        ax.axhline(0.5, color="grey", ls=":", lw=1, label="chance for the pair task")
    ax.set_ylim(0, 1)
    ax.set_xlabel("step")
    ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Pretraining with MLM{' + ' + task.upper() if task else ' only'}")
    fig.tight_layout()
    return fig


class LivePlot:
    """A :func:`pretrain` callback that redraws :func:`plot_history` in one notebook output after each evaluation."""

    def __init__(self) -> None:
        self.handle = None
        self.calls = 0

    def __call__(self, result: TrainResult) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import display

        fig = plot_history(result)
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)
        self.calls += 1


# ----------------------------------------------------------------------------- checkpoints


def save_checkpoint(result: TrainResult, folder: str | Path, metrics: dict | None = None) -> Path:
    """Save model (safetensors + config.json), tokenizer files, train_log.json and metrics.json to ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    result.model.save_pretrained(folder)
    result.tokenizer.save_pretrained(folder)
    log = {"objective": result.objective, "settings": result.settings, "evals": result.evals,
           "history": result.history}
    (folder / "train_log.json").write_text(json.dumps(log, indent=1) + "\n")
    final = dict(result.final)
    final.update(metrics or {})
    final["objective"] = result.objective
    (folder / "metrics.json").write_text(json.dumps(final, indent=2, sort_keys=True) + "\n")
    return folder


def wrap(model, tokenizer, name: str = "in-memory mini-BERT"):
    """A :class:`helpers.LoadedModel` around an in-memory model, so encode()/embed() work on it."""
    return from_module(model, tokenizer, name=name)


# ----------------------------------------------------------------------------- what the model does


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
REFERENCE_FIGURES = (
    "BERT (Devlin et al. 2019, sec. 3.1): the final model reaches 97-98% accuracy on NSP.",
    "ALBERT (Lan et al. 2020, Table 5), accuracy on intrinsic tasks: NSP-trained 90.5% NSP / 52.0% SOP; "
    "SOP-trained 78.9% NSP / 86.5% SOP.",
    "BERT's ablation (Table 5): 'No NSP' lost 3.5 points on QNLI (88.4 -> 84.9), less on other tasks.",
    "RoBERTa (Liu et al. 2019) dropped NSP and matched or beat BERT without it.",
)


def cls_attention_share(lm, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """Per layer, the average attention weight that real tokens give to [CLS] (column 0), and the uniform level.

    Returns:
        (L,2) array: column 0 = mean over pairs, heads and real query tokens of the weight on [CLS];
        column 1 = what uniform attention would give (mean of 1/length).
    """
    from ...core.cube import encode

    cube = encode(lm, list(a), pairs=list(b), hidden_states=False, attentions=True)
    att = cube.attentions  # (L,B,A,T,T)
    mask = cube.attention_mask.float()  # (B,T)
    into_cls = att[..., 0]  # (L,B,A,T): weight of each query on key 0
    per = (into_cls * mask[None, :, None, :]).sum(-1) / mask.sum(-1)[None, :, None]  # (L,B,A)
    uniform = float((1.0 / mask.sum(-1)).mean())
    share = per.mean(dim=(1, 2)).numpy()
    return np.stack([share, np.full_like(share, uniform)], axis=1)


def probe_pairs(lm, pairs: Sequence[Pair], labels: Sequence[int], name: str = "", seeds=(0, 1, 2)):
    """Linear probe on the last layer's [CLS] of [CLS] A [SEP] B [SEP] (see helpers.probes.linear_probe)."""
    from ...core.cube import embed
    from ...core.linear import linear_probe

    x = embed(lm, [p.a for p in pairs], pairs=[p.b for p in pairs], pooling="cls")
    return linear_probe(x, np.asarray(labels), seeds=seeds, name=name)


# ----------------------------------------------------------------------------- exercises


def check_masked_count(answer, n_tokens: int):
    """Try it: how many of ``n_tokens`` non-special tokens does MLM pick, on average? (15%, within 1).

    Returns:
        helpers.checks.CheckResult (ok True/False, or None when not answered yet).
    """
    from ...core.checks import CheckResult, unanswered

    if unanswered(answer):
        return CheckResult(None, "Not answered yet: replace ... with a number.")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return CheckResult(False, f"Not a number: {answer!r}. Give how many tokens are picked on average.")
    expected = 0.15 * n_tokens
    details = {"expected": expected, "answer": value}
    if abs(value - expected) <= 1.0:
        return CheckResult(True, f"Right: 15% of {n_tokens} is {expected:.1f}. Of those, about {0.8 * expected:.1f} "
                                 f"become [MASK], {0.1 * expected:.1f} a random token and {0.1 * expected:.1f} stay "
                                 "as they are.", details)
    return CheckResult(False, f"Not quite: BERT picks 15% of the non-special tokens, so about {expected:.1f} of "
                              f"{n_tokens}, not {value:g}. [CLS], [SEP] and padding are never picked.", details)


def check_order_guess(answer, measured: float, tolerance: float = 0.1):
    """Try it: guess the NSP-trained model's accuracy on swapped-order pairs; compared with ``measured``.

    Returns:
        helpers.checks.CheckResult (ok True when within ``tolerance``, None when not answered yet).
    """
    from ...core.checks import CheckResult, unanswered

    if unanswered(answer):
        return CheckResult(None, "Not answered yet: replace ... with a number between 0 and 1.")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return CheckResult(False, f"Not a number: {answer!r}. Give an accuracy between 0 and 1.")
    if not 0.0 <= value <= 1.0:
        return CheckResult(False, f"{value:g} is not an accuracy: give a number between 0 and 1.")
    close = abs(value - measured) <= tolerance
    return CheckResult(
        close,
        f"{'Right' if close else 'Not quite'}: you guessed {value:.2f}, the model scored {measured:.2f} on swapped "
        "pairs (0.50 is chance). A swapped pair shares topic, characters and words, the cues an NSP head can rely "
        "on; only the order is wrong, and NSP training never asked about order.",
        {"measured": measured, "answer": value},
    )


# ----------------------------------------------------------------------------- widget


def nsp_verdict(lm, a: str, b: str) -> dict:
    """Pure function behind the widget: {"p_is_next", "text"} for two sentences, or an error text."""
    try:
        p = p_is_next(lm, a, b)
    except ValueError as exc:
        return {"p_is_next": None, "text": str(exc)}
    bar = "#" * int(round(p * 20))
    n = len(lm.tokenizer(a, b, truncation="longest_first", max_length=lm.max_length)["input_ids"])
    return {"p_is_next": p, "text": f"P(IsNext) = {p:.4f}  [{bar:<20}]  -> {'IsNext' if p >= 0.5 else 'NotNext'}"
                                    f"  ([CLS] A [SEP] B [SEP]: {n} tokens)"}


def build_nsp_explorer(lm, a: str = "", b: str = ""):
    """Widget: two text boxes (sentence A, sentence B) and the model's P(IsNext) below them.

    Returns:
        ipywidgets.VBox with children (text_a, text_b, result HTML); the result updates on Enter/blur.
    """
    import html

    import ipywidgets as w

    if not getattr(lm, "has_nsp", False):
        raise ValueError(f"{lm.name!r} has no NSP head: use load_model('mini-bert') or bert-base-uncased.")
    text_a = w.Text(value=a, description="A", continuous_update=False, layout=w.Layout(width="95%"))
    text_b = w.Text(value=b, description="B", continuous_update=False, layout=w.Layout(width="95%"))
    out = w.HTML()

    def refresh(_change=None) -> None:
        out.value = f"<pre>{html.escape(nsp_verdict(lm, text_a.value, text_b.value)['text'])}</pre>"

    text_a.observe(refresh, names="value")
    text_b.observe(refresh, names="value")
    refresh()
    return w.VBox([text_a, text_b, out])


# ----------------------------------------------------------------------------- command line


def train_variant(corpus: Corpus, tokenizer, objective: str, recipe: dict, progress: bool = True,
                  callback=None) -> TrainResult:
    """Train one model of the recipe with ``objective`` (same corpus, tokenizer, seed, steps)."""
    model = new_model(tokenizer, seed=recipe["seed"], **{k: recipe[k] for k in
                                                         ("layers", "width", "heads", "intermediate", "max_positions", "dropout")})
    return pretrain(corpus, tokenizer, model, objective=objective, steps=recipe["steps"], batch_size=recipe["batch_size"],
                    lr=recipe["lr"], warmup=recipe["warmup"], weight_decay=recipe["weight_decay"], seed=recipe["seed"],
                    eval_every=recipe["eval_every"], eval_pairs=recipe["eval_pairs"], progress=progress,
                    callback=callback)


def _print_eval(result: TrainResult) -> None:
    e = result.evals[-1]
    task = task_name(result.objective)
    extra = f", {task.upper()} acc {e[task + '_acc']:.3f}" if task else ""
    print(f"  [{result.objective}] step {e['step']:>5}  {e['seconds']:7.1f} s  MLM acc {e['mlm_acc']:.3f}{extra}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m helpers.pretrain --out data/mini-bert``: train and save the NSP model and its SOP / MLM-only twins."""
    parser = argparse.ArgumentParser(description="Pretrain the course's mini-BERT (MLM + NSP) on the generated corpus.")
    parser.add_argument("--out", default=str(config.LOCAL_MODELS["mini-bert"]), help="output folder")
    parser.add_argument("--seed", type=int, default=RECIPE["seed"])
    parser.add_argument("--steps", type=int, default=RECIPE["steps"])
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: bit-for-bit reproducible, and fastest on a busy 2-core machine)")
    parser.add_argument("--no-variants", action="store_true", help="skip the SOP and MLM-only models")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    recipe = dict(RECIPE, seed=args.seed, steps=args.steps)
    corpus = make_corpus(recipe["n_train_docs"], recipe["n_heldout_docs"], seed=recipe["seed"])
    tokenizer = train_tokenizer(corpus.texts("train"), recipe["vocab_size"], recipe["max_positions"])
    print(corpus, f"vocabulary {len(tokenizer)}")
    kinds = ["nsp"] if args.no_variants else ["nsp", "sop", "mlm"]
    trained = {}
    for kind in kinds:
        t0 = time.perf_counter()
        res = train_variant(corpus, tokenizer, kind, recipe, progress=sys.stderr.isatty(), callback=_print_eval)
        folder = config.mini_bert_dir(kind, args.out)
        extra = {"wall_seconds": round(time.perf_counter() - t0, 1), "torch": torch.__version__,
                 "threads": torch.get_num_threads(), "recipe": recipe}
        save_checkpoint(res, folder, extra)
        trained[kind] = res
        print(f"{kind}: {json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in res.final.items()})}"
              f" -> {folder}")
    if {"nsp", "sop"} <= set(trained):
        lms = {f"{k.upper()}-trained": wrap(trained[k].model, tokenizer, k) for k in ("nsp", "sop")}
        table = order_table(lms, corpus.heldout)
        path = Path(args.out) / "metrics.json"
        metrics = json.loads(path.read_text())
        metrics["order_table"] = table
        path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
        print("order table:", json.dumps(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
