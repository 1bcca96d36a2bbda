"""Notebook 03's experiments: a classifier on [CLS], blank-out attribution, explanation scores, value norms.

Shapes: L = layers, B = sentences, A = heads, T = padded tokens, n = real tokens of one sentence,
H = hidden width. Everything here returns arrays or dicts; the figures live in ``views``.
The attention statistics themselves (shares, entropy, rollout, flow) are the core's
(``helpers.core.attention``, ``helpers.core.flow``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from ...core import references
from ...core.attention import _check_square, attention_shares, rollout
from ...core.cube import embed, tokenize
from ...core.flow import attention_flow, explanation_scores, rank_agreement  # noqa: F401 (re-exported)
from ...core.linear import fit_probe
from ...core.references import Reference
from ...core.stats import as_numpy as _np
from ...core.stats import spearman

#: token kind -> the key of what Clark et al. (2019) report for it in ``helpers.references``.
CLARK_KEYS = {"cls": "clark_cls", "sep": "clark_sep", "punct": "clark_punct"}


def clark_references() -> dict[str, Reference]:
    """kind -> the published bert-base level of attention to that kind (Clark et al. 2019), from the registry.

    Each Reference holds ``values["level"]`` (a share of all attention) and ``extra["layers"]`` (the
    1-based layers it applies to); ``.sentence()`` says it in words. Only comparable with bert-base.
    """
    return {kind: references.get(key) for kind, key in CLARK_KEYS.items()}


# ============================================================================ a classifier on [CLS]


@dataclass
class ClsClassifier:
    """A logistic regression on the last layer's [CLS] vector; ``score(X)`` is its decision value (logit)."""

    model: object
    label_names: list[str]
    train_accuracy: float
    test_accuracy: float | None = None

    def score(self, cls_vec: np.ndarray) -> np.ndarray:
        """(B,H) [CLS] vectors -> (B,) logit for the second label."""
        return self.model.decision_function(_np(cls_vec))


def fit_cls_classifier(lm, texts: Sequence[str], labels, test_texts=None, test_labels=None,
                       C: float = 1.0) -> ClsClassifier:
    """The course's linear probe (``core.linear.fit_probe``) on the last layer's [CLS] vectors of ``texts``.

    Args:
        lm: a LoadedModel.
        texts / labels: the training reviews and their labels (at least two classes).
        test_texts / test_labels: optional held-out reviews, scored into ``test_accuracy``.
        C: the inverse regularisation strength.
    """
    if (test_texts is None) != (test_labels is None):
        raise ValueError("Give both test_texts and test_labels, or neither.")
    y = np.asarray(labels)
    x = embed(lm, list(texts), pooling="cls")
    clf = fit_probe(x, y, C=C)
    out = ClsClassifier(clf, [str(v) for v in np.unique(y)], float((clf.predict(x) == y).mean()))
    if test_texts is not None:
        xt = embed(lm, list(test_texts), pooling="cls")
        out.test_accuracy = float((clf.predict(xt) == np.asarray(test_labels)).mean())
    return out


def blank_out_attribution(lm, text: str, score: Callable[[np.ndarray], np.ndarray], pair: str | None = None) -> np.ndarray:
    """How much the classifier's score on [CLS] drops when each token is blanked out.

    A token is blanked by setting its attention-mask entry to 0, so no other token can read it while
    every other position keeps its place. [CLS] itself is never blanked (its vector is what is scored).

    Args:
        lm: a LoadedModel.
        text (and optional pair): one input.
        score: (B,H) last-layer [CLS] vectors -> (B,) scores, e.g. ClsClassifier.score.

    Returns:
        (n,) score(full input) - score(input without token i); 0 at position 0.
    """
    import torch

    if not isinstance(text, str):
        raise ValueError("blank_out_attribution takes one text (a string); loop over a list of texts yourself.")
    rows, _ = tokenize(lm, [text], None if pair is None else [pair])
    ids = torch.tensor(rows[0]["input_ids"])
    types = torch.tensor(rows[0]["token_type_ids"])
    n = len(ids)
    mask = torch.ones((n, n), dtype=torch.long)  # row 0: full input; row i: token i blanked
    mask[torch.arange(1, n), torch.arange(1, n)] = 0
    inputs = {"input_ids": ids.repeat(n, 1), "attention_mask": mask}
    if "token_type_ids" in lm.tokenizer.model_input_names:
        inputs["token_type_ids"] = types.repeat(n, 1)
    inputs = {k: v.to(lm.device) for k, v in inputs.items()}
    with torch.inference_mode():
        out = lm.encoder(**inputs, return_dict=True)
    cls_vec = out.last_hidden_state[:, 0].float().cpu().numpy()
    s = np.asarray(score(cls_vec), dtype=np.float64)
    attr = s[0] - s
    attr[0] = 0.0
    return attr


# ============================================================================ attention as an explanation


def shares_of(scores: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each score as |score| rescaled to sum to 1 over its tokens (all zeros stay zeros)."""
    out = {}
    for name, v in scores.items():
        v = np.abs(np.asarray(v, float))
        out[name] = v / v.sum() if v.sum() > 0 else v
    return out


# ============================================================================ the "no-op" check: value norms


def value_norms(lm, cube) -> np.ndarray:
    """(L,B,A,T) size of what each token would contribute through each head: ||W_O^h (W_V^h x + b_V^h)||.

    Kobayashi et al. (2020) weigh attention by these norms: a token with a large weight but a tiny
    transformed value adds almost nothing, which is one way to test the "no-op" reading. Zero at padding.
    """
    import torch

    if cube.hidden_states is None:
        raise ValueError("value_norms needs hidden states: encode with hidden_states=True.")
    layers = getattr(getattr(lm.encoder, "encoder", None), "layer", None)
    if layers is None:
        raise ValueError("value_norms works for BERT-style encoders (encoder.layer[i].attention.self/output).")
    heads = lm.num_heads
    out = []
    with torch.inference_mode():
        for i, block in enumerate(layers):
            x = cube.hidden_states[i].to(lm.device)
            v = block.attention.self.value(x)  # (B,T,H)
            b_, t_, h_ = v.shape
            v = v.view(b_, t_, heads, h_ // heads)
            w = block.attention.output.dense.weight.view(h_, heads, h_ // heads)  # (H_out, A, d)
            fx = torch.einsum("btad,oad->btao", v, w)
            out.append(fx.norm(dim=-1).float().cpu() * cube.attention_mask[:, :, None].float())
    return torch.stack(out).permute(0, 1, 3, 2).numpy()


def norm_weighted_shares(attentions, norms: np.ndarray, attention_mask, kinds) -> dict[str, np.ndarray]:
    """attention_shares() of alpha_qt * ||f(x_t)|| renormalised per row: where the heads' *output* comes from.

    Args:
        attentions: (L,B,A,T,T) weights; norms: (L,B,A,T) from value_norms; attention_mask: (B,T);
        kinds: per row, the kinds of its real tokens (``core.token_kinds.cube_kinds``).
    """
    a = _np(attentions, np.float32)
    norms = np.asarray(norms)
    if norms.shape != a.shape[:4]:
        raise ValueError(f"norms must have shape (L,B,A,T) = {a.shape[:4]} (from value_norms), got {norms.shape}.")
    a = a * norms[:, :, :, None, :].astype(np.float32)
    total = a.sum(-1, keepdims=True)
    a = np.divide(a, total, out=np.zeros_like(a), where=total > 0)
    return attention_shares(a, attention_mask, kinds)


# ============================================================================ the attention sink on [CLS]

#: [CLS] "reads itself" in a layer when more than this share of its row (mean over heads and sentences) lands on
#: [CLS]: then most of what its new vector is built from is its own vector, so the layer mostly leaves it as it
#: was. Half is the natural line: above it, [CLS] reads itself more than every other token together.
SINK_SELF_SHARE = 0.5

#: A coordinate is "massive" when it holds more than this share of the vector's length (|x_d| / ||x||). The
#: largest coordinate of a random direction in H dimensions holds about sqrt(2 ln H / H) of it (0.18 for
#: H = 384, 0.13 for 768), so half the length in one of hundreds of coordinates is far outside chance.
MASSIVE_SHARE = 0.5


def sink_layers(self_share) -> list[int]:
    """The 1-based layers where [CLS] reads itself (its own share of its row above ``SINK_SELF_SHARE``).

    Args:
        self_share: (L,) [CLS]'s share of its own row per layer, e.g.
            ``layer_means(what_cls_reads(cube, lm))["cls"]``.
    """
    s = np.asarray(self_share, dtype=float)
    if s.ndim != 1:
        raise ValueError(f"self_share must be one value per layer (L,), got shape {s.shape}; "
                         "use layer_means(what_cls_reads(cube, lm))['cls'].")
    return [int(i) + 1 for i in np.flatnonzero(s > SINK_SELF_SHARE)]


def shares_per_sentence(cube, lm=None, query: str | int = "all") -> dict[str, np.ndarray]:
    """kind -> (B,L): ``attention_shares`` of each sentence on its own, averaged over the heads.

    The sentence-by-sentence values behind ``layer_means(cube_shares(cube, lm, query))``: what a paired
    interval between two layers needs (``checks.check_peak_layer``).
    """
    from ...core.token_kinds import cube_kinds

    kinds = cube_kinds(cube, lm)
    per = [attention_shares(cube.attentions[:, b:b + 1], cube.attention_mask[b:b + 1], [kinds[b]], query)
           for b in range(len(kinds))]
    return {k: np.stack([p[k].mean(1) for p in per]) for k in per[0]}


def diagonal_share(cube) -> np.ndarray:
    """(L,) the weight a token puts on itself (the map's diagonal), mean over heads, sentences and real tokens.

    [CLS]'s own row is left out (its self-reading is the sink, measured by ``what_cls_reads``); padding never counts.
    """
    att = _np(cube.attentions, np.float32)  # (L,B,A,T,T)
    mask = _np(cube.attention_mask).astype(bool).copy()
    if att.ndim != 5:
        raise ValueError(f"cube.attentions must be (L,B,A,T,T), got shape {att.shape}.")
    mask[:, 0] = False  # [CLS] is position 0 of every row
    if not mask.any():
        raise ValueError("The cube has no real token besides [CLS]; encode real sentences.")
    diag = np.diagonal(att, axis1=-2, axis2=-1)  # (L,B,A,T)
    return (diag * mask[None, :, None, :]).sum((1, 3)).mean(-1) / mask.sum()


def map_summary(cubes, lm=None) -> dict:
    """What the attention maps of ``cubes`` show on average over the layers (the explorer's "what to look for").

    Returns:
        dict with "stripes" (kind -> share of every real token's row landing on that kind, mean over layers,
        heads and tokens: the vertical stripes), "diagonal" (mean weight a token puts on itself, [CLS] left
        out), "uniform" (the weight one token would get under uniform attention, 1/n) and "rows" (examples).
        Cubes are weighted by their number of rows.
    """
    from ...core.attention import cube_shares, layer_means, uniform_share

    cubes = [cubes] if not isinstance(cubes, (list, tuple)) else list(cubes)
    if not cubes or any(getattr(c, "attentions", None) is None for c in cubes):
        raise ValueError("Give cubes encoded with attentions=True: helpers.encode(lm, texts).")
    weights = np.array([len(c.tokens) for c in cubes], float)
    stripes = {}
    for c, w in zip(cubes, weights):
        for k, v in layer_means(cube_shares(c, lm, "all")).items():
            stripes[k] = stripes.get(k, 0.0) + w * float(np.mean(v))
    total = weights.sum()
    return {
        "stripes": {k: v / total for k, v in stripes.items()},
        "diagonal": float(sum(w * diagonal_share(c).mean() for c, w in zip(cubes, weights)) / total),
        "uniform": float(sum(w * uniform_share(c.attention_mask) for c, w in zip(cubes, weights)) / total),
        "rows": int(total),
    }


def sink_trace(att: np.ndarray, scores: Mapping[str, np.ndarray], kinds: Sequence[str]) -> dict[str, dict[str, float]]:
    """Where each explanation of one example puts its mass, and whose ranking of the words it follows.

    Args:
        att: (L,A,n,n) the example's attention.
        scores: method -> (n,) from ``explanation_scores(att)`` ("raw attention" is the top layer's [CLS] row).
        kinds: its n token kinds.

    Returns:
        dict with "on_cls" (method -> share of |score| on [CLS]'s own column), "like_first" (method -> Spearman,
        over the word and punctuation tokens, with layer 1's head-mean [CLS] row) and "like_top" (the same with
        the top layer's row, i.e. with raw attention).
    """
    att = _check_square(_np(att))
    kinds = np.asarray(kinds, dtype=object)
    if att.ndim != 4 or len(kinds) != att.shape[-1]:
        raise ValueError(f"att must be (L,A,n,n) with n = len(kinds) = {len(kinds)}, got shape {att.shape}.")
    if "raw attention" not in scores:
        raise ValueError("scores must hold 'raw attention' (use explanation_scores(att)).")
    sel = np.isin(kinds, ["word", "punct"])
    if sel.sum() < 3:
        raise ValueError("Need at least 3 non-special tokens to rank; use a longer sentence.")
    first = att[0].mean(0)[0]
    top = np.asarray(scores["raw attention"], float)
    return {
        "on_cls": {m: float(v[0]) for m, v in shares_of(scores).items()},
        "like_first": {m: spearman(np.asarray(v, float)[sel], first[sel]) for m, v in scores.items()},
        "like_top": {m: spearman(np.asarray(v, float)[sel], top[sel]) for m, v in scores.items()},
    }


def mean_traces(traces: Sequence[Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, float]]:
    """The mean of several ``sink_trace`` results, key by key and method by method (NaNs left out)."""
    if not traces:
        raise ValueError("Give at least one sink_trace result.")
    return {key: {m: float(np.nanmean([t[key][m] for t in traces])) for m in traces[0][key]} for key in traces[0]}


def paired_differences(rows: Sequence[Mapping[str, float]], against: str) -> dict[str, "Estimate"]:
    """method -> Estimate of ``row[against] - row[method]`` over the examples (rank_agreement rows; NaNs dropped).

    Its ``.ci()`` is the 95% paired interval of how much better ``against`` ranks than each other method.
    """
    from ...core.stats import Estimate

    if not rows or against not in rows[0]:
        raise ValueError(f"rows must be rank_agreement dicts that hold {against!r}.")
    out = {}
    for m in rows[0]:
        if m == against:
            continue
        d = np.array([r[against] - r[m] for r in rows], float)
        d = d[np.isfinite(d)]
        if d.size:
            out[m] = Estimate(d, name=f"{against} - {m}")
    return out
