"""Tests for helpers.lessons.tokenization (notebook 01): the facts the lesson teaches, the explorers and the checks."""

from __future__ import annotations

import pytest

from helpers.core import token_kinds
from helpers.lessons import tokenization as tokens
from helpers.ui.explorer import Explorer


def test_special_tokens_have_this_vocabularys_ids(any_model):
    tok = any_model.tokenizer
    table = {r["token"]: r["id"] for r in tokens.special_tokens(any_model)}
    assert set(table) == {"[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"}
    for token, i in table.items():
        assert tok.convert_ids_to_tokens(i) == token
    assert len(set(table.values())) == 5


def test_embedded_vocabulary_ids(embedded):
    # the embedded model uses bert-base-uncased's vocabulary
    table = {r["token"]: r["id"] for r in tokens.special_tokens(embedded)}
    assert table == {"[CLS]": 101, "[SEP]": 102, "[PAD]": 0, "[MASK]": 103, "[UNK]": 100}


def test_token_rows_single_and_pair(any_model):
    rows = tokens.token_rows(any_model, "the film was good", "it was long")
    tok = any_model.tokenizer
    assert rows[0]["id"] == tok.cls_token_id and rows[0]["token_type_id"] == 0
    seps = [r["position"] for r in rows if r["id"] == tok.sep_token_id]
    assert len(seps) == 2 and seps[-1] == len(rows) - 1
    assert all(r["token_type_id"] == 0 for r in rows[: seps[0] + 1])
    assert all(r["token_type_id"] == 1 for r in rows[seps[0] + 1 :])
    assert all(r["attention_mask"] == 1 for r in rows)
    assert [r["id"] for r in rows] == tok("the film was good", "it was long")["input_ids"]


def test_pieces_unknown_and_case_folding(embedded):
    rows = tokens.token_rows(embedded, "Unbelievably ⛄")
    kinds = [r["kind"] for r in rows]
    assert kinds[0] == "special" and kinds[-1] == "special"
    assert "piece" in kinds and "unk" in kinds
    assert all(r["token"].startswith("##") for r in rows if r["kind"] == "piece")
    summary = tokens.summarize_rows(rows)
    assert summary["unknown"] == 1 and summary["pieces"] >= 1 and summary["tokens"] == len(rows)
    assert tokens.normalized(embedded, "Très BIEN") == "tres bien"


def test_no_special_tokens(any_model):
    rows = tokens.token_rows(any_model, "the film", add_special_tokens=False)
    assert all(r["kind"] != "special" for r in rows)
    off = tokens.special_tokens_off(any_model, "the film")
    assert off["with_special"][1:-1] == off["without_special"]
    assert off["position0"] == ("[CLS]", off["without_special"][0])


def test_batch_padding_and_mask(any_model):
    batch = tokens.batch_encoding(any_model, ["ok", "the film was very long"])
    short_ids, short_mask = batch["input_ids"][0], batch["attention_mask"][0]
    assert len(short_ids) == len(batch["input_ids"][1])
    pads = [i for i, x in enumerate(short_ids) if x == batch["pad_id"]]
    assert pads and all(short_mask[i] == 0 for i in pads)
    assert sum(short_mask) == len(short_ids) - len(pads)
    assert batch["tokens"][0][0] == "[CLS]"
    padded = tokens.batch_encoding(any_model, ["ok"], pad_to=10)
    assert len(padded["input_ids"][0]) == 10
    with pytest.raises(ValueError):
        tokens.batch_encoding(any_model, [])


def test_truncation_keeps_sep(any_model):
    text = "the film was long and the acting was bad and the music was loud"
    full = len(tokens.token_rows(any_model, text))
    view = tokens.truncation_view(any_model, text, 6)
    assert len(view["kept"]) == 6 and view["ends_with_sep"] and view["kept"][0] == "[CLS]"
    assert len(view["cut"]) == full - 6 and view["full_length"] == full
    pair = tokens.truncation_view(any_model, text, 9, pair="i left")
    assert pair["kept"].count("[SEP]") == 2 and len(pair["kept"]) == 9
    with pytest.raises(ValueError):
        tokens.truncation_view(any_model, text, 2)


def test_typed_cls_is_a_real_cls(any_model):
    trap = tokens.typed_cls_trap(any_model, "[CLS] the film")
    assert trap["cls_count"] == 2
    if trap["split_tokens"] is not None:
        assert trap["split_cls_count"] == 1


def test_padding_needs_the_mask(any_model):
    out = tokens.padding_trap(any_model, "good film", "the film was very long and the ending was bad")
    assert out["pad_count"] > 0
    assert out["masked_relative"] < 1e-4
    assert out["unmasked_relative"] > 100 * max(out["masked_relative"], 1e-7)
    with pytest.raises(ValueError):
        tokens.padding_trap(any_model, "the film was very long", "ok")


def test_wordpiece_explorer_follows_the_text_box(tiny):
    ex = tokens.build_wordpiece_explorer(tiny, text="hello world")
    assert isinstance(ex, Explorer)
    assert set(ex.controls) == {"text", "pair", "add_special_tokens"} and set(ex.views) == {"table"}
    view = ex.views["table"]
    before = view.value
    assert "hello" in before and "[CLS]" in before
    assert ex.state["rows"][0]["token"] == "[CLS]" and ex.state["summary"]["tokens"] == len(ex.state["rows"])
    state = ex.set(text="the film was bad")
    assert view.value != before and "film" in view.value
    assert "film" in [r["token"] for r in state["rows"]] and "error" not in state
    ex.set(add_special_tokens=False)
    assert "[CLS]" not in view.value and all(r["kind"] != "special" for r in ex.state["rows"])
    ex.set(pair="ok")
    assert "ok" in view.value and {r["token_type_id"] for r in ex.state["rows"]} == {0, 1}
    ex.set(text="")
    assert "Type a sentence" in view.value and ex.state["rows"] == []


def test_wordpiece_explorer_shows_errors_in_the_widget(tiny, monkeypatch):
    ex = tokens.build_wordpiece_explorer(tiny, text="hello world")

    def broken(*args, **kwargs):
        raise ValueError("this tokenizer cannot read that")

    monkeypatch.setattr(tokens.facts, "token_rows", broken)  # where the explorer's view looks it up
    state = ex.set(text="the film")  # does not raise
    assert "cannot read that" in state["error"] and "cannot read that" in ex.status.value
    monkeypatch.undo()
    state = ex.set(text="the film was bad")
    assert "error" not in state and ex.status.value == ""


def test_truncation_explorer_slider(tiny):
    ex = tokens.build_truncation_explorer(tiny, "the film was long and the acting was bad")
    assert isinstance(ex, Explorer) and set(ex.controls) == {"max_length"} and set(ex.views) == {"cut"}
    slider, view = ex.controls["max_length"], ex.views["cut"]
    state = ex.set(max_length=4)
    short = view.value
    assert len(state["kept"]) == 4 and state["ends_with_sep"]
    state = ex.set(max_length=slider.max)
    assert view.value != short and "nothing" in view.value and "still [SEP]" in short
    assert state["cut"] == [] and len(state["kept"]) == state["full_length"]


def test_truncation_explorer_shows_an_out_of_range_length(tiny):
    ex = tokens.build_truncation_explorer(tiny, "the film was long and the acting was bad")
    ex.controls["max_length"].min = 1
    state = ex.set(max_length=2)  # too short for [CLS] + one word + [SEP]: shown, not raised
    assert "at least 3" in state["error"] and "at least 3" in ex.status.value
    assert "error" not in ex.set(max_length=5)


def test_display_kind_differs_from_the_core_token_kinds(embedded):
    rows = tokens.token_rows(embedded, "Unbelievably ⛄!")
    shown = [r["kind"] for r in rows]
    core = list(token_kinds.token_kinds([r["token"] for r in rows]))
    assert shown[0] == "special" and core[0] == "cls"
    unk = shown.index("unk")
    assert core[unk] == "word"  # [UNK] is a word to the attention statistics, flagged red in the table
    assert shown[-2] == "word" and core[-2] == "punct"  # the table does not single out punctuation
    assert not hasattr(tokens, "token_kind")


def test_html_renderers_escape(tiny):
    page = tokens.tokens_html(tokens.token_rows(tiny, "<b>"))
    assert "&lt;" in page and ">&lt;<" in page


def test_bad_input_raises(tiny):
    with pytest.raises(ValueError):
        tokens.token_rows(tiny, 42)
    with pytest.raises(ValueError):
        tokens.token_rows(tiny, "ok", max_length=0)
    with pytest.raises(ValueError):
        tokens.special_tokens(object())


# ----------------------------------------------------------------------------- checks


def test_check_token_count(any_model):
    text = "the film was good"
    truth = len(any_model.tokenizer(text)["input_ids"])
    assert tokens.check_token_count(any_model, text, truth).ok is True
    wrong = tokens.check_token_count(any_model, text, truth - 2)
    assert wrong.ok is False and "[CLS]" in wrong.message
    assert tokens.check_token_count(any_model, text, ...).ok is None
    assert tokens.check_token_count(any_model, text, None).ok is None
    assert tokens.check_token_count(any_model, text, "five").ok is False


def test_check_pair_encoding(any_model):
    tok = any_model.tokenizer
    enc = tok("the film", "was good")
    right = tokens.check_pair_encoding(any_model, "the film", "was good", enc["input_ids"], enc["token_type_ids"])
    assert right.ok is True and bool(right)
    bad_types = [0] * len(enc["input_ids"])
    assert tokens.check_pair_encoding(any_model, "the film", "was good", enc["input_ids"], bad_types).ok is False
    one_sep = [i for i in enc["input_ids"] if i != tok.sep_token_id]
    wrong = tokens.check_pair_encoding(any_model, "the film", "was good", one_sep, bad_types[: len(one_sep)])
    assert wrong.ok is False and "[SEP]" in wrong.message
    assert tokens.check_pair_encoding(any_model, "a", "b", None, None).ok is None
    assert tokens.check_pair_encoding(any_model, "a", "b", "nope", [0]).ok is False


def test_check_padding_answer():
    assert tokens.check_padding_answer("attention_mask").ok is True
    assert tokens.check_padding_answer("input_ids").ok is False
    assert tokens.check_padding_answer("banana").ok is False
    assert tokens.check_padding_answer(...).ok is None
    assert repr(tokens.check_padding_answer("attention_mask")).startswith("Right")


# ----------------------------------------------------------------------------- issue 11: [UNK] takes the whole word,
# the token-count range, the "With this model we found" sentence


def test_one_unknown_character_turns_the_whole_word_into_unk(embedded):
    demo = tokens.unknown_word_demo(embedded, "snow⛄man", "⛄")
    (word, pieces), (without, rest), (char, alone) = demo["rows"]
    assert pieces == ["[UNK]"] and demo["whole_word"] is True  # the WHOLE word, not one character
    assert rest == ["snow", "##man"] and alone == ["[UNK]"]
    text = tokens.describe_unknown_word(demo)
    assert text.startswith("With this model we found:") and "WHOLE word" in text and "'snowman'" in text
    assert tokens.token_rows(embedded, "snow⛄man")[1]["kind"] == "unk"
    assert "whole word" in tokens.SPECIAL_ROLES["unk_token"]
    with pytest.raises(ValueError, match="must occur"):
        tokens.unknown_word_demo(embedded, "snowman", "⛄")


def test_unknown_word_on_the_tiny_vocabulary(tiny):
    demo = tokens.unknown_word_demo(tiny)
    assert demo["whole_word"] is True and demo["rows"][1][1][0] == "s"  # the tiny vocabulary spells letters


def test_describe_unknown_word_follows_the_pieces():
    spelled = {"rows": [("naïve", ["naive"]), ("nave", ["nave"]), ("ï", ["i"])], "whole_word": False,
               "char_unknown": False, "unk_token": "[UNK]"}
    assert "can spell 'ï'" in tokens.describe_unknown_word(spelled)
    lost = {"rows": [("snow⛄man", ["[UNK]"]), ("snowman", ["snowman"]), ("⛄", ["[UNK]"])], "whole_word": True,
            "char_unknown": True, "unk_token": "[UNK]"}
    assert "WHOLE word" in tokens.describe_unknown_word(lost)


def test_describe_wordpieces_follows_the_numbers():
    big = tokens.describe_wordpieces({"film": ["film"], "unbelievably": ["un", "##bel", "##ie", "##va", "##bly"],
                                      "⛄": ["[UNK]"], "snow⛄man": ["[UNK]"]}, lower_cases=True, strips_accents=True)
    assert big.startswith("With this model we found:") and "'film' stays one piece" in big
    assert "'unbelievably' (5 pieces) splits" in big and "'⛄', 'snow⛄man' become a single [UNK] each" in big
    assert "lower-cases and strips accents" in big
    tiny = tokens.describe_wordpieces({"film": ["f", "##i", "##l", "##m"], "BERT": ["B", "##E", "##R", "##T"]},
                                      lower_cases=False)
    assert "one piece" not in tiny and "'film' (4 pieces), 'BERT' (4 pieces) split" in tiny
    assert "no word becomes [UNK]" in tiny and "keeps upper case" in tiny


def test_split_words_and_normaliser_facts(embedded, tiny):
    assert tokens.split_words(embedded, ["film", "2026"]) == {"film": ["film"], "2026": ["202", "##6"]}
    assert tokens.normaliser_facts(embedded) == {"lower_cases": True, "strips_accents": True}
    assert tokens.normaliser_facts(tiny)["lower_cases"] is True
    with pytest.raises(ValueError, match="list of words"):
        tokens.split_words(embedded, "film")


def test_token_count_bounds(any_model):
    text = "Unbelievably, the screenplay wasn't terrible."
    bounds = tokens.token_count_bounds(any_model, text)
    assert tokens.pre_tokens(any_model, text)[:2] == ["unbelievably", ","]
    assert bounds["fewest"] == 9 + 2 and bounds["most"] == 41 + 2 and bounds["specials"] == 2
    truth = len(tokens.token_rows(any_model, text))
    assert bounds["fewest"] <= truth <= bounds["most"]


def test_check_token_range(any_model):
    text = "Unbelievably, the screenplay wasn't terrible."
    truth = len(tokens.token_rows(any_model, text))
    w = tokens.COUNT_RANGE_WIDTH
    right = tokens.check_token_range(any_model, text, (truth - 2, truth - 2 + w))
    assert right.ok is True and "fewest it could be is 11" in right.message
    assert tokens.check_token_range(any_model, text, [truth, truth]).ok is True
    assert tokens.check_token_range(any_model, text, (0, 1000)).ok is False  # too wide to be a prediction
    low = tokens.check_token_range(any_model, text, (6, 8))  # counted words, forgot punctuation and [CLS]/[SEP]
    assert low.ok is False and "Even if every word stayed whole" in low.message
    assert tokens.check_token_range(any_model, text, (truth + 1, truth + 3)).ok is False
    assert tokens.check_token_range(any_model, text, (truth + 3, truth - 3)).ok is False
    assert tokens.check_token_range(any_model, text, ...).ok is None
    assert tokens.check_token_range(any_model, text, (..., ...)).ok is None
    assert tokens.check_token_range(any_model, text, "12-18").ok is False
    assert tokens.check_token_range(any_model, text, (True, 9)).ok is False


def test_the_token_range_solution_reasons_for_both_vocabularies(embedded, tiny):
    # the notebook's solution: the floor for a large vocabulary, the ceiling for a tiny one
    import re

    text = "Unbelievably, the screenplay wasn't terrible."
    marks = re.findall(r"\w+|[^\w\s]", text)
    fewest, most, w = len(marks) + 2, sum(len(m) for m in marks) + 2, tokens.COUNT_RANGE_WIDTH
    for lm in (embedded, tiny):
        answer = (fewest, fewest + w) if len(lm.tokenizer) > 10_000 else (most - w, most)
        assert tokens.check_token_range(lm, text, answer).ok is True, lm.name
