"""Tests for helpers.tokens (notebook 01): the facts the lesson teaches, the widgets and the checks."""

from __future__ import annotations

import pytest

from helpers import tokens


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
    box = tokens.build_wordpiece_explorer(tiny, text="hello world")
    text, pair, special, view = box.children
    before = view.value
    assert "hello" in before and "[CLS]" in before
    text.value = "the film was bad"
    assert view.value != before and "film" in view.value
    special.value = False
    assert "[CLS]" not in view.value
    pair.value = "ok"
    assert "ok" in view.value
    text.value = ""
    assert "Type a sentence" in view.value


def test_truncation_explorer_slider(tiny):
    box = tokens.build_truncation_explorer(tiny, "the film was long and the acting was bad")
    slider, view = box.children
    slider.value = 4
    short = view.value
    slider.value = slider.max
    assert view.value != short and "nothing" in view.value and "still [SEP]" in short


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
