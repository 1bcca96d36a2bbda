"""Readouts: which vector of which input layout a probe or a classification head reads.

A readout is a layout (where [CLS] sits in the input row) and what to read from the output (the [CLS]
slot, the masked mean or max, the first or last word piece, the final [SEP], or a fixed position). The
frozen probes of notebook 02 and the fine-tuning sweep of notebook 06 use the same readouts, so "the last
word" or "[CLS] moved to the end" means the same vector in both. Shapes: B = sentences, T = tokens,
H = width, L+1 = hidden states.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .cube import masked_mean, pool_max

#: Where [CLS] goes in each input layout. "standard" is what the tokenizer builds.
LAYOUTS: dict[str, str] = {
    "standard": "[CLS] words [SEP]",
    "cls_end": "words [SEP] [CLS]",
    "cls_middle": "first half [CLS] second half [SEP]",
    "no_cls": "words [SEP]",
}


@dataclass(frozen=True)
class Readout:
    """One readout: ``layout`` (a key of LAYOUTS) and ``what`` ("cls", "mean", "max", "first", "last", "sep" or
    an int position counted from the start of the row), with a label for tables and plots."""

    key: str
    layout: str
    what: str | int
    label: str


#: Every readout the course compares, in display order.
READOUTS: dict[str, Readout] = {r.key: r for r in (
    Readout("cls", "standard", "cls", "[CLS] at position 0 (the usual)"),
    Readout("mean", "standard", "mean", "mean of all tokens"),
    Readout("max", "standard", "max", "max over all tokens"),
    Readout("first", "standard", "first", "first word"),
    Readout("pos2", "standard", 2, "token at position 2"),
    Readout("last", "standard", "last", "last word"),
    Readout("sep", "standard", "sep", "[SEP]"),
    Readout("cls_end", "cls_end", "cls", "[CLS] moved to the end"),
    Readout("cls_middle", "cls_middle", "cls", "[CLS] moved to the middle"),
    Readout("nocls_first", "no_cls", "first", "no [CLS]: first token"),
    Readout("nocls_mean", "no_cls", "mean", "no [CLS]: mean of all tokens"),
)}


def get_readout(key: str | int | Readout) -> Readout:
    """The Readout for ``key``: a key of READOUTS, an int position (or "pos<n>") of the standard row; a clear
    error listing the keys otherwise."""
    if isinstance(key, Readout):
        return key
    if isinstance(key, str) and key.startswith("pos") and key[3:].isdigit() and key not in READOUTS:
        key = int(key[3:])
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        if key < 0:
            raise ValueError(f"A position readout counts from the start of the row: use 0 or more, got {key}.")
        if key == 0:
            return READOUTS["cls"]
        known = [r for r in READOUTS.values() if r.layout == "standard" and r.what == int(key)]
        return known[0] if known else Readout(f"pos{key}", "standard", int(key), f"token at position {key}")
    if key not in READOUTS:
        raise ValueError(f"Unknown readout {key!r}: use one of {list(READOUTS)} or an int position.")
    return READOUTS[key]


def layout_row(words: Sequence[int], layout: str, cls_id: int, sep_id: int) -> tuple[list[int], int | None]:
    """Build one id row for ``layout`` from the word-piece ids; return (row, position of [CLS] or None)."""
    w = list(words)
    if layout == "standard":
        return [cls_id] + w + [sep_id], 0
    if layout == "cls_end":
        return w + [sep_id, cls_id], len(w) + 1
    if layout == "cls_middle":
        m = len(w) // 2
        return w[:m] + [cls_id] + w[m:] + [sep_id], m
    if layout == "no_cls":
        return w + [sep_id], None
    raise ValueError(f"Unknown layout {layout!r}: use one of {list(LAYOUTS)}.")


def word_piece_ids(lm, texts: Sequence[str]) -> list[list[int]]:
    """The word-piece ids of each text, without special tokens, cut to fit any layout (max_length - 2)."""
    texts = list(texts)
    if not texts or any(not isinstance(t, str) or not t.strip() for t in texts):
        raise ValueError("texts must be a non-empty list of non-empty strings.")
    enc = lm.tokenizer(texts, add_special_tokens=False, truncation=True, max_length=lm.max_length - 2)
    return [list(ids) for ids in enc["input_ids"]]


def layout_rows(lm, texts: Sequence[str], layout: str) -> tuple[list[list[int]], list[int | None]]:
    """Id rows of ``texts`` in ``layout`` and the position of [CLS] in each (None without [CLS])."""
    tok = lm.tokenizer
    built = [layout_row(w, layout, tok.cls_token_id, tok.sep_token_id) for w in word_piece_ids(lm, texts)]
    return [r for r, _ in built], [p for _, p in built]


def read(hidden: torch.Tensor, attention_mask: torch.Tensor, readout: str | Readout,
         cls_pos: Sequence[int | None] | None = None) -> torch.Tensor:
    """Pool (B,T,H) -> (B,H), or (L+1,B,T,H) -> (L+1,B,H), for one readout of rows built by :func:`layout_row`.

    Args:
        hidden: one layer's output (B,T,H) or every hidden state (L+1,B,T,H); zero at padding.
        attention_mask: (B,T) 1 for real tokens.
        readout: a key of READOUTS or a Readout.
        cls_pos: per row, where [CLS] is (from :func:`layout_rows`); needed for "cls" outside the standard layout.
    """
    r = get_readout(readout)
    if hidden.ndim == 4:
        return torch.stack([read(h, attention_mask, r, cls_pos) for h in hidden])
    b = hidden.shape[0]
    rows = torch.arange(b, device=hidden.device)
    lengths = attention_mask.sum(1).to(hidden.device)
    cls_end = r.layout == "cls_end"
    if r.what == "mean":
        return masked_mean(hidden, attention_mask.to(hidden.device))
    if r.what == "max":
        return pool_max(hidden, attention_mask.to(hidden.device))
    if r.what == "cls":
        if r.layout == "no_cls":
            raise ValueError("The 'no_cls' layout has no [CLS] to read.")
        if r.layout == "standard":
            pos = torch.zeros(b, dtype=torch.long, device=hidden.device)
        else:
            if cls_pos is None or any(p is None for p in cls_pos):
                raise ValueError("Reading [CLS] outside position 0 needs cls_pos from layout_rows().")
            pos = torch.as_tensor(list(cls_pos), device=hidden.device)
    elif r.what == "first":
        pos = torch.full((b,), 0 if r.layout == "no_cls" else 1, device=hidden.device)
    elif r.what == "sep":  # the last [SEP]: final position, or one before [CLS] at the end
        pos = lengths - (2 if cls_end else 1)
    elif r.what == "last":
        pos = lengths - (3 if cls_end else 2)
    elif isinstance(r.what, int):
        pos = torch.full((b,), r.what, device=hidden.device)
        if bool((pos >= lengths).any()):
            short = int((pos >= lengths).sum())
            raise ValueError(f"{short} row(s) are too short to have a token at position {r.what}.")
    else:
        raise ValueError(f"Unknown readout target {r.what!r}.")
    return hidden[rows, pos.long()]
