"""Why the summary token goes first in an encoder: padding, and what a word's own slot keeps (compute only).

Shapes: N = sentences, T = tokens, H = width, V = vocabulary size.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ...core.attention import uniform_share
from ...core.cube import encode, tokenize
from ...core.models import LoadedModel
from ...core.stats import as_numpy, unit_rows
from .experiments import _check_model


def padding_view(lm: LoadedModel, texts: Sequence[str]) -> dict[str, Any]:
    """Encode ``texts`` as one right-padded batch and say what sits at index 0 and at index -1 of each row.

    Returns:
        dict with ``rows``: per text a dict of ``text``, ``length`` (real tokens), ``first`` / ``last`` (the
        token strings at index 0 and -1 of the padded row) and ``last_is_pad``; ``width`` (the padded length),
        ``cls`` / ``pad`` (the tokenizer's strings) and ``last_norm`` (N,): the L2 norm of ``last_hidden[:, -1]``
        (0 where the cube zeroes padding).
    """
    _check_model(lm)
    if isinstance(texts, str) or len(texts) < 2:
        raise ValueError("Give at least two texts of different lengths, as a list of strings.")
    cube = encode(lm, list(texts), hidden_states=False, attentions=False)
    tok = lm.tokenizer
    ids = cube.input_ids
    rows = []
    for i, text in enumerate(cube.texts):
        first, last = tok.convert_ids_to_tokens([int(ids[i, 0]), int(ids[i, -1])])
        rows.append({"text": text, "length": int(cube.lengths[i]), "first": first, "last": last,
                     "last_is_pad": bool(cube.attention_mask[i, -1] == 0)})
    return {"rows": rows, "width": int(ids.shape[1]), "cls": tok.cls_token, "pad": tok.pad_token,
            "last_norm": cube.last_hidden[:, -1].norm(dim=1).numpy()}


def padding_table(view: dict[str, Any]) -> str:
    """One line per row of :func:`padding_view`: its length and what index 0 and index -1 hold."""
    lines = [f"padded width {view['width']}", "length  index 0  index -1   text"]
    for r in view["rows"]:
        lines.append(f"{r['length']:>6}  {r['first']:<7}  {r['last']:<9}  {r['text'][:60]}")
    return "\n".join(lines)


def keeps_its_word(lm: LoadedModel, texts: Sequence[str], vectors, position: int = 1) -> dict[str, Any]:
    """Does the output at ``position`` still name the token that sits there? A nearest-neighbour probe of identity.

    For each text, the vector at ``position`` is compared (cosine) with every row of the model's input word
    embeddings; a hit is when the nearest row is the text's own token at that position.

    Args:
        texts: N texts, tokenized as ``helpers.encode`` does (with [CLS] and [SEP]).
        vectors: (N,H) the outputs at ``position`` of those texts (e.g. ``FeatureCache().features(lm, texts, 1)``).

    Returns:
        dict with ``hits`` (fraction of texts whose nearest embedding row is their own token), ``n``,
        ``vocab`` (V) and ``chance`` (1 / V).
    """
    _check_model(lm)
    x = as_numpy(vectors, np.float32)
    rows, _ = tokenize(lm, list(texts))
    if x.ndim != 2 or len(x) != len(rows):
        raise ValueError(f"vectors must be (N,H) with one row per text ({len(rows)}), got shape {x.shape}.")
    short = [i for i, r in enumerate(rows) if len(r["input_ids"]) <= position]
    if short:
        raise ValueError(f"texts {short[:5]} have no token at position {position}: use a smaller position.")
    own = np.array([r["input_ids"][position] for r in rows])
    table = lm.encoder.get_input_embeddings().weight.detach().float().cpu().numpy()
    nearest = np.empty(len(x), dtype=int)
    units = unit_rows(table)
    for start in range(0, len(x), 256):  # (256,V) similarities at a time
        nearest[start : start + 256] = (unit_rows(x[start : start + 256]) @ units.T).argmax(1)
    return {"hits": float(np.mean(nearest == own)), "n": len(x), "vocab": len(table), "chance": 1.0 / len(table)}


def cls_weight_in_mean(lm: LoadedModel, texts: Sequence[str]) -> dict[str, float]:
    """How much of a mean-pooled vector is [CLS]'s output: 1/n for a text of n real tokens ([CLS] and [SEP] included).

    Mean pooling averages every unmasked position with the same weight, [CLS] included.

    Returns:
        dict with ``mean`` (the mean of 1/n over the texts, as ``core.attention.uniform_share`` computes it),
        ``smallest`` / ``largest`` (1/n of the longest and of the shortest text) and ``n``.
    """
    _check_model(lm)
    rows, _ = tokenize(lm, list(texts))
    lengths = np.array([len(r["input_ids"]) for r in rows])
    mask = np.arange(lengths.max())[None, :] < lengths[:, None]  # (N,T) the attention mask of the padded batch
    return {"mean": uniform_share(mask), "smallest": float(1.0 / lengths.max()), "largest": float(1.0 / lengths.min()),
            "n": len(rows)}
