"""Notebook 01 · Tokenization: WordPiece tables, special tokens, padding, truncation, [UNK], traps and checks.

Three parts: :mod:`.facts` (compute: every function takes a LoadedModel, or reads ``lm.tokenizer``, and returns
plain data), :mod:`.views` (the ``*_html`` renderers and the two :class:`~helpers.ui.explorer.Explorer` widgets)
and :mod:`.checks` (the Try-it checks).
"""

from __future__ import annotations

from . import facts
from .checks import (
    COUNT_RANGE_WIDTH,
    check_pair_encoding,
    check_padding_answer,
    check_token_count,
    check_token_range,
)
from .facts import (
    SPECIAL_ROLES,
    batch_encoding,
    describe_unknown_word,
    describe_wordpieces,
    display_kind,
    normalized,
    normaliser_facts,
    padding_trap,
    pre_tokens,
    special_tokens,
    special_tokens_off,
    split_words,
    summarize_rows,
    token_count_bounds,
    token_rows,
    truncation_view,
    typed_cls_trap,
    unknown_word_demo,
    wordpiece_view,
)
from .views import (
    KIND_COLOURS,
    batch_html,
    build_truncation_explorer,
    build_wordpiece_explorer,
    tokens_html,
    truncation_html,
    wordpiece_html,
    wordpiece_view_html,
)

__all__ = [name for name in dir() if not name.startswith("_") and name != "annotations"]
