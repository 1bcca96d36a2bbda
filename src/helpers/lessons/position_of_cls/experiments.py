"""Why is the first token's output the sentence's summary? The experiments of notebook 02 (compute only).

Shapes: N = sentences, T = tokens, H = width, L = layers (hidden states have L+1 entries: 0 = embeddings).
Every function here returns numbers or arrays; the drawings and explorers over them are in
:mod:`.views`, the Try-it checks in :mod:`.checks`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from ...core.cube import Cube, encode, encode_ids
from ...core.linear import ProbeResult, cross_fit_probe
from ...core.models import LoadedModel
from ...core.stats import PairedDifference, alikeness, as_numpy, cosine_matrix, difference, unit_rows
from ...core.readouts import LAYOUTS, layout_row, read, word_piece_ids
from ...core.readouts import READOUTS as CORE_READOUTS
from ...core.geometry import SAME_DIRECTION_ABOVE, cls_identity  # noqa: F401  (re-exported: notebook 02 calls pos.cls_identity)
from .parking import clearly_above_chance

#: The readouts notebook 02 compares (keys of :data:`helpers.core.readouts.READOUTS`), in display order.
STUDIED: tuple[str, ...] = ("cls", "mean", "first", "last", "sep", "cls_end", "cls_middle", "nocls_first",
                            "nocls_mean")

#: Sentence vectors compared in the experiments: key -> (layout, what to read, label), read from the core's
#: readout registry (:mod:`helpers.core.readouts`, shared with notebook 06's fine-tuning sweep). "cls" reads
#: wherever [CLS] sits; "first"/"last" the first/last word piece; "sep" the final [SEP]; "mean" averages
#: every real token of the row. LAYOUTS (where [CLS] goes in each input layout) is the core's too.
READOUTS: dict[str, tuple[str, str, str]] = {
    k: (CORE_READOUTS[k].layout, CORE_READOUTS[k].what, CORE_READOUTS[k].label) for k in STUDIED
}

#: Mean cosine between different sentences' vectors below which a layer counts as sentence-specific.
#: At the input [CLS] is the same vector for every sentence (exactly 1.0), and float32 rounding moves
#: that by about 1e-6; 1% off perfect alignment is far beyond rounding, so a layer under 0.99 has
#: clearly started to give different sentences different [CLS] vectors, while the vectors a trained
#: model finally reads out differ by much more than that. It is the core's "same direction" line
#: (helpers.core.geometry.SAME_DIRECTION_ABOVE) seen from the other side.
SENTENCE_SPECIFIC_BELOW: float = SAME_DIRECTION_ABOVE


def _check_model(lm: Any) -> LoadedModel:
    if not hasattr(lm, "tokenizer") or not hasattr(lm, "encoder"):
        raise ValueError(f"Expected a LoadedModel from helpers.load_model(), got {type(lm).__name__}.")
    return lm


def _check_cube(cube: Any, need_layers: bool = True) -> Cube:
    if not isinstance(cube, Cube):
        raise ValueError(f"Expected a Cube from helpers.encode(), got {type(cube).__name__}.")
    if need_layers and cube.hidden_states is None:
        raise ValueError("This cube has no hidden_states: encode(..., hidden_states=True).")
    return cube


def _paired_cosine(a, b) -> np.ndarray:
    """(...,H),(...,H) -> (...): the cosine between each row of ``a`` and the same row of ``b`` (core.stats.unit_rows)."""
    a, b = as_numpy(a), as_numpy(b)
    if a.shape != b.shape:
        raise ValueError(f"Paired rows need the same shape, got {a.shape} and {b.shape}.")
    h = a.shape[-1]
    return (unit_rows(a.reshape(-1, h)) * unit_rows(b.reshape(-1, h))).sum(1).reshape(a.shape[:-1])


# ----------------------------------------------------------------------------- 1. nothing of its own


def cls_movement(cube: Cube) -> dict[str, np.ndarray]:
    """How far the [CLS] vector moves through the layers, next to the word tokens.

    Returns:
        dict with ``cls_from_input`` (L+1,): mean cosine distance (1 - cosine) of [CLS] at each layer from
        its input embedding; ``cls_step`` and ``word_step`` (L,): mean cosine distance between a token's
        vector before and after each layer, for [CLS] and for the word tokens (not [CLS]/[SEP]/padding).
    """
    cube = _check_cube(cube)
    hs = as_numpy(cube.hidden_states)  # (L+1,B,T,H)
    cls = hs[:, :, 0]  # (L+1,B,H)
    from_input = 1 - _paired_cosine(cls, np.broadcast_to(cls[0:1], cls.shape)).mean(1)
    step = 1 - _paired_cosine(hs[1:], hs[:-1])  # (L,B,T)
    words = cube.attention_mask.bool().numpy().copy()
    words[:, 0] = False
    words[np.arange(len(cube)), cube.lengths.numpy() - 1] = False  # the final [SEP]
    if not words.any():
        raise ValueError("These sentences have no word tokens between [CLS] and [SEP].")
    return {
        "cls_from_input": from_input,
        "cls_step": step[:, :, 0].mean(1),
        "word_step": (step * words).sum((1, 2)) / words.sum(),
    }


def alikeness_by_layer(cube: Cube, hows: Sequence[str | int] = ("cls", "mean", "first", "sep")) -> dict[str, np.ndarray]:
    """Mean cosine between different sentences' vectors at every layer, per pooling: how -> (L+1,)."""
    cube = _check_cube(cube)
    return {
        str(how): np.array([alikeness(cube.pool(how, layer)) for layer in range(cube.num_layers + 1)]) for how in hows
    }


def first_specific_layer(alike: Sequence[float], below: float = SENTENCE_SPECIFIC_BELOW) -> int | None:
    """The first layer whose mean cosine between different sentences is under ``below``; None if none is.

    Args:
        alike: (L+1,) one value per layer, e.g. ``alikeness_by_layer(cube)["cls"]``.
    """
    values = np.asarray(alike, dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"alike must be one value per layer (a 1-D sequence), got shape {values.shape}.")
    return next((layer for layer, a in enumerate(values) if a < below), None)


def layer_view(cube: Cube, layer: int) -> dict[str, Any]:
    """What the layer slider shows: the [CLS] cosine matrix between sentences at ``layer``.

    Returns:
        dict with ``layer``, ``matrix`` (N,N) cosines, ``alike`` (mean cosine between different sentences),
        ``moved`` (mean cosine distance, 1 - cosine, of [CLS] from its input embedding) and ``num_layers``.
    """
    cube = _check_cube(cube)
    if not isinstance(layer, (int, np.integer)) or not 0 <= layer <= cube.num_layers:
        raise ValueError(f"layer must be an integer from 0 (embeddings) to {cube.num_layers}, got {layer!r}.")
    vecs = cube.cls(int(layer))
    moved = 1 - _paired_cosine(vecs, cube.cls(0)).mean()
    return {
        "layer": int(layer),
        "matrix": cosine_matrix(vecs),
        "alike": alikeness(vecs),
        "moved": float(moved),
        "num_layers": cube.num_layers,
    }


# ----------------------------------------------------------------------------- 2. built from the other tokens


def far_word_effect(lm: LoadedModel, sentence: str, changed: str) -> dict[str, Any]:
    """Compare the [CLS] vectors of two sentences that differ in one word far from position 0.

    Returns:
        dict with ``tokens`` / ``changed_tokens``, ``positions`` (where the token rows differ) and
        ``cls_distance`` (L+1,): cosine distance (1 - cosine) between the two [CLS] vectors at every layer.
    """
    _check_model(lm)
    cube = encode(lm, [sentence, changed], attentions=False)
    a, b = cube.tokens
    diff = [i for i in range(max(len(a), len(b))) if i >= min(len(a), len(b)) or a[i] != b[i]]
    if not diff:
        raise ValueError("The two sentences tokenize the same: change a word.")
    dist = 1 - _paired_cosine(cube.hidden_states[:, 0, 0], cube.hidden_states[:, 1, 0])
    return {"tokens": a, "changed_tokens": b, "positions": diff, "cls_distance": dist}


def _word_piece_ids(lm: LoadedModel, texts: Sequence[str]) -> list[list[int]]:
    """The core's word_piece_ids (:mod:`helpers.core.readouts`), with an error that names the bad text."""
    if isinstance(texts, str) or not texts:
        raise ValueError("texts must be a non-empty list of sentences.")
    for i, t in enumerate(texts):
        if not isinstance(t, str) or not t.strip():
            raise ValueError(f"texts[{i}] must be a non-empty string.")
    return word_piece_ids(lm, texts)


def strip_words(lm: LoadedModel, texts: Sequence[str], keeps: Sequence[int | None] = (None, 8, 4, 2, 1, 0)) -> dict[str, Any]:
    """Keep only the first k word pieces of each sentence and see how alike the [CLS] outputs become.

    Args:
        keeps: how many word pieces to keep (None: all of them); 0 leaves "[CLS] [SEP]".

    Returns:
        dict with ``keeps`` (list), ``alike`` (mean cosine between different sentences' last-layer
        [CLS]) and ``spread`` (largest L2 distance between two of them), one value per keep.
    """
    _check_model(lm)
    words = _word_piece_ids(lm, texts)
    if len(words) < 2:
        raise ValueError("strip_words needs at least two sentences.")
    tok = lm.tokenizer
    alike, spread = [], []
    for k in keeps:
        rows = [[tok.cls_token_id] + (w if k is None else w[:k]) + [tok.sep_token_id] for w in words]
        vecs = encode_ids(lm, rows, hidden_states=False, attentions=False).cls().double()
        alike.append(alikeness(vecs))
        spread.append(float(torch.cdist(vecs, vecs).max()))
    return {"keeps": list(keeps), "alike": np.array(alike), "spread": np.array(spread)}


def word_influence(lm: LoadedModel, sentence: str, layer: int = -1) -> dict[str, Any]:
    """Delete one word piece at a time and measure how far the [CLS] vector moves.

    Returns:
        dict with ``sentence``, ``tokens`` (the word pieces, no specials), ``distance`` (one cosine
        distance, 1 - cosine, of [CLS] at ``layer`` per deleted piece) and ``layer``.
    """
    _check_model(lm)
    (words,) = _word_piece_ids(lm, [sentence])
    if len(words) < 2:
        raise ValueError("Give a sentence of at least two word pieces.")
    tok = lm.tokenizer
    rows = [[tok.cls_token_id] + words + [tok.sep_token_id]]
    rows += [[tok.cls_token_id] + words[:i] + words[i + 1:] + [tok.sep_token_id] for i in range(len(words))]
    last = layer in (-1, lm.num_layers)
    cube = encode_ids(lm, rows, hidden_states=not last, attentions=False)
    vecs = cube.cls(-1 if last else layer).double()
    dist = 1 - _paired_cosine(vecs[1:], vecs[0:1].expand_as(vecs[1:]))
    return {
        "sentence": sentence,
        "tokens": tok.convert_ids_to_tokens(words),
        "distance": dist,
        "layer": layer if layer >= 0 else lm.num_layers + 1 + layer,
    }


# ----------------------------------------------------------------------------- 3. why first? the position experiments


def position_readouts(
    lm: LoadedModel,
    texts: Sequence[str],
    keys: Sequence[str] = tuple(READOUTS),
    *,
    all_layers: bool = True,
    chunk: int = 128,
) -> dict[str, np.ndarray]:
    """Sentence vectors of every readout in ``keys`` at every layer (or the last one only).

    Builds the id rows of each needed layout with the core's ``layout_row``, runs them with
    ``helpers.encode_ids`` chunk by chunk, and keeps only the vectors the core's ``read`` picks.

    Returns:
        key -> float32 array (L+1,N,H), or (1,N,H) with ``all_layers=False``.
    """
    _check_model(lm)
    unknown = [k for k in keys if k not in READOUTS]
    if unknown:
        raise ValueError(f"Unknown readout(s) {unknown}: use keys of READOUTS {list(READOUTS)}.")
    words = _word_piece_ids(lm, texts)
    tok = lm.tokenizer
    n, layers, h = len(words), (lm.num_layers + 1 if all_layers else 1), lm.hidden_size
    out = {k: np.zeros((layers, n, h), dtype=np.float32) for k in keys}
    for layout in LAYOUTS:
        wanted = [k for k in keys if READOUTS[k][0] == layout]
        if not wanted:
            continue
        built = [layout_row(w[: lm.max_length - 2], layout, tok.cls_token_id, tok.sep_token_id) for w in words]
        for start in range(0, n, chunk):
            part = built[start : start + chunk]
            cube = encode_ids(lm, [r for r, _ in part], hidden_states=all_layers, attentions=False)
            states = cube.hidden_states if all_layers else cube.last_hidden[None]
            cls_pos = [p for _, p in part]
            for k in wanted:
                vec = read(states, cube.attention_mask, k, cls_pos)
                out[k][:, start : start + len(part)] = vec.numpy()
    return out


@dataclass
class PositionResult:
    """One readout's measurements.

    Attributes:
        key / label / layout: which vector (see READOUTS).
        probe: cross-fitted linear-probe accuracy on the last layer (mean ± std over seeds; every labelled
            review is scored once per seed, by a probe that did not see it).
        alike: (L+1,) mean cosine between different sentences' vectors per layer (1 = the same direction for
            every sentence; lower = more sentence-specific).
    """

    key: str
    label: str
    layout: str
    probe: ProbeResult
    alike: np.ndarray


@dataclass
class PositionStudy:
    """All results of :func:`position_experiment`, in READOUTS order, plus what they were measured on."""

    results: list[PositionResult]
    model_name: str
    n_train: int
    n_test: int
    seeds: tuple[int, ...]
    extra: dict = field(default_factory=dict)

    def __getitem__(self, key: str) -> PositionResult:
        for r in self.results:
            if r.key == key:
                return r
        raise KeyError(f"No readout {key!r} in this study; it has {[r.key for r in self.results]}.")

    def keys(self) -> list[str]:
        return [r.key for r in self.results]

    def compare(self, key: str, base: str = "cls") -> PairedDifference:
        """Readout ``key`` minus readout ``base``, paired on the same reviews (seeds pooled), with a 95% interval."""
        d = difference(self[key].probe, self[base].probe)
        if d is None:
            raise ValueError(f"The probes of {key!r} and {base!r} carry no per-sentence results to pair: "
                             "build the study with position_experiment().")
        return d


def position_experiment(
    lm: LoadedModel,
    train,
    test,
    *,
    keys: Sequence[str] = tuple(READOUTS),
    seeds: Sequence[int] = (0, 1, 2),
    alike_sentences: int = 200,
    C: float = 0.1,
    folds: int = 5,
) -> PositionStudy:
    """Measure every readout: probe accuracy on the reviews and the mean cosine between different sentences.

    The probes are cross-fitted: train and test reviews are pooled and split into ``folds`` folds (stratified,
    reshuffled per seed); each fold is scored by a probe fitted on the others, so every labelled review is a
    test review once per seed and two readouts are compared on the same reviews (:meth:`PositionStudy.compare`).

    Args:
        train / test: TextSets (e.g. ``load_reviews("train")``) with ``.texts`` and ``.labels``; both are used.
        seeds: one cross-fitting per seed.
        alike_sentences: how many test sentences the per-layer mean cosine uses.
        C: the probes' inverse regularisation; 0.1 fits several times faster than 1.0 on a few hundred
            reviews of 384+ dimensions, and generalises no worse.
    """
    for name, s in (("train", train), ("test", test)):
        if not hasattr(s, "texts") or not hasattr(s, "labels") or len(s.texts) < 4:
            raise ValueError(f"{name} must be a TextSet with at least 4 sentences (e.g. helpers.load_reviews('{name}')).")
    seeds = tuple(seeds)
    vec_train = position_readouts(lm, train.texts, keys, all_layers=False)  # probes read the last layer
    vec_test = position_readouts(lm, test.texts, keys)
    labels = np.concatenate([np.asarray(train.labels), np.asarray(test.labels)])
    results = []
    for k in keys:
        layout, _, label = READOUTS[k]
        probe = cross_fit_probe(np.concatenate([vec_train[k][-1], vec_test[k][-1]]), labels, folds=folds, seeds=seeds,
                                C=C, name=label)
        sub = vec_test[k][:, :alike_sentences]
        alike = np.array([alikeness(sub[layer]) for layer in range(sub.shape[0])])
        results.append(PositionResult(k, label, layout, probe, alike))
    return PositionStudy(results, lm.name, len(train.texts), len(test.texts), seeds)


def results_table(study: PositionStudy) -> str:
    """A plain-text table: readout, probe accuracy ± std, mean cosine between sentences at the input and the last layer."""
    width = max(len(r.label) for r in study.results)
    lines = [f"{'sentence vector':<{width}}  probe accuracy   mean cosine: input  last layer",
             "-" * (width + 50)]
    for r in study.results:
        lines.append(
            f"{r.label:<{width}}  {r.probe.mean:.3f} ± {r.probe.std:.3f}    {r.alike[0]:17.3f}  {r.alike[-1]:10.3f}"
        )
    chance = study.results[0].probe.chance
    n = study.n_train + study.n_test
    lines.append(f"(chance {chance:.3f}; {n} reviews, each scored by a probe that did not see it ({len(study.seeds)} "
                 "cross-fittings); mean cosine between different sentences' vectors: 1 = the same direction for every "
                 "sentence)")
    return "\n".join(lines)


def conclusion(study: PositionStudy) -> str:
    """The lesson's conclusion, phrased from the paired comparisons in ``study`` (each readout against [CLS])."""
    base = study["cls"].probe
    n = study.n_train + study.n_test
    lines = [
        f"[CLS] at position 0 reaches {base.mean:.3f} (chance {base.chance:.3f}), cross-fitted over {n} reviews.",
        "Each readout against it, paired on the same reviews (95% interval of the difference, seeds pooled):",
    ]
    verdicts = {}
    for key in ("cls_end", "cls_middle", "nocls_first", "first", "last", "sep", "mean", "nocls_mean"):
        if key not in study.keys():
            continue
        d = study.compare(key)
        verdicts[key] = d
        lines.append(f"- {study[key].label}: {study[key].probe.mean:.3f}; {d.verdict()}")
    best = max(study.results, key=lambda r: r.probe.mean)
    lines.append(f"Best readout here: {best.label} ({best.probe.mean:.3f}).")
    moved = [k for k in ("cls_end", "cls_middle") if k in verdicts]
    if not clearly_above_chance(base):
        lines.append("[CLS] itself is not clearly above chance here (an untrained model, or too few reviews), "
                     "so moving it cannot show whether its position matters.")
    elif moved:
        kept = [study[k].label for k in moved if verdicts[k].outcome != "lower"]
        widest = max(verdicts[k].half_width for k in moved)
        if len(kept) == len(moved):
            lines.append(f"With this model we found: moving [CLS] away from position 0 did not make it worse, to "
                         f"within ±{widest:.3f}: index 0 itself is not what makes the vector useful.")
        elif kept:
            lines.append(f"With this model we found: only some moves kept the accuracy ({', '.join(kept)}); the "
                         "position matters somewhat here.")
        else:
            lines.append("With this model we found: moving [CLS] made it worse. It only ever saw [CLS] at 0 in "
                         "training, so what it learned to gather there does not carry over to other positions.")
    if moved:
        fixed = study["cls"].alike[0]
        varied = [f"{study[k].label} {study[k].alike[0]:.3f}" for k in moved]
        lines.append(f"At the input, [CLS] at 0 is the same vector for every sentence (mean cosine {fixed:.3f}); "
                     f"moved, it already differs ({'; '.join(varied)}) because its position embedding changes with the length.")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- mean pooling vs [CLS], other models


def cls_vs_mean(lm: LoadedModel, train, test, seeds: Sequence[int] = (0, 1, 2)) -> dict[str, ProbeResult]:
    """Probe accuracy of the last-layer [CLS] and of the mean of all tokens: {"cls": ..., "mean": ...}."""
    study = position_experiment(lm, train, test, keys=("cls", "mean"), seeds=seeds, alike_sentences=2)
    return {"cls": study["cls"].probe, "mean": study["mean"].probe}
