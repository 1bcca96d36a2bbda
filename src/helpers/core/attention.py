"""Attention statistics: what [CLS] reads, how much other tokens read [CLS], entropy, rollout.

Shapes: L = layers, B = sentences, A = heads, T = padded tokens, n = real tokens of one sentence.
Attention matrices are row-stochastic: row q (the query token) holds the weights of the tokens it
reads from (the columns), and every real row sums to 1. Padded query rows are zero in a Cube and are
never counted here; padded columns are cut away before anything is drawn.

Two words, two quantities, used the same way in every notebook:
    * **what [CLS] reads**: [CLS]'s own row, ``attention_shares(..., query="cls")`` (where its query goes);
    * **how much others read [CLS]**: the [CLS] column seen from every other real token,
      ``attention_shares(..., query="others")["cls"]`` (its own row is not counted).
Both average over every selected query row of every sentence (as Clark et al. 2019 average over tokens).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .stats import as_numpy as _np
from .token_kinds import KINDS, cube_kinds

#: What ``query`` may be in :func:`attention_shares`.
QUERIES = ("all", "cls", "others", "sep")


def _check_square(att: np.ndarray, name: str = "attention") -> np.ndarray:
    if att.ndim < 2 or att.shape[-1] != att.shape[-2]:
        raise ValueError(f"{name} must end in two equal axes (..., n, n), got shape {att.shape}.")
    if not np.all(np.isfinite(att)):
        raise ValueError(f"{name} holds NaN or infinite values; recompute it from the model.")
    if att.min() < -1e-6:
        raise ValueError(f"{name} holds negative weights; attention weights are softmax outputs (>= 0).")
    return att




def real_positions(attention_mask, b: int) -> np.ndarray:
    """Indices of the real (non-padding) positions of row ``b`` of a (B,T) attention mask."""
    mask = _np(attention_mask, np.int64)
    if not 0 <= b < mask.shape[0]:
        raise ValueError(f"Example index {b} is out of range: this batch has rows 0 to {mask.shape[0] - 1}.")
    return np.flatnonzero(mask[b])


def example_attention(attentions, attention_mask, b: int) -> np.ndarray:
    """(L,A,n,n) attention of example ``b`` of a padded batch, padding rows and columns cut away.

    Args:
        attentions: (L,B,A,T,T) weights, e.g. ``cube.attentions``.
        attention_mask: (B,T) 1 for real tokens, 0 for padding.
        b: the example's index in the batch.
    """
    if attentions is None:
        raise ValueError("This cube has no attentions: encode with helpers.encode(lm, texts, attentions=True).")
    att = attentions
    if getattr(att, "ndim", 0) != 5:
        raise ValueError(f"attentions must have shape (L,B,A,T,T), got {tuple(att.shape)}.")
    keep = real_positions(attention_mask, b)
    sub = _np(att[:, b])
    return sub[:, :, keep][:, :, :, keep]


def cube_example(cube, b: int) -> tuple[np.ndarray, list[str]]:
    """(attention (L,A,n,n), tokens) of row ``b`` of a Cube, padding removed."""
    return example_attention(cube.attentions, cube.attention_mask, b), list(cube.tokens[b])




def cls_rows(att: np.ndarray, query: int = 0) -> np.ndarray:
    """(L,A,n) the [CLS] row (``query``, default position 0) of every layer and head of one example."""
    att = _check_square(_np(att))
    if att.ndim != 4:
        raise ValueError(f"Expected one example's attention (L,A,n,n), got shape {att.shape}; use example_attention().")
    return att[:, :, query, :]


def row_entropy(rows: np.ndarray) -> np.ndarray:
    """Entropy in nats of each attention row over the last axis (0 log 0 = 0). Shape: input without last axis."""
    p = _np(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return terms.sum(-1)


def cls_entropy(att: np.ndarray, query: int = 0) -> tuple[np.ndarray, float]:
    """((L,A) entropy of the [CLS] row, ln n): ln n is the entropy of attending uniformly to all n tokens."""
    rows = cls_rows(att, query)
    return row_entropy(rows), math.log(rows.shape[-1])


def normalised_cls_entropy(cube) -> np.ndarray:
    """(L,A) the [CLS] row's entropy divided by ln n, averaged over the cube's sentences (1 = uniform)."""
    vals = []
    for b in range(len(cube.tokens)):
        ent, top = cls_entropy(cube_example(cube, b)[0])
        vals.append(ent / top if top > 0 else np.zeros_like(ent))
    return np.mean(vals, axis=0)


def kind_masks(kinds: Sequence[str]) -> dict[str, np.ndarray]:
    """kind -> (n,) float mask of the columns of that kind."""
    kinds = np.asarray(kinds, dtype=object)
    return {k: (kinds == k).astype(np.float64) for k in KINDS}


def attention_shares(
    attentions,
    attention_mask,
    kinds: Sequence[Sequence[str]],
    query: str | int = "all",
) -> dict[str, np.ndarray]:
    """Per layer and head, the average share of attention that lands on [CLS], [SEP], punctuation and words.

    The average runs over every real query position of every sentence (Clark et al. 2019 average over
    tokens); padded query rows are never counted, whatever they hold.

    Args:
        attentions: (L,B,A,T,T) weights (a Cube's ``attentions``).
        attention_mask: (B,T) 1 for real tokens.
        kinds: per row, the kinds of its real tokens (``token_kinds(cube.tokens[b])``).
        query: "all" (every real token's row), "cls" (only [CLS]'s row: what [CLS] reads), "others"
            (every real row but [CLS]'s: how much the other tokens read each kind), "sep" (only [SEP] rows),
            or an int position.

    Returns:
        dict kind -> (L,A) average share; the four kinds add up to 1 for every layer and head.
    """
    att = attentions
    mask = _np(attention_mask)
    if getattr(att, "ndim", 0) != 5:
        raise ValueError(f"attentions must have shape (L,B,A,T,T), got {tuple(att.shape)}.")
    L, B, A, T, _ = att.shape
    if mask.shape != (B, T):
        raise ValueError(f"attention_mask has shape {mask.shape}, expected {(B, T)} to match the attentions.")
    if len(kinds) != B:
        raise ValueError(f"kinds has {len(kinds)} rows but the batch has {B}: give one kinds list per sentence.")
    cols = {k: np.zeros((B, T)) for k in KINDS}
    qmask = np.zeros((B, T))
    for b in range(B):
        pos = np.flatnonzero(mask[b])
        kb = np.asarray(kinds[b], dtype=object)
        if len(kb) != len(pos):
            raise ValueError(f"kinds[{b}] has {len(kb)} items but row {b} has {len(pos)} real tokens.")
        for k in KINDS:
            cols[k][b, pos] = kb == k
        if query == "all":
            qmask[b, pos] = 1.0
        elif query in ("cls", "sep"):
            qmask[b, pos[kb == query]] = 1.0
        elif query == "others":
            qmask[b, pos[kb != "cls"]] = 1.0
        elif isinstance(query, (int, np.integer)):
            if not 0 <= query < len(pos):
                raise ValueError(f"query position {query} is beyond row {b}'s {len(pos)} real tokens.")
            qmask[b, pos[query]] = 1.0
        else:
            raise ValueError(f"query must be one of {QUERIES} or a position, got {query!r}.")
    count = qmask.sum()
    if count == 0:
        raise ValueError("No query rows selected: the batch has no real tokens of that kind.")
    a = _np(att, np.float32)
    # zero padded query rows explicitly: a padded row must never count, even if it holds weights
    a = a * qmask[None, :, None, :, None].astype(np.float32)
    out = {}
    for k in KINDS:
        to_k = np.einsum("lbaqt,bt->la", a, cols[k].astype(np.float32), optimize=True)
        out[k] = to_k.astype(np.float64) / count
    return out




def layer_means(shares: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """kind -> (L,) the heads' average of attention_shares()."""
    return {k: v.mean(-1) for k, v in shares.items()}


def hide_columns(att: np.ndarray, hide: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    """Remove the ``hide`` columns (e.g. [CLS]/[SEP]) and renormalise every row over what is left.

    Args:
        att: (..., n, n) attention.
        hide: (n,) True for the columns to remove.

    Returns:
        (att (..., n, m) with rows summing to 1 again, or 0 where the row gave all its weight to hidden
        columns; kept (m,) the indices of the kept columns).
    """
    att = _check_square(_np(att))
    hide = np.asarray(hide, dtype=bool)
    if hide.shape != (att.shape[-1],):
        raise ValueError(f"hide must have one flag per token ({att.shape[-1]}), got shape {hide.shape}.")
    kept = np.flatnonzero(~hide)
    if len(kept) == 0:
        raise ValueError("Every column would be hidden: keep at least one token.")
    sub = att[..., kept]
    total = sub.sum(-1, keepdims=True)
    return np.divide(sub, total, out=np.zeros_like(sub), where=total > 0), kept


# ============================================================================ rollout and flow


def residual_attention(att: np.ndarray, head_axis: bool = True) -> np.ndarray:
    """(L,n,n) per layer: average the heads, add the identity for the residual path, renormalise the rows.

    Args:
        att: (L,A,n,n) one example's attention, or (L,n,n) already averaged (``head_axis=False``).
    """
    att = _check_square(_np(att))
    if head_axis:
        if att.ndim != 4:
            raise ValueError(f"Expected (L,A,n,n), got shape {att.shape}.")
        att = att.mean(1)
    elif att.ndim != 3:
        raise ValueError(f"Expected (L,n,n), got shape {att.shape}.")
    mixed = att + np.eye(att.shape[-1])[None]
    return mixed / mixed.sum(-1, keepdims=True)


def rollout(att: np.ndarray, head_axis: bool = True, residual: bool = True) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020): (L,n,n), entry [l, i, j] = how much of token i after
    layer l+1 comes from input token j, following every path through the layers.

    R_1 = Â_1 and R_l = Â_l @ R_(l-1), with Â the head-averaged, residual-augmented, row-normalised
    attention (see residual_attention). Every row of every R_l sums to 1.
    """
    if residual:
        mats = residual_attention(att, head_axis)
    else:
        a = _check_square(_np(att))
        mats = a.mean(1) if head_axis else a
    out = np.empty_like(mats)
    acc = mats[0]
    out[0] = acc
    for layer in range(1, mats.shape[0]):
        acc = mats[layer] @ acc
        out[layer] = acc
    return out




def cube_shares(cube, lm=None, query: str | int = "all") -> dict[str, np.ndarray]:
    """attention_shares() for a whole Cube, token kinds taken from its tokens (and lm's special tokens)."""
    return attention_shares(cube.attentions, cube.attention_mask, cube_kinds(cube, lm), query)


def what_cls_reads(cube, lm=None) -> dict[str, np.ndarray]:
    """kind -> (L,A): the share of [CLS]'s own attention row that lands on [CLS], [SEP], punctuation, words."""
    return cube_shares(cube, lm, query="cls")


def how_much_others_read_cls(cube, lm=None) -> np.ndarray:
    """(L,A): the average weight every other real token puts on [CLS] (its own row not counted)."""
    return cube_shares(cube, lm, query="others")["cls"]


def uniform_share(attention_mask) -> float:
    """The weight a token would get under uniform attention, 1/n, averaged over the sentences' lengths n."""
    lengths = _np(attention_mask).sum(1)
    if (lengths == 0).any():
        raise ValueError("A row of the attention mask is all zeros: every sentence needs at least one real token.")
    return float(np.mean(1.0 / lengths))


def attention_row_by_hand(lm, cube, layer: int, head: int, row: int = 0, query: int = 0) -> dict[str, np.ndarray]:
    """One attention row computed from the model's own query and key weights (BERT-style encoders).

    The input of attention layer ``layer`` (1-based) is hidden state ``layer - 1``. For head ``head`` the
    query of token ``query`` is ``q = W_Q x_query + b_Q`` and every key ``k_j = W_K x_j + b_K`` (the head's slice
    of the weights); the scores are ``q . k_j / sqrt(d)`` with d the head width, padding gets -inf, and a
    softmax turns the scores into the row the model uses.

    Returns:
        dict with "scores" (n,) before the softmax, "weights" (n,) after it, "model" (n,) the model's own row
        from ``cube.attentions`` and "d" the head width; n = the row's real tokens.
    """
    import torch

    if cube.hidden_states is None or cube.attentions is None:
        raise ValueError("attention_row_by_hand needs a cube with hidden_states and attentions: "
                         "encode(lm, texts, hidden_states=True, attentions=True).")
    blocks = getattr(getattr(lm.encoder, "encoder", None), "layer", None)
    if blocks is None:
        raise ValueError("attention_row_by_hand works for BERT-style encoders (encoder.layer[i].attention.self).")
    if not 1 <= layer <= len(blocks):
        raise ValueError(f"layer must be 1..{len(blocks)} (attention layers are 1-based), got {layer}.")
    if not 0 <= head < lm.num_heads:
        raise ValueError(f"head must be 0..{lm.num_heads - 1} (heads are 0-based), got {head}.")
    keep = real_positions(cube.attention_mask, row)
    if not 0 <= query < len(keep):
        raise ValueError(f"query {query} is beyond row {row}'s {len(keep)} real tokens.")
    attn = blocks[layer - 1].attention.self
    d = lm.hidden_size // lm.num_heads
    x = cube.hidden_states[layer - 1, row, keep].to(lm.device, dtype=attn.query.weight.dtype)  # (n,H)
    part = slice(head * d, (head + 1) * d)
    with torch.inference_mode():
        q = x[query] @ attn.query.weight[part].T + attn.query.bias[part]  # (d,)
        k = x @ attn.key.weight[part].T + attn.key.bias[part]  # (n,d)
        scores = (k @ q) / math.sqrt(d)
        weights = torch.softmax(scores.float(), dim=-1)
    model_row = _np(cube.attentions[layer - 1, row, head, keep[query]])[keep]
    return {"scores": _np(scores), "weights": _np(weights), "model": model_row, "d": d}
