"""Fine-tuning a copy of the model with a linear head on one pooled vector ([CLS] or the masked mean).

Shapes: B = sentences in a batch, T = tokens, H = width, K = classes. The original model is never
changed; a fine-tuned copy can be wrapped back into a LoadedModel (:func:`as_loaded_model`) so that
encode(), embed() and the feature cache work on it.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .cube import masked_mean
from .models import LoadedModel, from_module
from .stats import Estimate

#: The pooled vectors a fine-tuning head can read.
HEADS = ("cls", "mean")


def _pooled(hidden: torch.Tensor, attention_mask: torch.Tensor, head: str) -> torch.Tensor:
    return hidden[:, 0, :] if head == "cls" else masked_mean(hidden, attention_mask)



class PooledClassifier(torch.nn.Module):
    """The encoder, a pooling step ("cls" or "mean") and a linear head: logits (B,K)."""

    def __init__(self, encoder: torch.nn.Module, head: str, num_labels: int, dropout: float = 0.1):
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}.")
        self.encoder = encoder
        self.head = head
        self.dropout = torch.nn.Dropout(dropout)
        self.classifier = torch.nn.Linear(encoder.config.hidden_size, num_labels)

    def pooled(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        """(B,H) the sentence vector the head reads."""
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        return _pooled(self.encoder(**kwargs).last_hidden_state, attention_mask, self.head)

    def forward(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        return self.classifier(self.dropout(self.pooled(input_ids, attention_mask, token_type_ids)))


@dataclass
class FineTuneResult:
    """A fine-tuned copy of the model (the original is untouched) and its training record."""

    model: PooledClassifier
    head: str
    seed: int
    steps: int
    losses: list
    seconds: float


def _batch(lm: LoadedModel, texts: Sequence[str], max_length: int, device) -> dict:
    enc = lm.tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    keep = ("input_ids", "attention_mask", "token_type_ids")
    return {k: v.to(device) for k, v in enc.items() if k in keep}


def _is_bert(encoder: torch.nn.Module) -> bool:
    return getattr(encoder.config, "model_type", "") == "bert" and hasattr(encoder, "encoder")


def _layers(encoder: torch.nn.Module):
    """The list of transformer blocks of a BERT-like encoder."""
    for path in ("encoder.layer", "transformer.layer", "layers"):
        obj = encoder
        try:
            for part in path.split("."):
                obj = getattr(obj, part)
            return list(obj)
        except AttributeError:
            continue
    raise ValueError(f"Cannot find the transformer layers of {type(encoder).__name__}; use train_layers=None.")


class FrozenPrefix:
    """The (frozen) output of the layers below the trained ones, computed once per training sentence.

    With ``train_layers=n`` the lower layers never change, so their output for each sentence is the same at
    every step: computing it once makes each step run only the top ``n`` layers (several times cheaper on a CPU).
    """

    def __init__(self, lm: LoadedModel, texts: Sequence[str], train_layers: int, max_length: int = 64,
                 batch_size: int = 64):
        from .cube import encode

        self.layer = lm.num_layers - train_layers  # index into hidden_states: input of the first trained layer
        self.states: list[torch.Tensor] = []
        for start in range(0, len(texts), 256):
            cube = encode(lm, list(texts[start : start + 256]), hidden_states=True, attentions=False,
                          batch_size=batch_size, max_length=max_length)
            hs = cube.layer(self.layer)
            for row, n in enumerate(cube.lengths.tolist()):
                self.states.append(hs[row, :n].clone())

    def batch(self, idx, device) -> tuple[torch.Tensor, torch.Tensor]:
        """(B,T,H) padded states and (B,T) attention_mask for the rows ``idx``."""
        rows = [self.states[i] for i in idx]
        width = max(len(r) for r in rows)
        h = torch.zeros((len(rows), width, rows[0].shape[-1]))
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for j, r in enumerate(rows):
            h[j, : len(r)] = r
            mask[j, : len(r)] = 1
        return h.to(device), mask.to(device)


def _top_forward(model: "PooledClassifier", top_blocks, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Run only the trained top layers from cached states, then pool and classify: logits (B,K)."""
    from transformers.masking_utils import create_bidirectional_mask

    mask4 = create_bidirectional_mask(config=model.encoder.config, inputs_embeds=hidden, attention_mask=mask)
    for block in top_blocks:
        out = block(hidden, attention_mask=mask4)
        hidden = out[0] if isinstance(out, tuple) else out
    return model.classifier(model.dropout(_pooled(hidden, mask, model.head)))


def fine_tune(lm: LoadedModel, texts: Sequence[str], labels, *, head: str = "cls", steps: int = 60,
              batch_size: int = 16, lr: float = 5e-5, head_lr: float = 1e-3, seed: int = 0,
              max_length: int = 64, progress: bool = True, warmup: float = 0.1,
              train_layers: int | None = None, prefix: FrozenPrefix | None = None) -> FineTuneResult:
    """Fine-tune a COPY of the model with a [CLS] or mean-pooling head for ``steps`` batches.

    The same seed gives the same head initialisation, dropout and batch order for either head,
    so two runs differ only in which vector the head reads.

    Args:
        texts / labels: N training sentences and their (N,) int labels.
        head: "cls" (the head reads ``last_hidden[:, 0]``) or "mean" (the masked mean).
        train_layers: fine-tune only the top this-many transformer layers (the embeddings and lower
            layers stay frozen, which makes CPU runs several times cheaper); None trains everything.
        prefix: the frozen layers' output for ``texts`` (a FrozenPrefix made with the same train_layers);
            computed here when train_layers is set and none is given.
    """
    from tqdm.auto import tqdm

    y = np.asarray(labels)
    if len(texts) != len(y):
        raise ValueError(f"{len(texts)} texts but {len(y)} labels: give one label per text.")
    if len(np.unique(y)) < 2:
        raise ValueError("labels hold a single class: fine-tuning a classifier needs at least two.")
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be at least 1, got {steps} and {batch_size}.")
    torch.manual_seed(seed)
    model = PooledClassifier(copy.deepcopy(lm.encoder), head, int(y.max()) + 1).to(lm.device)
    model.train()
    if train_layers is not None:
        blocks = _layers(model.encoder)
        if not 0 <= train_layers <= len(blocks):
            raise ValueError(f"train_layers={train_layers}: this model has {len(blocks)} layers; use 0..{len(blocks)} or None.")
        for param in model.encoder.parameters():
            param.requires_grad_(False)
        for block in blocks[len(blocks) - train_layers :]:
            for param in block.parameters():
                param.requires_grad_(True)
    top_blocks = None
    if train_layers is not None and 0 < train_layers < lm.num_layers and _is_bert(model.encoder):
        if prefix is None:
            prefix = FrozenPrefix(lm, texts, train_layers, max_length)
        if prefix.layer != lm.num_layers - train_layers or len(prefix.states) != len(texts):
            raise ValueError("prefix was computed for other texts or another train_layers: make it with the same ones.")
        top_blocks = _layers(model.encoder)[lm.num_layers - train_layers :]
    params = [
        {"params": [q for q in model.encoder.parameters() if q.requires_grad], "lr": lr},
        {"params": model.classifier.parameters(), "lr": head_lr},
    ]
    opt = torch.optim.AdamW(params, weight_decay=0.01)
    warm = max(1, int(warmup * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, then linear decay to 0
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / max(1, steps - warm)))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    pos = 0
    losses = []
    start = time.perf_counter()
    loss_fn = torch.nn.CrossEntropyLoss()
    bar = tqdm(range(steps), desc=f"fine-tune ({head} head, seed {seed})", disable=not progress, leave=False)
    for _ in bar:
        if pos + batch_size > len(order):
            order, pos = rng.permutation(len(y)), 0
        idx = order[pos : pos + batch_size]
        pos += batch_size
        if top_blocks is not None:
            logits = _top_forward(model, top_blocks, *prefix.batch(idx, lm.device))
        else:
            logits = model(**_batch(lm, [texts[i] for i in idx], max_length, lm.device))
        loss = loss_fn(logits, torch.as_tensor(y[idx], device=lm.device))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f"{np.mean(losses[-10:]):.3f}")
    bar.close()
    model.eval()
    return FineTuneResult(model, head, seed, steps, losses, time.perf_counter() - start)


def predict(lm: LoadedModel, model: PooledClassifier, texts: Sequence[str], batch_size: int = 64,
            max_length: int = 64) -> np.ndarray:
    """(N,) predicted labels of a fine-tuned PooledClassifier."""
    model.eval()
    out = []
    with torch.inference_mode():
        for s in range(0, len(texts), batch_size):
            out.append(model(**_batch(lm, texts[s : s + batch_size], max_length, lm.device)).argmax(-1).cpu().numpy())
    return np.concatenate(out)


def compare_heads(lm: LoadedModel, train_texts, train_labels, test_texts, test_labels, *,
                  heads: Sequence[str] = ("cls", "mean"), seeds: Sequence[int] = (0,), steps: int = 60,
                  batch_size: int = 16, lr: float = 5e-5, head_lr: float = 1e-3, train_layers: int | None = None,
                  progress: bool = True) -> tuple[list[dict], dict]:
    """Fine-tune each head with each seed under the same budget; test accuracy per run.

    Returns:
        (rows, models): rows are dicts (head, seed, accuracy, seconds, final_loss); models maps
        (head, seed) -> FineTuneResult.
    """
    y_test = np.asarray(test_labels)
    rows, models = [], {}
    prefix = None
    if train_layers is not None and 0 < train_layers < lm.num_layers and _is_bert(lm.encoder):
        prefix = FrozenPrefix(lm, list(train_texts), train_layers)  # shared by every run: same frozen layers
    for seed in seeds:
        for head in heads:
            ft = fine_tune(lm, train_texts, train_labels, head=head, steps=steps, batch_size=batch_size, lr=lr,
                           head_lr=head_lr, seed=seed, progress=progress, train_layers=train_layers, prefix=prefix)
            acc = float((predict(lm, ft.model, list(test_texts)) == y_test).mean())
            rows.append({"head": head, "seed": seed, "accuracy": acc, "seconds": ft.seconds,
                         "final_loss": float(np.mean(ft.losses[-10:]))})
            models[(head, seed)] = ft
    return rows, models


def summarize_heads(rows: Sequence[dict]) -> dict[str, Estimate]:
    """head -> Estimate of its test accuracy over the runs (seeds) in ``rows``."""
    return {head: Estimate([r["accuracy"] for r in rows if r["head"] == head], name=f"{head} head")
            for head in dict.fromkeys(r["head"] for r in rows)}


def as_loaded_model(lm: LoadedModel, ft: FineTuneResult | PooledClassifier) -> LoadedModel:
    """A LoadedModel around a fine-tuned encoder, so encode()/features work on it."""
    model = ft.model if isinstance(ft, FineTuneResult) else ft
    return from_module(model.encoder, lm.tokenizer, name=f"{lm.name}+finetuned-{model.head}",
                       why=f"fine-tuned from {lm.name} in this notebook", note="fine-tuned copy", device=lm.device)
