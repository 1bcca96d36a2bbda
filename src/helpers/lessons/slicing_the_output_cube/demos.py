"""Two confusions of notebook 05, shown live: ``pooler_output`` is not the [CLS] vector, and the warning a
learner meets when a classification head is put on a checkpoint that has none (compute only, no drawing).

Shapes: N = sentences, T = tokens, H = width, K = classes.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ...core.models import LoadedModel, from_module, pooler_stats
from ...core.stats import as_numpy

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


# ----------------------------------------------------------------------------- pooler_output vs [CLS]


def pooler_sentence(stats: dict | None, name: str = "this model") -> str:
    """One sentence about a pooler from its ``pooler_stats``: none, never trained, or trained."""
    if stats is None:
        return f"{name} has no pooler: pooler_output does not exist, and last_hidden_state[:, 0] is the only [CLS] vector."
    numbers = (f"largest |bias| {stats['bias_abs_max']:.3g}, weight std {stats['weight_std']:.4f} against the "
               f"initialisation std {stats['init_std']:.4f}")
    if bool(stats and stats["untrained"]):
        below = " and its weights are smaller than a fresh draw" if stats["weight_std"] < stats["init_std"] else ""
        return (f"{name}'s pooler ({numbers}): its bias is exactly 0{below}, so no loss ever trained it: "
                f"pooler_output is [CLS] sent through an untrained dense layer (a random projection) and tanh.")
    return (f"{name}'s pooler ({numbers}): its bias moved away from 0, so it was trained (in BERT, by "
            f"next-sentence prediction, a pair-relation task read through the pooler).")


@dataclass
class PoolerVsCls:
    """How ``pooler_output`` differs from ``last_hidden_state[:, 0]`` on a batch.

    Attributes:
        cls_norm / pooler_norm: mean length of the [CLS] vectors and of the pooler outputs.
        cosine: mean cosine between a sentence's pooler output and its [CLS] vector.
        max_abs_diff: largest |pooler_output - [CLS]| over the batch.
        by_hand_error: largest |tanh(dense([CLS])) - pooler_output|: ~0 when the pooler is exactly that.
        saturated: share of pooler-output values with |value| > 0.99 (tanh at its limits).
    """

    cls_norm: float
    pooler_norm: float
    cosine: float
    max_abs_diff: float
    by_hand_error: float
    saturated: float

    def __str__(self) -> str:
        return (f"mean length: [CLS] {self.cls_norm:.3f}, pooler_output {self.pooler_norm:.3f}; mean cosine between "
                f"them {self.cosine:.3f}; largest difference {self.max_abs_diff:.3f}; tanh(dense([CLS])) reproduces "
                f"pooler_output to {self.by_hand_error:.1e}; {self.saturated:.1%} of its values past ±0.99")


def pooler_vs_cls(lm: LoadedModel, last_hidden, pooler_output) -> PoolerVsCls:
    """Compare ``pooler_output`` (N,H) with the [CLS] slice of ``last_hidden`` (N,T,H), and recompute it by hand.

    Raises:
        ValueError: the model has no pooler, or the shapes do not match.
    """
    pooler = getattr(lm.encoder, "pooler", None)
    if pooler is None or not hasattr(pooler, "dense"):
        raise ValueError(f"{lm.name} has no pooler (no dense + tanh on [CLS]): there is no pooler_output to compare.")
    hidden = torch.as_tensor(last_hidden)
    pooled = torch.as_tensor(pooler_output)
    if hidden.ndim != 3 or pooled.ndim != 2 or pooled.shape != (hidden.shape[0], hidden.shape[2]):
        raise ValueError(f"Give last_hidden (N,T,H) and pooler_output (N,H) of the same batch; got shapes "
                         f"{tuple(hidden.shape)} and {tuple(pooled.shape)}.")
    cls_vec = hidden[:, 0]
    with torch.inference_mode():
        dense = pooler.dense
        by_hand = torch.tanh(dense(cls_vec.to(dense.weight.device, dense.weight.dtype))).to(pooled.device)
    c, p = as_numpy(cls_vec), as_numpy(pooled)
    cos = (c * p).sum(1) / np.maximum(np.linalg.norm(c, axis=1) * np.linalg.norm(p, axis=1), 1e-12)
    return PoolerVsCls(float(np.linalg.norm(c, axis=1).mean()), float(np.linalg.norm(p, axis=1).mean()),
                       float(cos.mean()), float(np.abs(p - c).max()),
                       float(np.abs(as_numpy(by_hand) - p).max()), float((np.abs(p) > 0.99).mean()))


# ----------------------------------------------------------------------------- a new head on a checkpoint


@dataclass
class NewHead:
    """A checkpoint loaded into a sequence-classification class, and what transformers said about it.

    Attributes:
        lm: the loaded model (with its new head) as a LoadedModel.
        report: the warning transformers logged while loading (its LOAD REPORT), colour codes removed; "" if none.
        missing: parameters the class has but the checkpoint lacks: transformers drew them at random.
        unexpected: parameters the checkpoint has but the class does not use (e.g. BERT's MLM and NSP heads).
        head_std: standard deviation of the new head's weight matrix; init_std the config's initializer_range.
        pooler: ``core.models.pooler_stats`` of the loaded model (None without a pooler).
    """

    lm: LoadedModel
    report: str
    missing: list[str]
    unexpected: list[str]
    head_std: float
    init_std: float
    pooler: dict | None = None
    folder: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def architecture(self) -> str:
        return type(self.lm.model).__name__


def _head_weight(model: torch.nn.Module, missing: Sequence[str]) -> torch.Tensor | None:
    params = dict(model.named_parameters())
    for name in missing:
        if name.endswith("weight") and params.get(name) is not None and params[name].ndim == 2:
            return params[name]
    return None


def load_with_new_head(folder: str | Path, num_labels: int = 2, seed: int = 0) -> NewHead:
    """Load a checkpoint folder into ``AutoModelForSequenceClassification`` and keep the warning it logs.

    Nothing is downloaded (``local_files_only``). The report is captured from the ``transformers`` logger, so
    the notebook can print it; transformers' own printing of it is switched off meanwhile (and restored).
    The missing weights are drawn with ``seed`` (the global random state is left as it was).

    Raises:
        ValueError: no config.json in ``folder``, or num_labels < 2.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise ValueError(f"{folder} has no config.json: give a folder saved with save_pretrained "
                         "(e.g. helpers.core.models.embedded_model_dir()).")
    if int(num_labels) < 2:
        raise ValueError(f"num_labels must be at least 2 (one output per class), got {num_labels}.")
    messages: list[str] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("transformers")
    keep = _Keep(level=logging.WARNING)
    bar = hf_logging.is_progress_bar_enabled()
    logger.addHandler(keep)
    hf_logging.disable_default_handler()
    hf_logging.disable_progress_bar()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model, info = AutoModelForSequenceClassification.from_pretrained(
                folder, num_labels=int(num_labels), local_files_only=True, output_loading_info=True)
    finally:
        logger.removeHandler(keep)
        hf_logging.enable_default_handler()
        if bar:
            hf_logging.enable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    lm = from_module(model, tokenizer, name=f"{folder.name} + a new {type(model).__name__} head",
                     why="loaded into a classification class to show the missing-weights warning", source=str(folder))
    missing, unexpected = sorted(info.get("missing_keys", [])), sorted(info.get("unexpected_keys", []))
    report = "\n".join(_ANSI.sub("", m) for m in messages if m.strip())
    weight = _head_weight(model, missing)
    head_std = float(weight.detach().float().std()) if weight is not None else float("nan")
    init_std = float(getattr(model.config, "initializer_range", float("nan")))
    return NewHead(lm, report, missing, unexpected, head_std, init_std, pooler_stats(lm), str(folder))


def head_probabilities(new: NewHead, texts: Sequence[str]) -> np.ndarray:
    """(N,K) class probabilities the (untrained) head gives ``texts``."""
    texts = list(texts)
    if not texts:
        raise ValueError("texts is empty: give a few sentences to run the new head on.")
    enc = new.lm.tokenizer(texts, padding=True, truncation=True, return_tensors="pt").to(new.lm.device)
    with torch.inference_mode():
        logits = new.lm.model(**enc).logits
    return as_numpy(torch.softmax(logits.float(), -1))


def new_head_sentence(new: NewHead, probabilities) -> str:
    """What the report means, from this load's numbers: which tensors are new, what they give, what the head reads."""
    probs = np.asarray(probabilities, dtype=float)
    if not new.missing:
        return (f"Nothing was missing: {new.architecture} found every weight it needs in the checkpoint "
                "(it already has a trained classification head), so transformers had nothing to warn about.")
    parts = [f"{len(new.missing)} tensor(s) of {new.architecture} were not in the checkpoint "
             f"({', '.join(new.missing)}), so transformers drew them at random (weight std {new.head_std:.4f}, "
             f"the config's initializer_range {new.init_std:.4f}) and warned."]
    if probs.size:
        top = probs.max(1)
        parts.append(f"On {len(probs)} sentences the new head's most likely class gets probability "
                     f"{top.min():.3f} to {top.max():.3f}: noise, until the head is trained on the task.")
    if new.unexpected:
        parts.append(f"{len(new.unexpected)} tensor(s) of the checkpoint were not used (the pretraining heads).")
    if new.pooler is not None:
        if bool(new.pooler and new.pooler["untrained"]):
            parts.append("The head reads pooler_output; the pooler came from the file, so the report does not list "
                         "it, yet its bias is exactly 0: it was never trained either. The report compares names "
                         "with the file; it cannot say whether a weight was ever trained.")
        else:
            parts.append("The head reads pooler_output, and this checkpoint's pooler was trained (its bias is not 0).")
    return " ".join(parts)
