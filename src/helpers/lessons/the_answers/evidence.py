"""Notebook 09 · compute: the few live measurements the answers need, each one a core quantity computed once.

Most of the evidence is shipped (the fine-tuning sweep, the position twins, ``minilm-nsp``'s metrics) and read
through the core's own readers. What is measured live, on a sample of the reviews and for the loaded model, is
cheap and cached on disk by :class:`helpers.core.features.FeatureCache`:

* :func:`frozen_evidence` - the frozen probes of [CLS] and of the mean at hidden state 0 and at the last layer
  (cross-fitted, so every comparison is paired on the same reviews) and [CLS]'s largest coordinate per hidden
  state (:func:`helpers.core.geometry.massive_by_layer`);
* :func:`recovery_evidence` - notebook 07's bag-of-words inversion probe at the last layer, over several
  train/test splits, and nearest-neighbour recovery (:mod:`helpers.core.inversion`);
* :func:`nsp_head_by_hand` - P(IsNext) computed from the [CLS] vectors through the pooler and the NSP layer,
  next to what the model's own head says (:func:`helpers.core.continued_nsp.nsp_logits`).

Shapes: N = sentences, H = width, L+1 = hidden states (0 = embeddings).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ...core.continued_nsp import corpus_split, heldout_pairs, nsp_logits
from ...core.cube import encode
from ...core.features import FeatureCache
from ...core.geometry import MassiveCoordinate, massive_by_layer
from ...core.inversion import SplitStudy, inversion_over_splits, nearest_neighbour_recovery
from ...core.linear import ProbeResult, cross_fit_probe

#: The frozen probes' inverse regularisation (the course's probes on reviews use it: notebooks 02 and 06).
PROBE_C = 0.1
#: Noise levels (x the per-unit standard deviation) of the nearest-neighbour recovery, as notebook 07.
NOISE_LEVELS = (0.0, 1.0, 2.0, 4.0, 8.0)
#: A few different sentences whose [CLS] input vectors are compared (any will do: the input is the same).
IDENTITY_SENTENCES = (
    "The film was a quiet delight.",
    "I walked out after twenty minutes.",
    "Great acting, awful script.",
    "Two hours of my life I will never get back.",
)


@dataclass
class FrozenEvidence:
    """What a frozen model's [CLS] and mean hold about review sentiment, and where [CLS] is parked.

    Attributes:
        model: the model's name.
        probes: readout ("cls", "mean") -> hidden state -> cross-fitted ProbeResult scored on every review
            (``.correct`` per seed and review, so two probes compare paired): [CLS] at hidden state 0 and at the
            last layer, the mean at the last layer; empty when the probes were not asked for.
        rows: per hidden state, [CLS]'s largest coordinate (MassiveCoordinate).
        n: reviews.
    """

    model: str
    probes: dict[str, dict[int, ProbeResult]]
    rows: list[MassiveCoordinate]
    n: int

    @property
    def last(self) -> int:
        """The last hidden state (= the number of layers)."""
        return len(self.rows) - 1


#: The probes :func:`frozen_evidence` fits: (readout, "first" or "last" hidden state).
PROBED = (("cls", "first"), ("cls", "last"), ("mean", "last"))


def frozen_evidence(lm, texts: Sequence[str], labels, *, seeds: Sequence[int] = (0, 1, 2), probes: bool = True,
                    cache: FeatureCache | None = None) -> FrozenEvidence:
    """Probe the frozen [CLS] (hidden state 0 and the last layer) and the mean (last layer), and measure [CLS]'s
    largest coordinate at every hidden state.

    Args:
        lm: a LoadedModel.
        texts / labels: the reviews and their labels (N,).
        seeds: one cross-fitting per seed (each shuffles the five folds differently).
        probes: False measures the coordinates only.
        cache: where the pooled vectors are kept (default: the course's feature cache).
    """
    texts = list(texts)
    y = np.asarray(labels)
    if len(texts) != len(y) or len(texts) < 20:
        raise ValueError(f"Give at least 20 texts with one label each, got {len(texts)} texts and {len(y)} labels.")
    cache = cache or FeatureCache()
    feats = cache.features_multi(lm, texts, ("cls", "mean"))  # each (L+1,N,H)
    last = feats["cls"].shape[0] - 1
    fitted: dict[str, dict[int, ProbeResult]] = {}
    for how, which in (PROBED if probes else ()):
        layer = 0 if which == "first" else last
        fitted.setdefault(how, {})[layer] = cross_fit_probe(
            feats[how][layer], y, seeds=tuple(seeds), C=PROBE_C,
            name=f"{lm.name}, {'[CLS]' if how == 'cls' else 'mean'}, hidden state {layer}")
    return FrozenEvidence(lm.name, fitted, massive_by_layer(feats["cls"]), len(texts))


@dataclass
class RecoveryEvidence:
    """How much of a sentence its last-layer vector gives back.

    Attributes:
        model: the model's name.
        splits: the inversion probe at the last layer over several train/test splits (``.f1[pooling][layer]``,
            ``.baseline["f1"]``), as notebook 07 computes it.
        nearest: pooling -> noise level -> share of sentences whose own sentence is the nearest candidate.
        n: sentences; layer: the hidden state probed.
    """

    model: str
    splits: SplitStudy
    nearest: dict[str, dict[float, float]]
    n: int
    layer: int


def recovery_evidence(lm, texts: Sequence[str], *, seeds: Sequence[int] = (0, 1, 2, 3, 4), min_count: int = 3,
                      noise: Sequence[float] = NOISE_LEVELS, cache: FeatureCache | None = None) -> RecoveryEvidence:
    """Notebook 07's two attacks on the last layer of ``lm``: the bag-of-words inversion probe (over ``seeds``
    train/test splits, against the frequent-words baseline) and nearest-neighbour recovery with noise."""
    texts = list(texts)
    cache = cache or FeatureCache()
    feats = cache.features_multi(lm, texts, ("cls", "mean"))
    last = feats["cls"].shape[0] - 1
    splits = inversion_over_splits(feats, texts, seeds=tuple(seeds), min_count=min_count, layers=[last])
    nearest = {p: nearest_neighbour_recovery(feats[p][last], feats[p][last], noise=tuple(noise)) for p in ("cls", "mean")}
    return RecoveryEvidence(lm.name, splits, nearest, len(texts), last)


def input_identity(lm, sentences: Sequence[str] = IDENTITY_SENTENCES) -> dict[str, float]:
    """:func:`helpers.core.geometry.cls_identity` of a few different sentences: the [CLS] input vectors are the
    same, the outputs differ. Adds ``model``."""
    from ...core.geometry import cls_identity

    cube = encode(lm, list(sentences), attentions=False)
    return {**cls_identity(cube), "model": lm.name}


# ----------------------------------------------------------------------------- the NSP head, by hand


def nsp_model_for(lm, fallback: str = "minilm-nsp"):
    """The model whose NSP head the notebook opens: ``lm`` when it has one that reads position 0, else ``fallback``
    (the course's position twins read [CLS] elsewhere, so their head is not the one at position 0)."""
    from ...core.config import MINI_BERT_TWINS
    from ...core.models import load_model

    if getattr(lm, "has_nsp", False) and lm.name not in MINI_BERT_TWINS and hasattr(lm.model, "cls"):
        return lm
    return load_model(fallback)


def nsp_sample_pairs(n: int = 8) -> list[tuple[str, str, int]]:
    """``n`` held-out pairs of the course's NSP corpus (unseen genres): (A, B, label), label 0 = B follows A.
    Taken in twos, so half are IsNext and half NotNext."""
    pairs = heldout_pairs(corpus_split(), "heldout_genres")
    step = max(1, len(pairs) // max(1, n))
    picked = [pairs[(i // 2) * step * 2 + i % 2] for i in range(n)]
    return [(p.a, p.b, p.label) for p in picked]


def nsp_parts(nsp_lm, pairs: Sequence[tuple[str, str, int]]) -> dict:
    """What the NSP head is made of and what it reads, for ``pairs``: the last-layer [CLS] vectors (B,H), the
    pooler's dense layer and the NSP layer (``torch.nn.Linear``), and the head's own probabilities (B,2)."""
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    cube = encode(nsp_lm, a, pairs=b, hidden_states=False, attentions=False)
    logits = nsp_logits(nsp_lm, a, b)
    return {"cls_vec": cube.last_hidden[:, 0].float().clone(),  # (B,H): the [CLS] output, one row per pair
            "pooler_dense": nsp_lm.encoder.pooler.dense, "nsp_layer": nsp_lm.model.cls.seq_relationship,
            "head_probs": torch.softmax(torch.as_tensor(logits), -1), "labels": [p[2] for p in pairs],
            "model": nsp_lm.name}


def nsp_head_by_hand(parts: dict) -> torch.Tensor:
    """(B,2) P(IsNext), P(NotNext) from the [CLS] vectors: softmax(NSP layer(tanh(pooler dense([CLS]))))."""
    with torch.inference_mode():
        dense = parts["pooler_dense"]
        pooled = torch.tanh(dense(parts["cls_vec"].to(dense.weight.device, dense.weight.dtype)))
        return torch.softmax(parts["nsp_layer"](pooled).float().cpu(), -1)


def by_hand_summary(parts: dict, probs) -> dict:
    """How well ``probs`` (B,2) reproduce the head's probabilities: width of [CLS], largest gap, accuracy of the head."""
    p = torch.as_tensor(np.asarray(probs, dtype=np.float32))
    head = parts["head_probs"].float()
    labels = np.asarray(parts["labels"])
    return {"model": parts["model"], "width": int(parts["cls_vec"].shape[-1]), "pairs": int(len(labels)),
            "max_gap": float((p - head).abs().max()) if p.shape == head.shape else float("inf"),
            "head_accuracy": float((head.argmax(-1).numpy() == labels).mean())}
