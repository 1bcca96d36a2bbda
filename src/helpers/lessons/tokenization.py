"""Notebook 01 · Tokenization: WordPiece tables, special tokens, padding, truncation, traps and checks.

Every function takes a LoadedModel (or reads ``lm.tokenizer``) and returns plain data (lists of dicts,
dicts); the ``*_html`` functions render that data, and the ``build_*_explorer`` functions wire it to
widgets as :class:`~helpers.ui.explorer.Explorer` instances.
"""

from __future__ import annotations

import html
from typing import Any, Sequence

import torch

from ..core.checks import CheckResult, unanswered
from ..core.cube import encode, encode_ids
from ..core.models import LoadedModel
from ..ui.explorer import Explorer

#: The special tokens a BERT tokenizer knows, in the order the lesson shows them, with their job.
SPECIAL_ROLES: dict[str, str] = {
    "cls_token": "added at position 0 of every input; its output is the one a classifier usually reads",
    "sep_token": "added after each sentence: once for one sentence, twice for a pair",
    "pad_token": "fills short rows of a batch up to the longest row; the attention mask hides it",
    "mask_token": "replaces words during masked-language-model pretraining (never added by the tokenizer)",
    "unk_token": "stands for a character or word the vocabulary cannot spell",
}

#: Colours for the display kinds of :func:`display_kind` in the HTML tables.
KIND_COLOURS = {"special": "#dbe9f6", "piece": "#fdebd0", "unk": "#f5b7b1", "pad": "#eeeeee", "word": "#ffffff"}


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


# ----------------------------------------------------------------------------- rendering


def _cell(text: Any, colour: str = "#ffffff", bold: bool = False) -> str:
    weight = "font-weight:bold;" if bold else ""
    return (
        f'<td style="background:{colour};{weight}padding:2px 6px;border:1px solid #ccc;'
        f'font-family:monospace;text-align:center">{html.escape(str(text))}</td>'
    )


def tokens_html(rows: Sequence[dict[str, Any]], caption: str = "") -> str:
    """An HTML table of :func:`token_rows` output: one column per position, one row per field."""
    if not rows:
        return f"<p><i>{html.escape(caption or 'no tokens')}</i></p>"
    lines = ['<table style="border-collapse:collapse">']
    if caption:
        lines.append(f'<caption style="text-align:left">{html.escape(caption)}</caption>')
    fields = [("position", "position"), ("token", "token"), ("id", "input_ids"),
              ("token_type_id", "token_type_ids"), ("attention_mask", "attention_mask")]
    for key, label in fields:
        cells = "".join(_cell(r[key], KIND_COLOURS[r["kind"]], bold=key == "token") for r in rows)
        lines.append(f'<tr><th style="text-align:right;padding-right:6px">{label}</th>{cells}</tr>')
    lines.append("</table>")
    legend = " ".join(
        f'<span style="background:{c};border:1px solid #ccc;padding:0 4px">{k}</span>' for k, c in KIND_COLOURS.items()
    )
    lines.append(f'<div style="font-size:85%">colours: {legend} (piece = a "##" continuation)</div>')
    return "\n".join(lines)


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


def wordpiece_view_html(view: dict[str, Any]) -> str:
    """Render :func:`wordpiece_view` output: normalised text, counts and the token table."""
    if view["summary"] is None:
        return "<p><i>Type a sentence in the box.</i></p>"
    s = view["summary"]
    info = (
        f"<p>normalised: <code>{html.escape(view['normalized'])}</code><br>"
        f"{s['tokens']} tokens from {s['words']} words: {s['pieces']} '##' piece(s), "
        f"{s['unknown']} [UNK], {s['special']} special</p>"
    )
    return info + tokens_html(view["rows"])


def wordpiece_html(lm: LoadedModel, text: str, pair: str = "", add_special_tokens: bool = True) -> str:
    """The live WordPiece view for one text box state: normalised text, counts and the token table."""
    return wordpiece_view_html(wordpiece_view(lm, text, pair, add_special_tokens))


def batch_html(batch: dict[str, Any]) -> str:
    """An HTML grid of a padded batch: tokens, ids and attention mask per row."""
    tok_rows = batch["tokens"]
    lines = ['<table style="border-collapse:collapse">']
    for b, tokens in enumerate(tok_rows):
        for label, values in (("token", tokens), ("input_ids", batch["input_ids"][b]),
                              ("attention_mask", batch["attention_mask"][b])):
            cells = "".join(
                _cell(v, KIND_COLOURS["pad"] if m == 0 else "#ffffff", bold=label == "token")
                for v, m in zip(values, batch["attention_mask"][b])
            )
            lines.append(f'<tr><th style="text-align:right;padding-right:6px">row {b} {label}</th>{cells}</tr>')
        lines.append('<tr><td style="height:6px"></td></tr>')
    lines.append("</table>")
    return "\n".join(lines)


def truncation_html(view: dict[str, Any]) -> str:
    """Kept tokens, then the cut ones struck through, and whether the row still ends with [SEP]."""
    kept = " ".join(f"<code>{html.escape(t)}</code>" for t in view["kept"])
    cut = " ".join(f'<code style="color:#b03a2e"><s>{html.escape(t)}</s></code>' for t in view["cut"]) or "<i>nothing</i>"
    return (
        f"<p>max_length = {view['max_length']} (the full input has {view['full_length']} tokens)</p>"
        f"<p><b>kept</b> ({len(view['kept'])}): {kept}</p>"
        f"<p><b>cut</b> ({len(view['cut'])}): {cut}</p>"
        f"<p>last token: <code>{html.escape(view['last_token'])}</code>"
        f" ({'still [SEP]' if view['ends_with_sep'] else 'not [SEP]'})</p>"
    )


# ----------------------------------------------------------------------------- widgets


def build_wordpiece_explorer(lm: LoadedModel, text: str = "The unbelievably long film was très boring!",
                             pair: str = "") -> Explorer:
    """A text box (and an optional second sentence) that re-tokenizes as you type.

    Returns:
        Explorer with controls ``text``, ``pair`` (Text) and ``add_special_tokens`` (Checkbox), view
        ``table`` (HTML); its state holds :func:`wordpiece_view`'s ``rows``, ``summary`` and ``normalized``.
    """
    import ipywidgets as W

    controls = {
        "text": W.Text(value=text, description="sentence", continuous_update=True, layout=W.Layout(width="95%")),
        "pair": W.Text(value=pair, description="pair (opt.)", placeholder="a second sentence (segment 1)",
                       continuous_update=True, layout=W.Layout(width="95%")),
        "add_special_tokens": W.Checkbox(value=True, description="add_special_tokens"),
    }

    def update(values: dict, views: dict) -> dict:
        view = wordpiece_view(lm, values["text"], values["pair"], values["add_special_tokens"])
        views["table"].value = wordpiece_view_html(view)
        return view

    return Explorer(controls, {"table": W.HTML()}, update)


def build_truncation_explorer(lm: LoadedModel, text: str, pair: str | None = None,
                              start: int | None = None) -> Explorer:
    """A max_length slider that shows what the cut keeps, what it drops and where [SEP] ends up.

    Returns:
        Explorer with control ``max_length`` (IntSlider) and view ``cut`` (HTML); its state holds
        :func:`truncation_view`'s output (``kept``, ``cut``, ``full_length``, ``last_token``, ``ends_with_sep``).
    """
    import ipywidgets as W

    full = len(token_rows(lm, text, pair))
    floor = 3 if pair is None else 4
    slider = W.IntSlider(value=start or max(floor, full // 2), min=floor, max=max(full, floor),
                         description="max_length", continuous_update=True)

    def update(values: dict, views: dict) -> dict:
        view = truncation_view(lm, text, values["max_length"], pair)
        views["cut"].value = truncation_html(view)
        return view

    return Explorer({"max_length": slider}, {"cut": W.HTML()}, update)


# ----------------------------------------------------------------------------- checks for the "Try it" cells


def check_token_count(lm: LoadedModel, text: str, answer: Any) -> CheckResult:
    """Is ``answer`` the number of tokens ``text`` becomes, [CLS] and [SEP] included?"""
    if unanswered(answer):
        return CheckResult(None, "Not answered yet: replace ... with your prediction (an integer) and run both cells.")
    if isinstance(answer, bool) or not isinstance(answer, int):
        return CheckResult(False, f"Give a whole number of tokens, not {answer!r}.")
    rows = token_rows(lm, text)
    truth = len(rows)
    tokens = " ".join(r["token"] for r in rows)
    if answer == truth:
        return CheckResult(True, f"Right: {truth} tokens: {tokens}")
    hint = ""
    if answer == truth - 2:
        hint = " You counted the word pieces but forgot [CLS] and [SEP]."
    elif answer < truth:
        hint = " Some words split into several '##' pieces."
    return CheckResult(False, f"Not quite: you said {answer}, the tokenizer gives {truth}: {tokens}.{hint}")


def _as_int_list(value: Any, what: str) -> list[int] | str:
    if isinstance(value, torch.Tensor):
        value = value.flatten().tolist()
    try:
        return [int(x) for x in value]
    except (TypeError, ValueError):
        return f"{what} must be a list of integers, got {type(value).__name__}."


def check_pair_encoding(lm: LoadedModel, first: str, second: str, input_ids: Any, token_type_ids: Any) -> CheckResult:
    """Do the hand-built ``input_ids`` and ``token_type_ids`` match the tokenizer's pair encoding?"""
    if unanswered(input_ids) or unanswered(token_type_ids):
        return CheckResult(None, "Not answered yet: build my_input_ids and my_token_type_ids, then run this cell.")
    rows = token_rows(lm, first, second)
    ids_truth = [r["id"] for r in rows]
    types_truth = [r["token_type_id"] for r in rows]
    ids = _as_int_list(input_ids, "input_ids")
    types = _as_int_list(token_type_ids, "token_type_ids")
    for got in (ids, types):
        if isinstance(got, str):
            return CheckResult(False, got)
    tok = _tokenizer(lm)
    problems = []
    if ids != ids_truth:
        where = next((i for i, (a, b) in enumerate(zip(ids, ids_truth)) if a != b), min(len(ids), len(ids_truth)))
        problems.append(
            f"input_ids differ first at position {where} (you have {len(ids)} ids, the tokenizer {len(ids_truth)}); "
            f"expected tokens: {' '.join(tok.convert_ids_to_tokens(ids_truth))}"
        )
        if ids.count(tok.sep_token_id) != ids_truth.count(tok.sep_token_id):
            problems.append(f"a pair has {ids_truth.count(tok.sep_token_id)} [SEP] tokens")
    if types != types_truth:
        problems.append(
            f"token_type_ids should be {types_truth}: 0 for [CLS], the first sentence and its [SEP]; "
            "1 for the second sentence and the final [SEP]"
        )
    if problems:
        return CheckResult(False, "Not yet: " + "; ".join(problems) + ".")
    return CheckResult(True, f"Right: your {len(ids)} ids and segment ids match tokenizer(first, second) exactly.")


def check_padding_answer(answer: Any) -> CheckResult:
    """Which field tells the model to ignore padding: "input_ids" or "attention_mask"?"""
    if unanswered(answer):
        return CheckResult(None, "Not answered yet: set answer to 'input_ids' or 'attention_mask'.")
    text = str(answer).strip().strip("'\"").lower()
    if text == "attention_mask":
        return CheckResult(True, "Right: the [PAD] id is an ordinary embedding; only the attention mask keeps "
                                 "real tokens from attending to it.")
    if text in ("input_ids", "pad", "[pad]", "pad_token_id"):
        return CheckResult(False, "Not quite: the [PAD] id alone changes the output (see the unmasked distance "
                                  "above); the attention mask is what hides padding.")
    return CheckResult(False, f"{answer!r} is not one of 'input_ids' or 'attention_mask'.")
