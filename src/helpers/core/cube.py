"""encode() -> Cube: everything one forward pass gives back, and pooling over it.

Shapes use B = sentences, T = tokens (padded to the longest row), H = width,
L = layers, A = attention heads.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch

from .models import LoadedModel

#: Every pooling name the course uses, in display order, with its label: the one definition.
#: All but "pooler" pool a (B,T,H) layer output (see :func:`pool`); "pooler" is the model's own
#: dense+tanh over the last layer's [CLS] (see :meth:`Cube.pool`, :func:`embed`).
POOLING_LABELS = {
    "cls": "[CLS]",
    "mean": "masked mean",
    "max": "masked max",
    "pooler": "pooler",
    "first": "first word",
    "last": "last word",
    "sep": "[SEP]",
}
POOLINGS = tuple(POOLING_LABELS)


def check_pooling(how) -> str | int:
    """``how`` as a pooling name of POOLINGS or an int token index; a clear error otherwise."""
    if isinstance(how, (int, np.integer)) and not isinstance(how, bool):
        return int(how)
    if how not in POOLINGS:
        raise ValueError(f"Unknown pooling {how!r}: use one of {list(POOLINGS)}, or an int token index.")
    return how


class TruncationWarning(UserWarning):
    """Some texts were longer than the model's limit and were cut."""


# ----------------------------------------------------------------------------- pure pooling functions


def _mask3(attention_mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return attention_mask.to(like.dtype).unsqueeze(-1)


def pool_cls(hidden: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
    """(B,T,H) -> (B,H): the vector at position 0, where the tokenizer puts [CLS]."""
    return hidden[:, 0, :]


def masked_mean(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """(B,T,H) -> (B,H): average over real tokens only (padding never counts). The course's one masked mean."""
    m = _mask3(attention_mask, hidden)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)



def pool_max(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """(B,T,H) -> (B,H): per-unit maximum over real tokens only."""
    neg = torch.finfo(hidden.dtype).min
    return hidden.masked_fill(attention_mask.unsqueeze(-1) == 0, neg).amax(1)


def token_positions(attention_mask: torch.Tensor, k: int) -> torch.Tensor:
    """Position of token ``k`` in each row: k >= 0 counts from the start, k < 0 from the last real token.

    Raises ValueError when some row is too short to have that token.
    """
    lengths = attention_mask.sum(1).long()
    pos = torch.full_like(lengths, k) if k >= 0 else lengths + k
    bad = ((pos < 0) | (pos >= lengths)).nonzero().flatten().tolist()
    if bad:
        raise ValueError(
            f"Token index {k} does not exist in row(s) {bad[:5]} (their lengths: "
            f"{[int(lengths[i]) for i in bad[:5]]}). Use an index within every row, or a negative one from the end."
        )
    return pos


def pool_token(hidden: torch.Tensor, attention_mask: torch.Tensor, k: int) -> torch.Tensor:
    """(B,T,H) -> (B,H): the vector of token ``k`` in each row (negative k: from the last real token)."""
    pos = token_positions(attention_mask, k)
    return hidden[torch.arange(hidden.shape[0]), pos]


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, how: str | int) -> torch.Tensor:
    """Pool (B,T,H) to (B,H) by name or token index.

    ``how``: "cls" (position 0), "mean", "max", "first" (first word piece, position 1),
    "last" (last word piece, just before the final [SEP]), "sep" (final [SEP]) or an int k.
    """
    how = check_pooling(how)
    if isinstance(how, int):
        return pool_token(hidden, attention_mask, how)
    if how == "pooler":
        raise ValueError("'pooler' is the model's own layer, not a pooling of hidden states: use cube.pool('pooler') "
                         "or embed(lm, texts, pooling='pooler').")
    table = {
        "cls": lambda: pool_cls(hidden, attention_mask),
        "mean": lambda: masked_mean(hidden, attention_mask),
        "max": lambda: pool_max(hidden, attention_mask),
        "first": lambda: pool_token(hidden, attention_mask, 1),
        "last": lambda: pool_token(hidden, attention_mask, -2),
        "sep": lambda: pool_token(hidden, attention_mask, -1),
    }
    return table[how]()


# ----------------------------------------------------------------------------- the cube


@dataclass
class Cube:
    """What one forward pass over a list of texts gives back, in the caller's order.

    Attributes:
        texts / pairs: the inputs (pairs is None for single sentences).
        tokens: per row, the token strings of the real (non-padding) positions.
        input_ids, attention_mask, token_type_ids: (B,T) long tensors; padding has mask 0.
        last_hidden: (B,T,H) output of the last layer; zero at padding.
        hidden_states: (L+1,B,T,H) embeddings output then every layer, or None when left out.
        attentions: (L,B,A,T,T) attention weights, or None when left out. Rows of padding
            positions are zero; every real row sums to 1 over real columns.
        pooler_output: (B,H) the pooler (dense+tanh on [CLS]) where the model has one.
        truncated: row index -> number of tokens dropped to fit the model's limit.
        model_name: the model that made it.
    """

    texts: list[str]
    pairs: list[str] | None
    tokens: list[list[str]]
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    token_type_ids: torch.Tensor
    last_hidden: torch.Tensor
    hidden_states: torch.Tensor | None
    attentions: torch.Tensor | None
    pooler_output: torch.Tensor | None
    truncated: dict[int, int]
    model_name: str

    def __len__(self) -> int:
        return self.input_ids.shape[0]

    def __repr__(self) -> str:
        b, t, h = self.last_hidden.shape
        parts = [f"Cube({b} rows x {t} tokens x {h} hidden", f"model={self.model_name!r}"]
        if self.hidden_states is not None:
            parts.append(f"hidden_states {tuple(self.hidden_states.shape)}")
        if self.attentions is not None:
            parts.append(f"attentions {tuple(self.attentions.shape)}")
        return ", ".join(parts) + ")"

    @property
    def lengths(self) -> torch.Tensor:
        """(B,) number of real tokens per row, [CLS] and [SEP] included."""
        return self.attention_mask.sum(1)

    @property
    def num_layers(self) -> int:
        """Number of transformer layers L (hidden_states has L+1 entries)."""
        if self.hidden_states is not None:
            return self.hidden_states.shape[0] - 1
        if self.attentions is not None:
            return self.attentions.shape[0]
        raise ValueError("This cube kept neither hidden_states nor attentions; re-encode with hidden_states=True.")

    def layer(self, layer: int = -1) -> torch.Tensor:
        """(B,T,H) output of ``layer``: 0 = embeddings, L = last layer, negative counts from the end."""
        if self.hidden_states is None:
            if layer in (-1, None):
                return self.last_hidden
            raise ValueError(
                f"layer={layer} needs hidden_states, which this cube left out: encode(..., hidden_states=True)."
            )
        n = self.hidden_states.shape[0]
        if not -n <= layer < n:
            raise ValueError(f"layer={layer} is out of range: this model has layers 0 (embeddings) to {n - 1}.")
        return self.hidden_states[layer]

    def pool(self, how: str | int = "cls", layer: int = -1) -> torch.Tensor:
        """(B,H) sentence vectors: see :func:`pool` for ``how``; "pooler" gives the model's pooler output."""
        if how == "pooler":
            return self.pooler()
        return pool(self.layer(layer), self.attention_mask, how)

    def cls(self, layer: int = -1) -> torch.Tensor:
        """(B,H) the [CLS] vector: ``layer(layer)[:, 0, :]``."""
        return pool_cls(self.layer(layer))

    def mean(self, layer: int = -1) -> torch.Tensor:
        """(B,H) the average of the real tokens' vectors (padding excluded)."""
        return masked_mean(self.layer(layer), self.attention_mask)

    def max(self, layer: int = -1) -> torch.Tensor:
        """(B,H) the per-unit maximum over the real tokens (padding excluded)."""
        return pool_max(self.layer(layer), self.attention_mask)

    def token(self, k: int, layer: int = -1) -> torch.Tensor:
        """(B,H) the vector of token ``k`` (negative: from the last real token, -1 = final [SEP])."""
        return pool_token(self.layer(layer), self.attention_mask, k)

    def pooler(self) -> torch.Tensor:
        """(B,H) the model's pooler output (dense + tanh over the last layer's [CLS])."""
        if self.pooler_output is None:
            raise ValueError(f"{self.model_name!r} has no pooler; use cls() or mean() instead.")
        return self.pooler_output

    def special_mask(self, special_ids: Sequence[int]) -> torch.Tensor:
        """(B,T) bool: True where the token id is one of ``special_ids``."""
        ids = torch.as_tensor(list(special_ids), dtype=self.input_ids.dtype)
        return torch.isin(self.input_ids, ids) & (self.attention_mask == 1)


# ----------------------------------------------------------------------------- input checks


def check_texts(texts, what: str = "texts") -> list[str]:
    """Any sequence of strings as a list: a list, a tuple, a pandas Series, a numpy array of str, or one string.

    Raises ValueError naming the first bad item (not a string, empty or blank), or the wrong container.
    """
    if isinstance(texts, (str, np.str_)):
        texts = [str(texts)]
    elif isinstance(texts, np.ndarray):
        if texts.ndim != 1:
            raise ValueError(f"{what} must be one-dimensional (one string per sentence), got an array of shape {texts.shape}.")
        texts = texts.tolist()
    elif hasattr(texts, "tolist") and hasattr(texts, "index") and not isinstance(texts, (list, tuple)):
        texts = texts.tolist()  # a pandas Series (or Index) of strings
    if texts is None or isinstance(texts, (dict, set, bytes)) or not isinstance(texts, (list, tuple)):
        raise ValueError(f"{what} must be a sequence of strings (list, tuple, pandas Series, numpy array) or one "
                         f"string, got {type(texts).__name__}.")
    if len(texts) == 0:
        raise ValueError(f"{what} is empty: give at least one sentence.")
    for i, item in enumerate(texts):
        if not isinstance(item, str):
            raise ValueError(f"{what}[{i}] is {type(item).__name__} ({item!r}), not a string.")
        if not item.strip():
            raise ValueError(f"{what}[{i}] is empty or blank: every item needs some text.")
    return [str(t) for t in texts]


def check_inputs(texts, pairs=None) -> tuple[list[str], list[str] | None]:
    """Validate encode()'s inputs; ValueError names the offending index."""
    texts = check_texts(texts)
    if pairs is None:
        return texts, None
    pairs = check_texts(pairs, "pairs")
    if len(pairs) != len(texts):
        raise ValueError(
            f"pairs has {len(pairs)} items but texts has {len(texts)}: give one second sentence per first sentence."
        )
    return texts, pairs


# ----------------------------------------------------------------------------- batching


def tokenize(lm: LoadedModel, texts, pairs=None, max_length: int | None = None):
    """Tokenize without padding; cut rows over the limit and warn once.

    Returns:
        (rows, truncated): rows is a list of dicts with input_ids and token_type_ids lists;
        truncated maps row index -> tokens dropped.
    """
    texts, pairs = check_inputs(texts, pairs)
    return _tokenize(lm, texts, pairs, max_length)


def _tokenize(lm: LoadedModel, texts: list[str], pairs: list[str] | None, max_length: int | None):
    limit = int(max_length or lm.max_length)
    floor = 3 if pairs is None else 4
    if limit < floor:
        raise ValueError(f"max_length={limit} leaves no room for text: use at least {floor}.")
    tok = lm.tokenizer
    args = (texts,) if pairs is None else (texts, pairs)
    full = tok(*args, add_special_tokens=True, truncation=False, verbose=False, return_token_type_ids=True)
    ids, types = full["input_ids"], full.get("token_type_ids")
    if types is None:
        types = [[0] * len(r) for r in ids]
    truncated = {i: len(r) - limit for i, r in enumerate(ids) if len(r) > limit}
    if truncated:
        rows = sorted(truncated)
        sub_args = ([texts[i] for i in rows],) if pairs is None else ([texts[i] for i in rows], [pairs[i] for i in rows])
        cut = tok(*sub_args, add_special_tokens=True, truncation=True, max_length=limit, return_token_type_ids=True)
        for j, i in enumerate(rows):
            ids[i] = cut["input_ids"][j]
            types[i] = cut["token_type_ids"][j] if "token_type_ids" in cut else [0] * len(ids[i])
        sample = ", ".join(f"row {i}: {truncated[i] + limit} -> {limit}" for i in rows[:3])
        warnings.warn(
            f"{len(rows)} text(s) longer than the model's limit of {limit} tokens were truncated; "
            f"{sum(truncated.values())} token(s) dropped in all ({sample}{', ...' if len(rows) > 3 else ''}).",
            TruncationWarning,
            stacklevel=3,
        )
    return [{"input_ids": a, "token_type_ids": b} for a, b in zip(ids, types)], truncated


def _check_id_rows(lm: LoadedModel, input_ids, token_type_ids=None) -> list[dict]:
    if input_ids is None or len(input_ids) == 0:
        raise ValueError("input_ids is empty: give at least one row of token ids.")
    rows = []
    for i, r in enumerate(input_ids):
        r = [int(x) for x in (r.tolist() if hasattr(r, "tolist") else r)]
        if not r:
            raise ValueError(f"input_ids[{i}] is empty.")
        if len(r) > lm.max_length:
            raise ValueError(f"input_ids[{i}] has {len(r)} ids; the model takes at most {lm.max_length}.")
        if min(r) < 0 or max(r) >= lm.vocab_size:
            raise ValueError(f"input_ids[{i}] has ids outside 0..{lm.vocab_size - 1}.")
        t = [0] * len(r) if token_type_ids is None else [int(x) for x in token_type_ids[i]]
        if len(t) != len(r):
            raise ValueError(f"token_type_ids[{i}] has {len(t)} items but input_ids[{i}] has {len(r)}.")
        rows.append({"input_ids": r, "token_type_ids": t})
    return rows


def _batches(lm: LoadedModel, rows: list[dict], batch_size: int, sort: bool) -> Iterator[list[int]]:
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    order = list(range(len(rows)))
    if sort:  # longest first: batches of similar length waste little on padding
        order.sort(key=lambda i: -len(rows[i]["input_ids"]))
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def _forward(lm: LoadedModel, rows: list[dict], idx: list[int], hidden_states: bool, attentions: bool):
    width = max(len(rows[i]["input_ids"]) for i in idx)
    n = len(idx)
    ids = torch.full((n, width), lm.tokenizer.pad_token_id or 0, dtype=torch.long)
    types = torch.zeros((n, width), dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    for j, i in enumerate(idx):
        r = rows[i]
        k = len(r["input_ids"])
        ids[j, :k] = torch.tensor(r["input_ids"])
        types[j, :k] = torch.tensor(r["token_type_ids"])
        mask[j, :k] = 1
    inputs = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in lm.tokenizer.model_input_names:
        inputs["token_type_ids"] = types
    inputs = {k: v.to(lm.device) for k, v in inputs.items()}
    with torch.inference_mode(), lm.attention_weights(attentions):
        out = lm.encoder(**inputs, output_hidden_states=hidden_states, output_attentions=attentions, return_dict=True)
    return ids, types, mask, out


def _progress(total: int, progress: bool | None, desc: str):
    from tqdm.auto import tqdm

    show = progress if progress is not None else total >= 2000
    return tqdm(total=total, desc=desc, unit="sent", disable=not show, leave=False)


def estimate_bytes(lm: LoadedModel, batch: int, tokens: int, hidden_states: bool, attentions: bool) -> int:
    """Bytes a float32 cube of this size needs."""
    h, layers, heads = lm.hidden_size, lm.num_layers, lm.num_heads
    size = batch * tokens * h * (layers + 1 if hidden_states else 1)
    if attentions:
        size += layers * batch * heads * tokens * tokens
    return 4 * size


# ----------------------------------------------------------------------------- public entry points


def encode(
    lm: LoadedModel,
    texts: str | Sequence[str],
    pairs: Sequence[str] | None = None,
    *,
    hidden_states: bool = True,
    attentions: bool = True,
    batch_size: int = 32,
    max_length: int | None = None,
    progress: bool | None = None,
    sort: bool = True,
    max_bytes: float = 2e9,
) -> Cube:
    """Run the model over ``texts`` (and optional second sentences ``pairs``) and return a Cube.

    Args:
        lm: a model from load_model().
        texts: the sentences (one string is taken as a list of one).
        pairs: optional second sentences, one per text ([CLS] A [SEP] B [SEP], segments 0/1).
        hidden_states: keep every layer's output (L+1,B,T,H); False keeps only last_hidden.
        attentions: keep attention weights (L,B,A,T,T); runs eager attention for that pass.
        batch_size: sentences per forward pass.
        max_length: cut longer inputs to this many tokens (default: the model's limit).
        progress: show a progress bar (default: only for 2,000+ sentences).
        sort: batch sentences of similar length together (the order of the result never changes).
        max_bytes: refuse to build a cube larger than this; use embed() for big sets.

    Raises:
        ValueError: bad texts or pairs (the message names the index), or a cube too large.
    """
    texts, pairs = check_inputs(texts, pairs)
    rows, truncated = _tokenize(lm, texts, pairs, max_length)
    return _encode_rows(lm, rows, texts, pairs, truncated, hidden_states, attentions, batch_size, progress, sort, max_bytes)


def encode_ids(
    lm: LoadedModel,
    input_ids: Sequence[Sequence[int]],
    token_type_ids: Sequence[Sequence[int]] | None = None,
    *,
    hidden_states: bool = True,
    attentions: bool = True,
    batch_size: int = 32,
    progress: bool | None = None,
) -> Cube:
    """Like encode() but for token-id rows you built yourself (e.g. [CLS] moved or dropped).

    No special tokens are added: each row is fed exactly as given.
    """
    rows = _check_id_rows(lm, input_ids, token_type_ids)
    texts = [lm.tokenizer.decode(r["input_ids"]) for r in rows]
    return _encode_rows(lm, rows, texts, None, {}, hidden_states, attentions, batch_size, progress, True, 2e9)


def _encode_rows(lm, rows, texts, pairs, truncated, hidden_states, attentions, batch_size, progress, sort, max_bytes):
    n = len(rows)
    width = max(len(r["input_ids"]) for r in rows)
    need = estimate_bytes(lm, n, width, hidden_states, attentions)
    if need > max_bytes:
        raise ValueError(
            f"This cube would need {need / 1e9:.1f} GB ({n} sentences x {width} tokens). Pass hidden_states=False "
            "and/or attentions=False, encode fewer sentences at once, or use embed() for pooled vectors only."
        )
    h, layers, heads = lm.hidden_size, lm.num_layers, lm.num_heads
    input_ids = torch.full((n, width), lm.tokenizer.pad_token_id or 0, dtype=torch.long)
    token_type_ids = torch.zeros((n, width), dtype=torch.long)
    attention_mask = torch.zeros((n, width), dtype=torch.long)
    hs = torch.zeros((layers + 1, n, width, h)) if hidden_states else None
    last = hs[-1] if hs is not None else torch.zeros((n, width, h))
    att = torch.zeros((layers, n, heads, width, width)) if attentions else None
    pooled = torch.zeros((n, h)) if lm.has_pooler else None
    with _progress(n, progress, "encode") as bar:
        for idx in _batches(lm, rows, batch_size, sort):
            ids, types, mask, out = _forward(lm, rows, idx, hidden_states, attentions)
            t = ids.shape[1]
            sel = torch.tensor(idx)
            input_ids[sel, :t], token_type_ids[sel, :t], attention_mask[sel, :t] = ids, types, mask
            m = mask.unsqueeze(-1).float()
            if hs is not None:
                hs[:, sel, :t] = torch.stack([x.float().cpu() for x in out.hidden_states]) * m
            else:
                last[sel, :t] = out.last_hidden_state.float().cpu() * m
            if att is not None:
                qmask = mask[None, :, None, :, None].float()
                att[:, sel, :, :t, :t] = torch.stack([a.float().cpu() for a in out.attentions]) * qmask
            if pooled is not None:
                pooled[sel] = out.pooler_output.float().cpu()
            bar.update(len(idx))
    tokens = [lm.tokenizer.convert_ids_to_tokens(r["input_ids"]) for r in rows]
    return Cube(
        texts=texts,
        pairs=pairs,
        tokens=tokens,
        input_ids=input_ids,
        attention_mask=attention_mask,
        token_type_ids=token_type_ids,
        last_hidden=last,
        hidden_states=hs,
        attentions=att,
        pooler_output=pooled,
        truncated=truncated,
        model_name=lm.name,
    )


def embed(
    lm: LoadedModel,
    texts: str | Sequence[str],
    pairs: Sequence[str] | None = None,
    *,
    pooling: str | int = "cls",
    layers: int | Sequence[int] = -1,
    batch_size: int = 64,
    max_length: int | None = None,
    progress: bool | None = None,
) -> np.ndarray:
    """Pooled sentence vectors only, in bounded memory (for thousands of sentences).

    Args:
        pooling: "cls", "mean", "max", "first", "last", "sep", "pooler" or a token index.
        layers: one layer index (0 = embeddings, -1 = last) or a list of them.

    Returns:
        float32 array (N,H) for one layer, or (len(layers),N,H) for a list.
    """
    rows, _ = tokenize(lm, texts, pairs, max_length)
    single = isinstance(layers, (int, np.integer))
    wanted = [int(layers)] if single else [int(x) for x in layers]
    if not wanted:
        raise ValueError("layers is empty: give a layer index or a list of them.")
    n_states = lm.num_layers + 1
    for x in wanted:
        if not -n_states <= x < n_states:
            raise ValueError(f"layer {x} is out of range: this model has layers 0 (embeddings) to {n_states - 1}.")
    if pooling == "pooler" and not lm.has_pooler:
        raise ValueError(f"{lm.name!r} has no pooler; use pooling='cls' or 'mean'.")
    need_all = any(x not in (-1, n_states - 1) for x in wanted)
    result = np.zeros((len(wanted), len(rows), lm.hidden_size), dtype=np.float32)
    with _progress(len(rows), progress, f"embed ({pooling})") as bar:
        for idx in _batches(lm, rows, batch_size, sort=True):
            _, _, mask, out = _forward(lm, rows, idx, need_all, False)
            mask = mask.to(lm.device)
            for j, layer in enumerate(wanted):
                if pooling == "pooler":
                    vec = out.pooler_output
                else:
                    states = out.hidden_states[layer] if need_all else out.last_hidden_state
                    vec = pool(states, mask, pooling)
                result[j, idx] = vec.float().cpu().numpy()
            bar.update(len(idx))
    return result[0] if single else result
