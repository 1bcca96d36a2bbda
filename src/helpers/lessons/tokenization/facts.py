"""Notebook 01 · compute: special tokens, WordPiece rows, padding, truncation, [UNK], traps and count bounds.

Every function takes a LoadedModel (or reads ``lm.tokenizer``) and returns plain data (lists of dicts,
dicts); :mod:`.views` renders it, :mod:`.checks` checks the Try-it answers against it.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from ...core.cube import encode, encode_ids
from ...core.models import LoadedModel

#: The special tokens a BERT tokenizer knows, in the order the lesson shows them, with their job.
SPECIAL_ROLES: dict[str, str] = {
    "cls_token": "added at position 0 of every input; its output is the one a classifier usually reads",
    "sep_token": "added after each sentence: once for one sentence, twice for a pair",
    "pad_token": "fills short rows of a batch up to the longest row; the attention mask hides it",
    "mask_token": "replaces words during masked-language-model pretraining (never added by the tokenizer)",
    "unk_token": "stands for a whole word the vocabulary cannot spell (one unknown character is enough)",
}

def _tokenizer(lm_or_tokenizer):
    tok = getattr(lm_or_tokenizer, "tokenizer", lm_or_tokenizer)
    if not hasattr(tok, "convert_ids_to_tokens"):
        raise ValueError(f"Expected a LoadedModel or a tokenizer, got {type(lm_or_tokenizer).__name__}.")
    return tok


def _check_text(text: Any, what: str = "text") -> str:
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a string, got {type(text).__name__} ({text!r}).")
    return text


# ----------------------------------------------------------------------------- facts


def special_tokens(lm: LoadedModel) -> list[dict[str, Any]]:
    """The special tokens of this vocabulary.

    Returns:
        One dict per special token: ``name`` (e.g. "cls_token"), ``token`` (e.g. "[CLS]"), ``id``
        (its id in THIS vocabulary) and ``role`` (what it is for).
    """
    tok = _tokenizer(lm)
    rows = []
    for name, role in SPECIAL_ROLES.items():
        token = getattr(tok, name, None)
        if token is None:
            continue
        rows.append({"name": name, "token": str(token), "id": int(tok.convert_tokens_to_ids(str(token))), "role": role})
    return rows


def display_kind(token: str, token_id: int, tokenizer) -> str:
    """How the token tables colour a token: "special", "unk", "pad", "piece" (a ``##`` continuation) or "word".

    This is a display taxonomy of the *tokenizer's* output, decided by ids: it tells [UNK], [PAD] and the
    other special tokens apart and marks ``##`` continuations, and it knows nothing of punctuation. It is
    not :func:`helpers.core.token_kinds.token_kinds` ("cls" / "sep" / "punct" / "word"), the course's one
    definition of token kinds for attention statistics, which decides by token string and puts [UNK],
    [PAD] and ``##`` pieces under "word" (or "punct").
    """
    if token_id == tokenizer.unk_token_id:
        return "unk"
    if token_id == tokenizer.pad_token_id:
        return "pad"
    if token_id in set(tokenizer.all_special_ids):
        return "special"
    if token.startswith("##"):
        return "piece"
    return "word"


def normalized(lm: LoadedModel, text: str) -> str:
    """The text after the tokenizer's normalizer (lower-casing and accent stripping for uncased vocabularies)."""
    tok = _tokenizer(lm)
    text = _check_text(text)
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is not None and backend.normalizer is not None:
        return backend.normalizer.normalize_str(text)
    return text.lower() if getattr(tok, "do_lower_case", False) else text


def normaliser_facts(lm: LoadedModel) -> dict[str, bool]:
    """What this tokenizer's normaliser does: ``lower_cases`` ("BERT" -> "bert") and ``strips_accents`` ("é" -> "e")."""
    return {"lower_cases": normalized(lm, "BERT") != "BERT",
            "strips_accents": "\u00e9" not in normalized(lm, "Caf\u00e9").lower()}


def token_rows(
    lm: LoadedModel,
    text: str,
    pair: str | None = None,
    *,
    add_special_tokens: bool = True,
    max_length: int | None = None,
) -> list[dict[str, Any]]:
    """Tokenize one input (or a pair) and describe every position.

    Args:
        lm: the loaded model (its tokenizer is used).
        text: the (first) sentence.
        pair: an optional second sentence (segment 1).
        add_special_tokens: False leaves out [CLS] and [SEP].
        max_length: cut the input to this many tokens (None: no cut).

    Returns:
        One dict per position: ``position``, ``token``, ``id``, ``token_type_id``, ``attention_mask``,
        ``kind`` (see :func:`display_kind`) and ``word`` (index of the word it came from; None for specials).
    """
    tok = _tokenizer(lm)
    text = _check_text(text)
    if pair is not None:
        pair = _check_text(pair, "pair")
    if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
        raise ValueError(f"max_length must be a positive integer or None, got {max_length!r}.")
    args = (text,) if pair is None else (text, pair)
    enc = tok(
        *args,
        add_special_tokens=add_special_tokens,
        truncation=max_length is not None,
        max_length=max_length,
        return_token_type_ids=True,
        return_attention_mask=True,
    )
    ids = enc["input_ids"]
    types = enc.get("token_type_ids") or [0] * len(ids)
    mask = enc["attention_mask"]
    words = enc.word_ids() if hasattr(enc, "word_ids") else [None] * len(ids)
    tokens = tok.convert_ids_to_tokens(ids)
    return [
        {
            "position": i,
            "token": t,
            "id": int(x),
            "token_type_id": int(s),
            "attention_mask": int(m),
            "kind": display_kind(t, int(x), tok),
            "word": w,
        }
        for i, (t, x, s, m, w) in enumerate(zip(tokens, ids, types, mask, words))
    ]


def summarize_rows(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Counts over :func:`token_rows` output: tokens, words, pieces (##), unknowns, specials."""
    words = {r["word"] for r in rows if r["word"] is not None}
    return {
        "tokens": len(rows),
        "words": len(words),
        "pieces": sum(r["kind"] == "piece" for r in rows),
        "unknown": sum(r["kind"] == "unk" for r in rows),
        "special": sum(r["kind"] in ("special", "pad") for r in rows),
    }


def batch_encoding(lm: LoadedModel, texts: Sequence[str], pad_to: int | None = None) -> dict[str, Any]:
    """Tokenize several sentences as one padded batch, the way a model receives them.

    Args:
        texts: the sentences.
        pad_to: pad every row to this length (None: to the longest row).

    Returns:
        dict with ``tokens`` (list of B lists of T strings), ``input_ids``, ``attention_mask``,
        ``token_type_ids`` (B lists of T ints) and ``pad_id``.
    """
    tok = _tokenizer(lm)
    if isinstance(texts, str) or not texts:
        raise ValueError("texts must be a non-empty list of sentences.")
    for i, t in enumerate(texts):
        _check_text(t, f"texts[{i}]")
    padding = "max_length" if pad_to else "longest"
    enc = tok(list(texts), padding=padding, max_length=pad_to, return_token_type_ids=True)
    ids = [list(map(int, r)) for r in enc["input_ids"]]
    return {
        "tokens": [tok.convert_ids_to_tokens(r) for r in ids],
        "input_ids": ids,
        "attention_mask": [list(map(int, r)) for r in enc["attention_mask"]],
        "token_type_ids": [list(map(int, r)) for r in enc.get("token_type_ids") or [[0] * len(r) for r in ids]],
        "pad_id": int(tok.pad_token_id),
    }


def truncation_view(lm: LoadedModel, text: str, max_length: int, pair: str | None = None) -> dict[str, Any]:
    """What a max_length cut keeps and drops.

    Returns:
        dict with ``kept`` (the tokens fed to the model), ``cut`` (word pieces dropped, in order),
        ``full_length`` (tokens without a cut), ``max_length``, ``last_token`` and ``ends_with_sep``.
    """
    tok = _tokenizer(lm)
    text = _check_text(text)
    floor = 3 if pair is None else 4
    if not isinstance(max_length, int) or max_length < floor:
        raise ValueError(f"max_length must be an integer of at least {floor} (room for the special tokens and one word).")
    args = (text,) if pair is None else (text, pair)
    full = tok(*args, truncation=False, return_token_type_ids=True)
    cut = tok(*args, truncation=True, max_length=max_length, return_token_type_ids=True)
    kept = tok.convert_ids_to_tokens(cut["input_ids"])
    dropped: list[str] = []
    for segment in (0, 1) if pair is not None else (0,):
        seg_ids = [i for i, s in zip(full["input_ids"], full["token_type_ids"]) if s == segment]
        kept_ids = [i for i, s in zip(cut["input_ids"], cut["token_type_ids"]) if s == segment]
        special = set(tok.all_special_ids)
        seg_words = [i for i in seg_ids if i not in special]
        kept_words = [i for i in kept_ids if i not in special]
        dropped += tok.convert_ids_to_tokens(seg_words[len(kept_words):])
    return {
        "kept": kept,
        "cut": dropped,
        "full_length": len(full["input_ids"]),
        "max_length": max_length,
        "last_token": kept[-1],
        "ends_with_sep": kept[-1] == tok.sep_token,
    }


# ----------------------------------------------------------------------------- pieces and [UNK]


def split_words(lm: LoadedModel, words: Sequence[str]) -> dict[str, list[str]]:
    """Each word tokenized on its own (no special tokens): word -> its WordPiece pieces."""
    tok = _tokenizer(lm)
    if isinstance(words, str):
        raise ValueError("words must be a list of words, not one string: split_words(lm, ['film', 'films']).")
    return {_check_text(w, "each word"): list(tok.tokenize(w)) for w in words}


def describe_wordpieces(pieces: dict[str, list[str]], lower_cases: bool, strips_accents: bool | None = None,
                        unk_token: str = "[UNK]") -> str:
    """"With this model we found: ...": which words stay whole, which split (into how many pieces), which become
    [UNK], and what the normaliser does; a pure function of :func:`split_words` output."""
    whole = [w for w, p in pieces.items() if len(p) == 1 and p[0] != unk_token]
    split = [(w, len(p)) for w, p in pieces.items() if len(p) > 1 and unk_token not in p]
    unknown = [w for w, p in pieces.items() if unk_token in p]
    parts = []
    if whole:
        parts.append(", ".join(repr(w) for w in whole) + (" stays" if len(whole) == 1 else " stay") + " one piece")
    if split:
        parts.append(", ".join(f"{w!r} ({n} pieces)" for w, n in split) + (" splits" if len(split) == 1 else " split"))
    if unknown:
        each = " each" if len(unknown) > 1 else ""
        parts.append(", ".join(repr(w) for w in unknown) + f" become{'s' if len(unknown) == 1 else ''} a single "
                     f"{unk_token}{each}")
    else:
        parts.append(f"no word becomes {unk_token}")
    norm = "this tokenizer lower-cases" if lower_cases else "this tokenizer keeps upper case"
    if strips_accents is not None:
        norm += " and strips accents" if strips_accents else " and keeps accents"
    return "With this model we found: " + "; ".join(parts) + f"; {norm}."


def unknown_word_demo(lm: LoadedModel, word: str = "snow\u26c4man", char: str = "\u26c4") -> dict[str, Any]:
    """What one character the vocabulary cannot spell does to the word around it.

    Returns:
        dict with ``rows`` ([(text, pieces)] for the word, the word without ``char`` and ``char`` alone),
        ``whole_word`` (True when the word became one [UNK], its spellable parts lost too), ``char_unknown``
        and ``unk_token``.
    """
    tok = _tokenizer(lm)
    word, char = _check_text(word, "word"), _check_text(char, "char")
    if not char or char not in word:
        raise ValueError(f"char {char!r} must occur in word {word!r}: "
                         "e.g. unknown_word_demo(lm, 'snow\u26c4man', '\u26c4').")
    without = word.replace(char, "")
    rows = [(w, list(tok.tokenize(w))) for w in (word, without, char)]
    unk = str(tok.unk_token)
    return {"rows": rows, "whole_word": rows[0][1] == [unk], "char_unknown": unk in rows[2][1], "unk_token": unk}


def describe_unknown_word(demo: dict[str, Any]) -> str:
    """The :func:`unknown_word_demo` result in one sentence (a pure function of the dict)."""
    (word, pieces), (without, rest), (char, alone) = demo["rows"]
    unk = demo["unk_token"]
    if demo["whole_word"]:
        return (f"With this model we found: {word!r} -> {pieces}: the one character {char!r} that this vocabulary cannot "
                f"spell turned the WHOLE word into a single {unk}, and the pieces it could spell ({without!r} -> "
                f"{rest}) are lost with it.")
    if unk in pieces:
        return (f"With this model we found: {word!r} -> {pieces}: the {unk} covers part of the word, and the rest "
                "keeps its pieces.")
    return (f"With this model we found: {word!r} -> {pieces}: this vocabulary can spell {char!r} ({alone}), so no "
            f"{unk} appears.")


# ----------------------------------------------------------------------------- traps


def typed_cls_trap(lm: LoadedModel, text: str = "[CLS] the film was fine") -> dict[str, Any]:
    """What happens when the text itself contains "[CLS]".

    Returns:
        dict with ``tokens`` (default tokenization: the typed "[CLS]" becomes the real special token,
        so the row has two), ``cls_count``, and ``split_tokens`` (with ``split_special_tokens=True``
        the typed text is spelled as ordinary word pieces; None if the tokenizer lacks that option).
    """
    tok = _tokenizer(lm)
    text = _check_text(text)
    ids = tok(text)["input_ids"]
    tokens = tok.convert_ids_to_tokens(ids)
    try:
        split = tok.convert_ids_to_tokens(tok(text, split_special_tokens=True)["input_ids"])
    except TypeError:
        split = None
    return {
        "tokens": tokens,
        "cls_count": sum(i == tok.cls_token_id for i in ids),
        "split_tokens": split,
        "split_cls_count": None if split is None else sum(t == tok.cls_token for t in split),
    }


def special_tokens_off(lm: LoadedModel, text: str) -> dict[str, Any]:
    """Compare ``add_special_tokens=True`` (the default) with ``False``.

    Returns:
        dict with ``with_special`` and ``without_special`` token lists and ``position0`` of each.
    """
    tok = _tokenizer(lm)
    text = _check_text(text)
    on = tok.convert_ids_to_tokens(tok(text)["input_ids"])
    off = tok.convert_ids_to_tokens(tok(text, add_special_tokens=False)["input_ids"])
    return {"with_special": on, "without_special": off, "position0": (on[0], off[0] if off else None)}


def padding_trap(lm: LoadedModel, text: str, longer: str) -> dict[str, Any]:
    """Padding ids do nothing by themselves: the attention mask is what hides the padding.

    Encodes ``text`` three ways and compares its last-layer [CLS] vector with the unpadded one:
    padded in a batch with ``longer`` and masked (the normal way), and padded with [PAD] ids that the
    mask does NOT hide (mask 1 everywhere).

    Returns:
        dict with ``pad_count`` (pads added), ``masked_distance`` and ``unmasked_distance`` (L2 distance
        of the [CLS] output from the unpadded one), and the relative versions (divided by its norm).
    """
    tok = _tokenizer(lm)
    alone = encode(lm, [text], attentions=False, hidden_states=False)
    batch = encode(lm, [text, longer], attentions=False, hidden_states=False)
    n_text = int(alone.lengths[0])
    width = int(batch.input_ids.shape[1])
    if width <= n_text:
        raise ValueError("`longer` must tokenize to more tokens than `text`, so that `text` gets padded.")
    ids = alone.input_ids[0, :n_text].tolist() + [tok.pad_token_id] * (width - n_text)
    unmasked = encode_ids(lm, [ids], attentions=False, hidden_states=False)
    ref = alone.cls()[0]
    norm = float(ref.norm())
    masked = float((batch.cls()[0] - ref).norm())
    bad = float((unmasked.cls()[0] - ref).norm())
    return {
        "pad_count": width - n_text,
        "batch_tokens": batch.tokens[0] + [tok.pad_token] * (width - n_text),
        "masked_distance": masked,
        "unmasked_distance": bad,
        "masked_relative": masked / norm,
        "unmasked_relative": bad / norm,
    }


# ----------------------------------------------------------------------------- the live view and the count bounds


def wordpiece_view(lm: LoadedModel, text: str, pair: str = "", add_special_tokens: bool = True) -> dict[str, Any]:
    """What the live WordPiece view shows for one state of its text boxes.

    Returns:
        dict with ``rows`` (:func:`token_rows` output; empty for a blank text), ``summary``
        (:func:`summarize_rows`; None for a blank text) and ``normalized`` (the normalised text).
    """
    text = _check_text(text)
    pair = _check_text(pair or "", "pair")
    if not text.strip():
        return {"rows": [], "summary": None, "normalized": ""}
    rows = token_rows(lm, text, pair if pair.strip() else None, add_special_tokens=add_special_tokens)
    return {"rows": rows, "summary": summarize_rows(rows), "normalized": normalized(lm, text)}


_PRE_TOKEN = re.compile(r"\w+|[^\w\s]")


def pre_tokens(lm: LoadedModel, text: str) -> list[str]:
    """The words and punctuation marks WordPiece starts from (the tokenizer's pre-tokenizer, after normalising)."""
    tok = _tokenizer(lm)
    text = _check_text(text)
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is not None and backend.pre_tokenizer is not None:
        return [w for w, _ in backend.pre_tokenizer.pre_tokenize_str(normalized(lm, text))]
    return _PRE_TOKEN.findall(normalized(lm, text))


def token_count_bounds(lm: LoadedModel, text: str) -> dict[str, int]:
    """The fewest and the most tokens ``text`` can become with any WordPiece vocabulary, [CLS] and [SEP] included.

    Returns:
        dict with ``fewest`` (every word and punctuation mark one piece), ``most`` (every character its own piece)
        and ``specials`` (the tokens the tokenizer adds around one sentence).
    """
    tok = _tokenizer(lm)
    marks = pre_tokens(lm, text)
    specials = len(tok("", add_special_tokens=True)["input_ids"])
    return {"fewest": len(marks) + specials, "most": sum(len(m) for m in marks) + specials, "specials": specials}


