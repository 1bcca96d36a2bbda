"""Fine-tuning a copy of the model with a linear head on one readout ([CLS], the mean, the max, a word, ...).

Shapes: B = sentences in a batch, T = tokens, H = width, K = classes. The original model is never changed.
With ``train_layers=n`` only the top n transformer layers (and the head) learn: the frozen layers' output
for every sentence is computed once (:class:`FrozenPrefix`), so each step runs only the top n layers.
Precision "auto" uses bfloat16 autocast where the CPU has AMX or AVX-512 BF16 (or on a GPU), fp32 elsewhere.
A fine-tuned copy can be wrapped back into a LoadedModel (:func:`as_loaded_model`) so that encode(),
embed() and the feature cache work on it.
"""

from __future__ import annotations

import contextlib
import copy
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from .cube import check_texts
from .models import LoadedModel, from_module
from .readouts import Readout, get_readout, layout_rows, read
from .stats import Estimate

#: The documented full-mode recipe (notebook 06 and `make experiments`); quick mode shortens ``steps``.
RECIPE = {
    "steps": 600,
    "batch_size": 32,
    "lr": 1e-4,
    "head_lr": 2e-3,
    "warmup": 0.1,
    "weight_decay": 0.01,
    "train_layers": 3,
    "dropout": 0.1,
    "max_length": 64,
}
PRECISIONS = ("auto", "fp32", "bf16")


def bf16_supported() -> bool:
    """True where bfloat16 matrix products are fast: a CUDA GPU, or a CPU with AMX or AVX-512 BF16."""
    if torch.cuda.is_available():
        return True
    try:
        flags = open("/proc/cpuinfo", encoding="ascii", errors="ignore").read()
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


def resolve_precision(precision: str, device) -> str:
    """"fp32" or "bf16" for ``precision`` in PRECISIONS ("auto": bf16 where it is fast, fp32 elsewhere)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    if precision == "auto":
        return "bf16" if bf16_supported() else "fp32"
    return precision


def autocast(precision: str, device) -> contextlib.AbstractContextManager:
    """A bfloat16 autocast context for "bf16", a no-op for "fp32"."""
    if precision != "bf16":
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)


class ReadoutClassifier(torch.nn.Module):
    """The encoder, one readout and a linear head: logits (B,K)."""

    def __init__(self, encoder: torch.nn.Module, readout: Readout, num_labels: int, dropout: float = RECIPE["dropout"]):
        super().__init__()
        self.encoder = encoder
        self.readout = readout
        self.dropout = torch.nn.Dropout(dropout)
        self.classifier = torch.nn.Linear(encoder.config.hidden_size, num_labels)

    def head(self, hidden: torch.Tensor, attention_mask: torch.Tensor, cls_pos=None) -> torch.Tensor:
        """(B,T,H) last-layer states -> (B,K) logits."""
        return self.classifier(self.dropout(read(hidden, attention_mask, self.readout, cls_pos)))

    def forward(self, input_ids, attention_mask, cls_pos=None) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(hidden, attention_mask, cls_pos)


def _blocks(encoder: torch.nn.Module) -> list:
    """The transformer blocks of a BERT-like encoder."""
    for path in ("encoder.layer", "transformer.layer", "layers"):
        obj = encoder
        try:
            for part in path.split("."):
                obj = getattr(obj, part)
            return list(obj)
        except AttributeError:
            continue
    raise ValueError(f"Cannot find the transformer layers of {type(encoder).__name__}; use train_layers=None.")


def _pad(rows: Sequence[Sequence[int]], device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for j, r in enumerate(rows):
        ids[j, : len(r)] = torch.as_tensor(list(r))
        mask[j, : len(r)] = 1
    return ids.to(device), mask.to(device)


class Rows:
    """Sentences as id rows of one layout, with the position of [CLS] in each."""

    def __init__(self, lm: LoadedModel, texts: Sequence[str], layout: str, max_length: int):
        self.texts = check_texts(texts)
        cut = max(3, min(max_length, lm.max_length))
        ids, self.cls_pos = layout_rows(lm, self.texts, layout)
        self.ids = [r if len(r) <= cut else _cut(r, cut, layout) for r in ids]
        self.cls_pos = [_cls_after_cut(p, len(orig), cut, layout) for p, orig in zip(self.cls_pos, ids)]

    def __len__(self) -> int:
        return len(self.ids)

    def batch(self, idx, device) -> tuple[torch.Tensor, torch.Tensor, list]:
        ids, mask = _pad([self.ids[i] for i in idx], device)
        return ids, mask, [self.cls_pos[i] for i in idx]


def _cut(row: list[int], cut: int, layout: str) -> list[int]:
    """Shorten a layout row to ``cut`` ids keeping its special tokens where they belong."""
    if layout == "standard":
        return row[: cut - 1] + [row[-1]]
    if layout == "cls_end":
        return row[: cut - 2] + row[-2:]
    if layout == "no_cls":
        return row[: cut - 1] + [row[-1]]
    return row[: cut - 1] + [row[-1]]  # cls_middle: [CLS] stays if it is in the first cut-1


def _cls_after_cut(pos, length: int, cut: int, layout: str):
    if pos is None or length <= cut:
        return pos
    if layout == "cls_end":
        return cut - 1
    return pos if pos < cut - 1 else None


def pad_states(states: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Cached (T_i,H) states of one layer -> (B,T,H) zero-padded states and the (B,T) attention mask."""
    width = max(len(r) for r in states)
    h = torch.zeros((len(states), width, states[0].shape[-1]))
    mask = torch.zeros((len(states), width), dtype=torch.long)
    for j, r in enumerate(states):
        h[j, : len(r)] = r
        mask[j, : len(r)] = 1
    return h, mask


class FrozenPrefix:
    """The output of the frozen layers below the trained ones, computed once per training sentence."""

    def __init__(self, lm: LoadedModel, rows: Rows, train_layers: int, batch_size: int = 64):
        from .cube import encode_ids

        self.layer = lm.num_layers - train_layers  # index into hidden_states: the input of the first trained layer
        self.states: list[torch.Tensor] = []
        order = np.argsort([len(r) for r in rows.ids], kind="stable")
        store: dict[int, torch.Tensor] = {}
        for start in range(0, len(order), 256):
            idx = order[start : start + 256].tolist()
            cube = encode_ids(lm, [rows.ids[i] for i in idx], hidden_states=True, attentions=False,
                              batch_size=batch_size, progress=False)
            hs = cube.hidden_states[self.layer]
            for j, i in enumerate(idx):
                store[i] = hs[j, : len(rows.ids[i])].clone()
        self.states = [store[i] for i in range(len(rows))]

    def batch(self, idx, device) -> tuple[torch.Tensor, torch.Tensor]:
        """(B,T,H) padded states and (B,T) attention_mask for the rows ``idx``."""
        h, mask = pad_states([self.states[i] for i in idx])
        return h.to(device), mask.to(device)


def _top_forward(model: ReadoutClassifier, blocks, hidden: torch.Tensor, mask: torch.Tensor, cls_pos) -> torch.Tensor:
    """Only the trained top layers, from cached states; then the readout and the head: logits (B,K)."""
    from transformers.masking_utils import create_bidirectional_mask

    mask4 = create_bidirectional_mask(config=model.encoder.config, inputs_embeds=hidden, attention_mask=mask)
    for block in blocks:
        out = block(hidden, attention_mask=mask4)
        hidden = out[0] if isinstance(out, tuple) else out
    return model.head(hidden, mask, cls_pos)


@dataclass
class FineTuned:
    """A fine-tuned copy of the model (the original is untouched) and its training record.

    Attributes:
        model: the ReadoutClassifier; readout: what its head reads.
        curve: (step, validation accuracy) pairs when a validation set was given (the plateau check).
        losses: training loss per step; seconds: training wall time; precision: "fp32" or "bf16".
    """

    lm: LoadedModel
    model: ReadoutClassifier
    readout: Readout
    seed: int
    steps: int
    losses: list
    seconds: float
    precision: str
    train_layers: int | None
    curve: list = field(default_factory=list)
    max_length: int = RECIPE["max_length"]

    def logits(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """(N,K) logits for any sequence of strings."""
        return _logits(self.model, Rows(self.lm, texts, self.readout.layout, self.max_length), self.lm.device,
                       self.precision, batch_size)

    def probabilities(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """(N,K) class probabilities (the softmax of :meth:`logits`)."""
        return softmax(self.logits(texts, batch_size))

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """(N,) predicted labels."""
        return self.logits(texts, batch_size).argmax(-1)

    def correct(self, texts: Sequence[str], labels) -> np.ndarray:
        """(N,) 1 where the prediction equals the label (for paired comparisons)."""
        y = np.asarray(labels)
        pred = self.predict(texts)
        if len(pred) != len(y):
            raise ValueError(f"{len(pred)} texts but {len(y)} labels.")
        return (pred == y).astype(float)


def softmax(logits: np.ndarray) -> np.ndarray:
    """(N,K) logits -> (N,K) probabilities, row by row (shifted by the row maximum, so it never overflows)."""
    z = np.exp(logits - logits.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


def _logits(model: ReadoutClassifier, rows: Rows, device, precision: str, batch_size: int = 64,
            prefix: FrozenPrefix | None = None, blocks=None) -> np.ndarray:
    was = model.training
    model.eval()
    out = []
    order = np.argsort([len(r) for r in rows.ids], kind="stable")
    with torch.inference_mode(), autocast(precision, device):
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size].tolist()
            if prefix is not None:
                h, mask = prefix.batch(idx, device)
                logits = _top_forward(model, blocks, h, mask, [rows.cls_pos[i] for i in idx])
            else:
                ids, mask, cls_pos = rows.batch(idx, device)
                logits = model(ids, mask, cls_pos)
            out.append((idx, logits.float().cpu().numpy()))
    model.train(was)
    res = np.zeros((len(rows), out[0][1].shape[1]), dtype=np.float32)
    for idx, lg in out:
        res[idx] = lg
    return res


def fine_tune(lm: LoadedModel, texts: Sequence[str], labels, *, readout: str | int | Readout = "cls",
              steps: int = RECIPE["steps"], batch_size: int = RECIPE["batch_size"], lr: float = RECIPE["lr"],
              head_lr: float = RECIPE["head_lr"], warmup: float = RECIPE["warmup"],
              weight_decay: float = RECIPE["weight_decay"], train_layers: int | str | None = "recipe",
              max_length: int = RECIPE["max_length"], seed: int = 0, precision: str = "auto",
              val_texts: Sequence[str] | None = None, val_labels=None, eval_every: int | None = None,
              progress: bool = True) -> FineTuned:
    """Fine-tune a COPY of the model with a linear head on ``readout`` for ``steps`` batches.

    The same seed gives the same head initialisation, dropout and batch order for every readout, so two runs
    differ only in which vector the head reads.

    Args:
        texts / labels: N training sentences (any sequence of strings: list, tuple, pandas Series, numpy array)
            and their (N,) int labels.
        readout: a key of ``helpers.core.readouts.READOUTS`` ("cls", "mean", "max", "first", "pos2", "last",
            "sep", "cls_end", ...) or a Readout.
        train_layers: fine-tune only the top this-many transformer layers (the embeddings and lower layers stay
            frozen, which makes CPU runs several times cheaper); None trains everything; "recipe" (the default):
            the recipe's number, or every layer of a model with fewer.
        precision: "auto" (bf16 autocast where fast), "fp32" or "bf16".
        val_texts / val_labels / eval_every: a validation set scored every ``eval_every`` steps (the curve).
    """
    from tqdm.auto import tqdm

    r = get_readout(readout)
    rows = Rows(lm, texts, r.layout, max_length)
    y = np.asarray(labels)
    if len(rows) != len(y):
        raise ValueError(f"{len(rows)} texts but {len(y)} labels: give one label per text.")
    if len(np.unique(y)) < 2:
        raise ValueError("labels hold a single class: fine-tuning a classifier needs at least two.")
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be at least 1, got {steps} and {batch_size}.")
    prec = resolve_precision(precision, lm.device)
    torch.manual_seed(seed)
    model = ReadoutClassifier(copy.deepcopy(lm.encoder), r, int(y.max()) + 1).to(lm.device)
    model.train()
    blocks = _blocks(model.encoder)
    if train_layers == "recipe":
        train_layers = min(RECIPE["train_layers"], len(blocks))
    use_prefix = train_layers is not None and 0 < train_layers < len(blocks)
    if train_layers is not None:
        if not 0 <= train_layers <= len(blocks):
            raise ValueError(f"train_layers={train_layers}: this model has {len(blocks)} layers; use 0..{len(blocks)} or None.")
        for param in model.encoder.parameters():
            param.requires_grad_(False)
        for block in blocks[len(blocks) - train_layers:]:
            for param in block.parameters():
                param.requires_grad_(True)
    top = blocks[len(blocks) - train_layers:] if use_prefix else None
    prefix = FrozenPrefix(lm, rows, train_layers) if use_prefix else None
    val = None
    if val_texts is not None:
        val_rows = Rows(lm, val_texts, r.layout, max_length)
        val_y = np.asarray(val_labels)
        if len(val_rows) != len(val_y):
            raise ValueError(f"{len(val_rows)} validation texts but {len(val_y)} labels.")
        val = (val_rows, val_y, FrozenPrefix(lm, val_rows, train_layers) if use_prefix else None)
    params = [
        {"params": [q for q in model.encoder.parameters() if q.requires_grad], "lr": lr},
        {"params": model.classifier.parameters(), "lr": head_lr},
    ]
    opt = torch.optim.AdamW(params, weight_decay=weight_decay)
    warm = max(1, int(warmup * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, then linear decay to 0
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / max(1, steps - warm)))
    rng = np.random.default_rng(seed)
    order, pos = rng.permutation(len(y)), 0
    losses, curve = [], []
    loss_fn = torch.nn.CrossEntropyLoss()
    labels_t = torch.as_tensor(y, device=lm.device)
    start = time.perf_counter()
    evaluated = 0.0

    def evaluate(step: int) -> None:
        nonlocal evaluated
        t0 = time.perf_counter()
        vr, vy, vp = val
        acc = float((_logits(model, vr, lm.device, prec, 128, vp, top).argmax(-1) == vy).mean())
        curve.append((step, acc))
        evaluated += time.perf_counter() - t0

    bar = tqdm(range(steps), desc=f"fine-tune ({r.key} head, seed {seed}, {prec})", disable=not progress, leave=False)
    for step in bar:
        if pos + batch_size > len(order):
            order, pos = rng.permutation(len(y)), 0
        idx = order[pos : pos + batch_size].tolist()
        pos += batch_size
        with autocast(prec, lm.device):
            if prefix is not None:
                h, mask = prefix.batch(idx, lm.device)
                logits = _top_forward(model, top, h, mask, [rows.cls_pos[i] for i in idx])
            else:
                ids, mask, cls_pos = rows.batch(idx, lm.device)
                logits = model(ids, mask, cls_pos)
            loss = loss_fn(logits.float(), labels_t[idx])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f"{np.mean(losses[-10:]):.3f}")
        if val is not None and eval_every and ((step + 1) % eval_every == 0 or step + 1 == steps):
            evaluate(step + 1)
    bar.close()
    model.eval()
    return FineTuned(lm, model, r, seed, steps, losses, time.perf_counter() - start - evaluated, prec, train_layers,
                     curve, max_length)


def as_loaded_model(ft: FineTuned) -> LoadedModel:
    """A LoadedModel around a fine-tuned encoder, so encode()/features work on it."""
    return from_module(ft.model.encoder, ft.lm.tokenizer, name=f"{ft.lm.name}+finetuned-{ft.readout.key}",
                       why=f"fine-tuned from {ft.lm.name} with a head on {ft.readout.label}", note="fine-tuned copy",
                       device=ft.lm.device)


def compare_heads(lm: LoadedModel, train_texts, train_labels, test_texts, test_labels, *,
                  heads: Sequence[str] = ("cls", "mean"), seeds: Sequence[int] = (0,), progress: bool = True,
                  **recipe) -> tuple[list[dict], dict]:
    """Fine-tune a head on each readout in ``heads`` with each seed under the same recipe; test accuracy per run.

    Returns:
        (rows, models): rows are dicts (head, seed, accuracy, seconds, final_loss, correct); models maps
        (head, seed) -> FineTuned.
    """
    y_test = np.asarray(test_labels)
    rows, models = [], {}
    for seed in seeds:
        for head in heads:
            ft = fine_tune(lm, train_texts, train_labels, readout=head, seed=seed, progress=progress, **recipe)
            correct = ft.correct(test_texts, y_test)
            rows.append({"head": head, "seed": seed, "accuracy": float(correct.mean()), "seconds": ft.seconds,
                         "final_loss": float(np.mean(ft.losses[-10:])), "correct": correct})
            models[(head, seed)] = ft
    return rows, models


def summarize_heads(rows: Sequence[dict]) -> dict[str, Estimate]:
    """head -> Estimate of its test accuracy over the runs (seeds) in ``rows``."""
    return {head: Estimate([r["accuracy"] for r in rows if r["head"] == head], name=f"{head} head")
            for head in dict.fromkeys(r["head"] for r in rows)}
