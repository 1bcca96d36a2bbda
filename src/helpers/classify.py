"""From sentence vectors to a classifier, and fine-tuning with a [CLS] head vs a mean-pooling head.

Shapes: N = sentences, H = width, L = layers, A = heads, T = tokens.
"""

from __future__ import annotations

import copy
import dataclasses
import string
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from .models import LoadedModel
from .probes import linear_probe

DEFAULT_CS = (0.01, 0.1, 1.0, 10.0)


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _check_xy(x, y, what: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = _np(x).astype(np.float64), np.asarray(y)
    if x.ndim != 2:
        raise ValueError(f"{what} features must be 2-D (sentences, hidden), got shape {x.shape}.")
    if len(x) != len(y):
        raise ValueError(f"{what} features have {len(x)} rows but {len(y)} labels: give one label per row.")
    return x, y


# ----------------------------------------------------------------------------- logistic regression


def _pipeline(C: float, seed: int = 0):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000, random_state=seed))


def dummy_baseline(y_train, y_test, strategy: str = "most_frequent", seed: int = 0) -> float:
    """Accuracy on ``y_test`` of sklearn's DummyClassifier (it never looks at the features)."""
    from sklearn.dummy import DummyClassifier

    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    clf = DummyClassifier(strategy=strategy, random_state=seed).fit(np.zeros((len(y_train), 1)), y_train)
    return float((clf.predict(np.zeros((len(y_test), 1))) == y_test).mean())


def grid_search_C(x, y, Cs: Sequence[float] = DEFAULT_CS, folds: int = 5, seed: int = 0) -> dict[float, float]:
    """Mean cross-validated accuracy on the TRAINING data for each C (the test set is never used)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    x, y = _check_xy(x, y, "training")
    if not Cs or any(c <= 0 for c in Cs):
        raise ValueError(f"Cs must be positive numbers, got {Cs!r}.")
    folds = max(2, min(folds, int(np.bincount(y).min())))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return {float(c): float(cross_val_score(_pipeline(c, seed), x, y, cv=cv).mean()) for c in Cs}


@dataclass
class ClassifyResult:
    """A logistic regression on sentence vectors, with its baseline and errors.

    Attributes:
        grid: C -> cross-validated training accuracy; best_C the chosen one.
        accuracy: test accuracy of the model fitted on all training rows with best_C.
        seed_accuracies: (S,) test accuracy per seed (each seed trains on its own 90% of the rows).
        dummy: test accuracy of always predicting the most frequent training label.
        confusion: (K,K) counts, rows = true label, columns = predicted.
        predictions / probabilities: (N_test,) predicted labels and the probability of the prediction.
    """

    grid: dict
    best_C: float
    accuracy: float
    seed_accuracies: np.ndarray
    dummy: float
    confusion: np.ndarray
    predictions: np.ndarray
    probabilities: np.ndarray
    label_names: list = field(default_factory=list)

    @property
    def mean(self) -> float:
        return float(np.mean(self.seed_accuracies))

    @property
    def std(self) -> float:
        return float(np.std(self.seed_accuracies, ddof=1)) if len(self.seed_accuracies) > 1 else 0.0

    def __str__(self) -> str:
        grid = ", ".join(f"C={c:g}: {a:.3f}" for c, a in self.grid.items())
        return (
            f"grid search (cross-validated on train): {grid}  -> best C={self.best_C:g}\n"
            f"test accuracy {self.accuracy:.3f}; over {len(self.seed_accuracies)} seeds "
            f"{self.mean:.3f} ± {self.std:.3f}; dummy baseline {self.dummy:.3f}"
        )


def classify(x_train, y_train, x_test, y_test, *, Cs: Sequence[float] = DEFAULT_CS,
             seeds: Sequence[int] = (0, 1, 2, 3, 4), label_names: Sequence[str] | None = None) -> ClassifyResult:
    """Grid-search C on the training rows, then report test accuracy with seeds, a dummy baseline and errors.

    Args:
        x_train / x_test: (N,H) sentence vectors; y_train / y_test: (N,) int labels.
    """
    from sklearn.metrics import confusion_matrix

    xa, ya = _check_xy(x_train, y_train, "training")
    xb, yb = _check_xy(x_test, y_test, "test")
    if xa.shape[1] != xb.shape[1]:
        raise ValueError(f"test features have width {xb.shape[1]} but training features {xa.shape[1]}.")
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed.")
    grid = grid_search_C(xa, ya, Cs, seed=seeds[0])
    best = max(grid, key=lambda c: (grid[c], -c))
    clf = _pipeline(best, seeds[0]).fit(xa, ya)
    pred = clf.predict(xb)
    proba = clf.predict_proba(xb).max(1)
    per_seed = linear_probe(xa, ya, xb, yb, seeds=seeds, C=best).accuracies
    labels = np.arange(max(ya.max(), yb.max()) + 1)
    names = list(label_names) if label_names is not None else [str(c) for c in labels]
    return ClassifyResult(grid, best, float((pred == yb).mean()), per_seed, dummy_baseline(ya, yb),
                          confusion_matrix(yb, pred, labels=labels), pred, proba, names)


def misclassified(result: ClassifyResult, texts: Sequence[str], y_test, n: int = 5, **columns) -> list[dict]:
    """The ``n`` test sentences the classifier got wrong with the most confidence."""
    y = np.asarray(y_test)
    if len(texts) != len(y) or len(y) != len(result.predictions):
        raise ValueError("texts, y_test and the result's predictions must have the same length (the test set).")
    wrong = np.flatnonzero(result.predictions != y)
    wrong = wrong[np.argsort(-result.probabilities[wrong], kind="stable")][:n]
    rows = []
    for i in wrong:
        row = {"text": texts[i], "true": result.label_names[y[i]], "predicted": result.label_names[result.predictions[i]],
               "confidence": float(result.probabilities[i])}
        row.update({k: v[i] for k, v in columns.items()})
        rows.append(row)
    return rows


def draw_confusion(confusion, label_names: Sequence[str], title: str = "confusion matrix (test)"):
    """A Figure of a (K,K) confusion matrix with counts in the cells."""
    import matplotlib.pyplot as plt

    cm = np.asarray(confusion)
    fig, ax = plt.subplots(figsize=(3.4, 3.0), dpi=90)
    ax.imshow(cm, cmap="Blues")
    for (r, c), v in np.ndenumerate(cm):
        ax.text(c, r, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black")
    ax.set_xticks(range(len(label_names)), label_names)
    ax.set_yticks(range(len(label_names)), label_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- fine-tuning


class PooledClassifier(torch.nn.Module):
    """The encoder, a pooling step ("cls" or "mean") and a linear head: logits (B,K)."""

    def __init__(self, encoder: torch.nn.Module, head: str, num_labels: int, dropout: float = 0.1):
        super().__init__()
        if head not in ("cls", "mean"):
            raise ValueError(f"head must be 'cls' or 'mean', got {head!r}.")
        self.encoder = encoder
        self.head = head
        self.dropout = torch.nn.Dropout(dropout)
        self.classifier = torch.nn.Linear(encoder.config.hidden_size, num_labels)

    def pooled(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        """(B,H) the sentence vector the head reads."""
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**kwargs).last_hidden_state
        if self.head == "cls":
            return hidden[:, 0, :]
        m = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)

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
    if model.head == "cls":
        pooled = hidden[:, 0, :]
    else:
        m = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
    return model.classifier(model.dropout(pooled))


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


def summarize_heads(rows: Sequence[dict]) -> dict[str, tuple[float, float, int]]:
    """head -> (mean accuracy, std over seeds, number of runs)."""
    out = {}
    for head in dict.fromkeys(r["head"] for r in rows):
        acc = np.array([r["accuracy"] for r in rows if r["head"] == head])
        out[head] = (float(acc.mean()), float(acc.std(ddof=1)) if len(acc) > 1 else 0.0, len(acc))
    return out


def as_loaded_model(lm: LoadedModel, ft: FineTuneResult | PooledClassifier) -> LoadedModel:
    """A LoadedModel around a fine-tuned encoder, so encode()/features() work on it."""
    model = ft.model if isinstance(ft, FineTuneResult) else ft
    head = ft.head if isinstance(ft, FineTuneResult) else model.head
    return dataclasses.replace(lm, name=f"{lm.name}+finetuned-{head}", model=model.encoder, has_mlm=False,
                               has_nsp=False, note="fine-tuned copy")


# ----------------------------------------------------------------------------- attention and [CLS]

CATEGORIES = ("[CLS]", "[SEP]", "punctuation", "words")


def _categories(lm: LoadedModel, tokens: Sequence[str]) -> np.ndarray:
    cls_tok, sep_tok = lm.tokenizer.cls_token, lm.tokenizer.sep_token
    cat = []
    for tok in tokens:
        if tok == cls_tok:
            cat.append(0)
        elif tok == sep_tok:
            cat.append(1)
        elif tok and all(ch in string.punctuation for ch in tok):
            cat.append(2)
        else:
            cat.append(3)
    return np.array(cat)


def cls_attention(lm: LoadedModel, texts: Sequence[str], batch_size: int = 32) -> dict:
    """What [CLS] attends to, and how much attention [CLS] receives, per layer (computed from encode()).

    Returns:
        dict with
          "from_cls": (L,4) share of the [CLS] query's attention going to [CLS], [SEP], punctuation, words
                      (mean over heads and sentences);
          "to_cls": (L,) mean attention that the real tokens (other than [CLS]) pay to [CLS];
          "cls_row": (L,T0) head-averaged attention from [CLS] over the first sentence's tokens;
          "tokens": the first sentence's tokens.
    """
    from .cube import encode

    cube = encode(lm, list(texts), hidden_states=False, attentions=True, batch_size=batch_size)
    att = cube.attentions.numpy()  # (L,B,A,T,T)
    n_layers, b = att.shape[0], att.shape[1]
    from_cls = np.zeros((n_layers, len(CATEGORIES)))
    to_cls = np.zeros(n_layers)
    for row in range(b):
        toks = cube.tokens[row]
        n = len(toks)
        cat = _categories(lm, toks)
        q = att[:, row, :, 0, :n].mean(1)  # (L,n) [CLS] query, head-averaged
        for c in range(len(CATEGORIES)):
            from_cls[:, c] += q[:, cat == c].sum(1)
        to_cls += att[:, row, :, 1:n, 0].mean(axis=(1, 2))
    n0 = len(cube.tokens[0])
    return {"from_cls": from_cls / b, "to_cls": to_cls / b, "cls_row": att[:, 0, :, 0, :n0].mean(1),
            "tokens": cube.tokens[0], "categories": CATEGORIES}


def draw_cls_attention(before: dict, after: dict, label_after: str = "fine-tuned"):
    """Figure: share of [CLS]'s attention on words per layer, attention paid to [CLS], and one sentence's row."""
    import matplotlib.pyplot as plt

    layers = np.arange(1, len(before["to_cls"]) + 1)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), dpi=80)
    for res, style, name in ((before, "o-", "frozen"), (after, "s--", label_after)):
        axes[0].plot(layers, res["from_cls"][:, 3], style, label=f"{name}: to words")
        axes[0].plot(layers, res["from_cls"][:, 1], style, alpha=0.5, label=f"{name}: to [SEP]")
        axes[1].plot(layers, res["to_cls"], style, label=name)
    axes[0].set(title="where [CLS] looks (share of its attention)", xlabel="layer", ylim=(0, 1))
    axes[1].set(title="attention the other tokens pay to [CLS]", xlabel="layer")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    toks = before["tokens"]
    x = np.arange(len(toks))
    axes[2].bar(x - 0.2, before["cls_row"][-1], 0.4, label="frozen")
    axes[2].bar(x + 0.2, after["cls_row"][-1], 0.4, label=label_after)
    axes[2].set_xticks(x, toks, rotation=70, fontsize=7)
    axes[2].set_title("last layer: [CLS]'s attention over one sentence", fontsize=9)
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    return fig
