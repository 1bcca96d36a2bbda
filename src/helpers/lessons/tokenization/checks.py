"""Notebook 01 · the Try-it checks. Each returns a CheckResult (✅ / ❌ / not answered) and never raises."""

from __future__ import annotations

from typing import Any

import torch

from ...core.checks import CheckResult, unanswered
from ...core.models import LoadedModel
from .facts import _tokenizer, token_count_bounds, token_rows

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


#: How wide a predicted token range may be and still count as a prediction. Without the vocabulary nobody knows
#: which rare words split or into how many pieces, but the fewest possible count (every word and punctuation
#: mark one piece, plus [CLS] and [SEP]) can be worked out by reasoning; a range this wide leaves room for a few
#: rare words to fall apart, and a wider one would be right whatever the tokenizer does.
COUNT_RANGE_WIDTH: int = 8

def check_token_range(lm: LoadedModel, text: str, answer: Any, width: int = COUNT_RANGE_WIDTH) -> CheckResult:
    """Is ``answer`` = (fewest, most) a range of at most ``width`` tokens that holds the count of ``text``'s tokens?"""
    if unanswered(answer) or (isinstance(answer, (tuple, list)) and any(unanswered(x) for x in answer)):
        return CheckResult(None, "Not answered yet: replace each ... with a whole number, (fewest, most), and run "
                                 "both cells.")
    try:
        low, high = answer
        if any(isinstance(x, bool) or not isinstance(x, int) for x in (low, high)):
            raise TypeError
    except (TypeError, ValueError):
        return CheckResult(False, f"Give a range as two whole numbers (fewest, most), not {answer!r}.")
    if low > high:
        return CheckResult(False, f"Give the fewest first: ({high}, {low}), not ({low}, {high}).")
    rows = token_rows(lm, text)
    truth = len(rows)
    bounds = token_count_bounds(lm, text)
    tok_text = " ".join(r["token"] for r in rows)
    by_word: dict[int, list[str]] = {}
    for r in rows:
        if r["word"] is not None:
            by_word.setdefault(r["word"], []).append(r["token"])
    split = [pieces for pieces in by_word.values() if len(pieces) > 1]
    detail = ", ".join(" ".join(p) for p in split) or "none"
    details = {"truth": truth, **bounds, "split_words": len(split)}
    floor = (f"the fewest it could be is {bounds['fewest']}: every word and punctuation mark one piece, plus "
             f"[CLS] and [SEP]")
    if high - low > width:
        return CheckResult(False, f"That range is {high - low} wide: any tokenizer lands inside a range that wide. "
                                  f"Narrow it to at most {width}: {floor}; then ask how big this vocabulary is.", details)
    if high < truth:
        hint = (f"Even if every word stayed whole, {floor}." if high < bounds["fewest"] else
                f"More pieces than you allowed: {floor}, and the words that split here are: {detail}.")
        return CheckResult(False, f"Not quite: the tokenizer gives {truth}, above your range ({low}, {high}). {hint}",
                           details)
    if low > truth:
        return CheckResult(False, f"Not quite: the tokenizer gives {truth}, below your range ({low}, {high}): fewer "
                                  f"words split than you expected ({detail}); {floor}.", details)
    return CheckResult(True, f"Right: {truth} tokens, inside ({low}, {high}). {floor[0].upper() + floor[1:]}; the "
                             f"other {truth - bounds['fewest']} come from the words that split: {detail}. "
                             f"All tokens: {tok_text}", details)


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
