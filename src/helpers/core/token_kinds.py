"""What kind of token is this? [CLS], [SEP], punctuation or a word: one Unicode-aware definition.

Attention statistics (what [CLS] reads, how much other tokens read [CLS]) are reported per kind;
every notebook classifies tokens with :func:`token_kinds`, so "punctuation" means the same thing
everywhere (``…``, ``—`` and ``’`` are punctuation, as ``.`` and ``,`` are).
"""

from __future__ import annotations

import string
import unicodedata
from typing import Sequence

import numpy as np

#: The token kinds, in display order.
KINDS = ("cls", "sep", "punct", "word")
KIND_LABELS = {"cls": "[CLS]", "sep": "[SEP]", "punct": "punctuation", "word": "words"}
KIND_COLORS = {"cls": "tab:red", "sep": "tab:blue", "punct": "tab:green", "word": "tab:gray"}


def is_punctuation(token: str) -> bool:
    """True when a (word-piece) token is made only of punctuation characters, e.g. ``.``, ``…``, ``##!``.

    A character counts when it is ASCII punctuation or in a Unicode punctuation category (P*).
    """
    core = token[2:] if token.startswith("##") and len(token) > 2 else token
    if not core:
        return False
    return all(ch in string.punctuation or unicodedata.category(ch).startswith("P") for ch in core)


def special_tokens_of(lm) -> tuple[str, str]:
    """The (cls_token, sep_token) strings of a LoadedModel's tokenizer (BERT's defaults otherwise)."""
    tok = getattr(lm, "tokenizer", None)
    return (getattr(tok, "cls_token", None) or "[CLS]", getattr(tok, "sep_token", None) or "[SEP]")


def token_kinds(tokens: Sequence[str], cls_token: str = "[CLS]", sep_token: str = "[SEP]") -> np.ndarray:
    """(n,) array of kinds, one of ``KINDS``, for the real tokens of one row.

    Args:
        tokens: the token strings (a Cube's ``tokens[b]``).
        cls_token / sep_token: the model's special token strings (see :func:`special_tokens_of`).
    """
    if isinstance(tokens, str):
        raise ValueError("tokens must be a list of token strings (e.g. cube.tokens[0]), not one string.")
    out = []
    for t in tokens:
        if t == cls_token:
            out.append("cls")
        elif t == sep_token:
            out.append("sep")
        elif is_punctuation(t):
            out.append("punct")
        else:
            out.append("word")
    return np.array(out, dtype=object)


def cube_kinds(cube, lm=None) -> list[np.ndarray]:
    """token_kinds() of every row of a Cube (with ``lm``'s special token strings)."""
    cls_tok, sep_tok = special_tokens_of(lm)
    return [token_kinds(t, cls_tok, sep_tok) for t in cube.tokens]


def word_piece_stats(lm, texts) -> dict[str, float]:
    """How well a tokenizer's vocabulary fits some texts: pieces per word, single-character pieces, too-long rows.

    A word is what the tokenizer's pre-tokenizer gives (punctuation marks count as words). A vocabulary learned on
    other text (e.g. the course's mini-BERT on its story corpus) breaks unseen words into many short pieces.

    Returns:
        dict with "pieces_per_word" (mean word pieces per word), "single_char_share" (share of pieces that are
        one character, ``##`` not counted), "over_limit" (share of texts longer than the model's max_length, [CLS]
        and [SEP] included), "words" and "texts" (counts).
    """
    texts = list(texts)
    if not texts or any(not isinstance(t, str) for t in texts):
        raise ValueError("texts must be a non-empty list of strings.")
    tok = lm.tokenizer
    pre = tok.backend_tokenizer.pre_tokenizer
    norm = tok.backend_tokenizer.normalizer
    words = pieces = single = 0
    for text in texts:
        normalised = norm.normalize_str(text) if norm is not None else text
        for word, _ in pre.pre_tokenize_str(normalised) if pre is not None else [(w, None) for w in normalised.split()]:
            parts = tok.tokenize(word)
            words += 1
            pieces += len(parts)
            single += sum(1 for p in parts if len(p[2:] if p.startswith("##") else p) == 1)
    lengths = [len(ids) for ids in tok(texts, add_special_tokens=True, verbose=False)["input_ids"]]
    return {"pieces_per_word": pieces / max(words, 1), "single_char_share": single / max(pieces, 1),
            "over_limit": sum(n > lm.max_length for n in lengths) / len(texts), "words": words, "texts": len(texts)}
