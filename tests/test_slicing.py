"""Notebook 05: the cube slice-spec parser, slices, the cube explorer and its figures; the pooler and new-head demos."""

import numpy as np
import pytest

from helpers.lessons import slicing_the_output_cube as S
from helpers.ui.explorer import Explorer

CUBE = np.arange(4 * 5 * 6, dtype=float).reshape(4, 5, 6)


@pytest.mark.parametrize(
    "spec, shape, kept",
    [
        ("[:, 0, :]", (4, 6), ("sentences", "hidden")),
        ("[i, :, :]", (5, 6), ("tokens", "hidden")),
        ("[:, :, k]", (4, 5), ("sentences", "tokens")),
        ("[i, t, :]", (6,), ("hidden",)),
        ("[i, t, k]", (), ()),
        ("[1:3, -1, :]", (2, 6), ("sentences", "hidden")),
        ("[2]", (5, 6), ("tokens", "hidden")),
    ],
)
def test_shapes_match_numpy(spec, shape, kept):
    res = S.take_slice(CUBE, spec, {"i": 2, "t": 3, "k": 4})
    assert res.shape == shape and res.kept_axes == kept
    expected = eval("CUBE" + spec.replace("i", "2").replace("t", "3").replace("k", "4"))  # noqa: S307
    np.testing.assert_array_equal(res.values, expected)


def test_code_and_resolved_code():
    res = S.take_slice(CUBE, "[i, :, k]", {"i": 1, "k": 5})
    assert res.code == "last_hidden[i, :, k]"
    assert res.resolved_code == "last_hidden[1, :, 5]"
    assert res.box == ((1, 2), (0, 5), (5, 6))


@pytest.mark.parametrize(
    "spec, message",
    [
        (":, 0, :", "square brackets"),
        ("[]", "empty"),
        ("[:, 0, :, 1]", "3 axes"),
        ("[:, , :]", "is empty"),
        ("[:, x, :]", "not understood"),
        ("[::2, 0, :]", "steps"),
        ("[a:b, 0, :]", "whole numbers"),
    ],
)
def test_bad_specs_raise_clear_errors(spec, message):
    with pytest.raises(ValueError, match=message):
        S.parse_slice_spec(spec)


def test_out_of_range_and_missing_names():
    with pytest.raises(ValueError, match="out of range for the tokens axis"):
        S.take_slice(CUBE, "[:, 5, :]")
    with pytest.raises(ValueError, match="no value was given"):
        S.take_slice(CUBE, "[i, :, :]")
    with pytest.raises(ValueError, match="3-D"):
        S.take_slice(CUBE[0], "[:, 0, :]")
    with pytest.raises(ValueError, match="selects nothing"):
        S.take_slice(CUBE, "[3:1, 0, :]")


def test_heatmap_data_labels_tokens():
    tokens = [["[CLS]", "a", "b", "[SEP]"]] * 4
    res = S.take_slice(CUBE[:, :4], "[i, :, :]", {"i": 0})
    data = S.heatmap_data(res, tokens)
    assert data["grid"].shape == (4, 6) and data["row_labels"] == tokens[0]
    scalar = S.heatmap_data(S.take_slice(CUBE, "[0, 0, 0]"))
    assert scalar["grid"].shape == (1, 1)


def test_explorer_reacts_to_controls():
    box = S.build_cube_explorer(CUBE)
    assert isinstance(box, Explorer)
    first = box.state["result"]
    assert first.shape == (4, 6)
    box.set(spec="[i, :, :]")
    assert box.state["result"].shape == (5, 6)
    box.set(i=3)
    assert box.state["result"].resolved_code == "last_hidden[3, :, :]" == box.state["code"]
    np.testing.assert_array_equal(box.state["result"].values, CUBE[3])


def test_every_slider_changes_what_the_explorer_shows():
    # a reader moving i, t or k always sees something change, even when the spec does not use that index
    box = S.build_cube_explorer(CUBE, spec="[:, 0, :]")
    for name, value in (("i", 2), ("t", 3), ("k", 4)):
        before = box.views["info"].value
        box.set(**{name: value})
        assert box.views["info"].value != before, f"moving {name} changed nothing"
    assert f"last_hidden[2, 3, 4] = <b>{CUBE[2, 3, 4]:.3f}</b>" in box.views["info"].value
    assert "does not use i, t, k" in box.views["info"].value


def test_explorer_shows_a_bad_spec_instead_of_raising():
    box = S.build_cube_explorer(CUBE)
    box.set(spec="[:, 9, :]")  # out of range: shown in the widget, never raised
    assert "out of range" in box.state["error"] and "result" not in box.state
    assert "out of range" in box.status.value
    box.set(spec="[:, x, :]")  # free text that is not a spec
    assert "not understood" in box.state["error"]
    box.set(spec="[:, 0, :]")  # a good spec clears the error
    assert "error" not in box.state and box.status.value == "" and box.state["shape"] == (4, 6)
    with pytest.raises(ValueError, match="3-D"):
        S.build_cube_explorer(CUBE[0])


def test_check_shape_answer():
    for unanswered in (None, ...):
        res = S.check_shape_answer(unanswered, "[:, 0, :]", CUBE.shape)
        assert res.ok is None and str(res).startswith("Not answered")
    right = S.check_shape_answer((4, 6), "[:, 0, :]", CUBE.shape)
    assert right.ok is True and str(right).startswith("Right")
    wrong = S.check_shape_answer((4, 5), "[:, 0, :]", CUBE.shape)
    assert wrong.ok is False and str(wrong).startswith("Not quite") and "(4, 6)" in str(wrong)
    assert S.check_shape_answer("four by six", "[:, 0, :]", CUBE.shape).ok is False


# rows of 4, 3 and 2 real tokens, padded to 4: position -1 is [SEP] in row 0 but [PAD] in the others
TOKENS = [["[CLS]", "good", "film", "[SEP]"], ["[CLS]", "bad", "[SEP]"], ["[CLS]", "[SEP]"]]
SHAPE = (3, 4, 6)


@pytest.mark.parametrize("spec", ["[:, 0, :]", "[:, 0]", "[0:3, 0, :]", "[:, -4, :]"])
def test_check_cls_slice_right(spec):
    res = S.check_cls_slice(spec, TOKENS, SHAPE)
    assert res.ok is True and str(res).startswith("Right") and res.details["shape"] == (3, 6)


def test_check_cls_slice_wrong_and_unanswered():
    for unanswered in (None, ...):
        res = S.check_cls_slice(unanswered, TOKENS, SHAPE)
        assert res.ok is None and str(res).startswith("Not answered")
    last = S.check_cls_slice("[:, -1, :]", TOKENS, SHAPE)
    assert last.ok is False and "[PAD]" in str(last) and "[SEP]" in str(last)
    one_sentence = S.check_cls_slice("[0, :, :]", TOKENS, SHAPE)
    assert one_sentence.ok is False and "(4, 6)" in str(one_sentence) and "(3, 6)" in str(one_sentence)
    assert S.check_cls_slice("[:, 1, :]", TOKENS, SHAPE).ok is False
    assert S.check_cls_slice("[:, t, :]", TOKENS, SHAPE).ok is False  # slider names depend on the sliders
    assert S.check_cls_slice("[:, 9, :]", TOKENS, SHAPE).ok is False  # out of range: a verdict, not an error
    assert S.check_cls_slice("(:, 0, :)", TOKENS, SHAPE).ok is False
    assert S.check_cls_slice(0, TOKENS, SHAPE).ok is False


def test_cube_svg_highlights_the_slice_and_heatmap_png_is_an_image():
    res = S.take_slice(CUBE, "[:, 0, :]")
    svg = S.cube_svg(CUBE.shape, res.box)
    assert svg.startswith("<svg") and svg.count("<polygon") == 6 and "#d33" in svg
    assert S.cube_svg(CUBE.shape).count("<polygon") == 3
    png = S.heatmap_png(res.values)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_explorer_draws_each_change():
    box = S.build_cube_explorer(CUBE)
    before = (box.views["drawing"].value, box.views["heatmap"].value)
    box.set(spec="[:, :, k]", k=5)
    after = (box.views["drawing"].value, box.views["heatmap"].value)
    assert before[0] != after[0] and before[1] != after[1]
    assert "|max|" in box.views["caption"].value


def test_draw_slice_view_returns_a_figure_without_pyplot():
    import sys

    from matplotlib.figure import Figure

    fig = S.draw_slice_view(S.take_slice(CUBE, "[:, 0, :]"), CUBE.shape)
    assert isinstance(fig, Figure) and len(fig.axes) >= 2
    assert "matplotlib.pyplot" not in sys.modules or not fig.canvas.manager  # not registered with pyplot


# ----------------------------------------------------------------------------- the two live demos: the pooler, a new head


def test_pooler_output_is_tanh_dense_cls_and_not_cls(any_model):
    import torch

    lm = any_model
    batch = lm.tokenizer(["good film", "a long and boring plot, really"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        out = lm.encoder(**batch)
    cmp = S.pooler_vs_cls(lm, out.last_hidden_state, out.pooler_output)
    assert cmp.by_hand_error < 1e-5  # the pooler is exactly tanh(dense([CLS]))
    assert cmp.max_abs_diff > 1e-2 and cmp.cosine < 0.99  # and it is not the [CLS] vector
    assert cmp.pooler_norm > 0 and 0 <= cmp.saturated <= 1 and "tanh(dense([CLS]))" in str(cmp)
    with pytest.raises(ValueError, match="same batch"):
        S.pooler_vs_cls(lm, out.last_hidden_state[0], out.pooler_output)


def test_pooler_vs_cls_without_a_pooler(tiny):
    from transformers import BertModel

    from helpers.core.models import from_module

    bare = from_module(BertModel(tiny.model.config, add_pooling_layer=False), tiny.tokenizer, name="no pooler")
    with pytest.raises(ValueError, match="no pooler"):
        S.pooler_vs_cls(bare, np.zeros((1, 3, 16)), np.zeros((1, 16)))
    assert "no pooler" in S.pooler_sentence(None, "no pooler")


def test_pooler_sentence_two_outcomes():
    untrained = {"bias_abs_max": 0.0, "weight_std": 0.009, "init_std": 0.02, "untrained": True}
    trained = {"bias_abs_max": 0.31, "weight_std": 0.04, "init_std": 0.02, "untrained": False}
    text = S.pooler_sentence(untrained, "m")
    assert "exactly 0" in text and "smaller than a fresh draw" in text and "random projection" in text
    text = S.pooler_sentence(trained, "m")
    assert "was trained" in text and "pair-relation" in text and "random" not in text


def test_the_embedded_pooler_was_never_trained(embedded):
    from helpers.core.models import pooler_stats

    stats = pooler_stats(embedded)
    assert stats["bias_abs_max"] == 0.0 and stats["weight_std"] < stats["init_std"]
    assert stats["untrained"]


def test_a_new_head_on_a_pretraining_checkpoint(tiny_dir):
    import logging

    import torch

    logger = logging.getLogger("transformers")
    handlers, state = list(logger.handlers), torch.random.get_rng_state()
    new = S.load_with_new_head(tiny_dir, num_labels=2)
    assert set(logger.handlers) == set(handlers) and torch.equal(torch.random.get_rng_state(), state)  # put back
    assert new.architecture == "BertForSequenceClassification"
    assert new.missing == ["classifier.bias", "classifier.weight"]
    assert new.unexpected and all(k.startswith("cls.") for k in new.unexpected)  # the MLM and NSP heads
    assert "MISSING" in new.report and "classifier.weight" in new.report and "\x1b[" not in new.report
    again = S.load_with_new_head(tiny_dir, num_labels=2)
    assert torch.equal(new.lm.model.classifier.weight, again.lm.model.classifier.weight)  # drawn with the seed
    probs = S.head_probabilities(new, ["good film", "bad"])
    assert probs.shape == (2, 2) and np.allclose(probs.sum(1), 1.0)
    text = S.new_head_sentence(new, probs)
    assert "classifier.bias, classifier.weight" in text and "not used" in text
    with pytest.raises(ValueError, match="config.json"):
        S.load_with_new_head(tiny_dir + "/nowhere")
    with pytest.raises(ValueError, match="num_labels"):
        S.load_with_new_head(tiny_dir, num_labels=1)
    with pytest.raises(ValueError, match="empty"):
        S.head_probabilities(new, [])


def test_the_embedded_model_warns_about_its_new_head():
    from helpers.core.models import embedded_model_dir

    new = S.load_with_new_head(embedded_model_dir(), num_labels=2)
    assert "LOAD REPORT" in new.report and "newly initialized" in new.report
    assert "classifier.weight" in new.report and "MISSING" in new.report
    assert new.missing == ["classifier.bias", "classifier.weight"] and new.unexpected == []
    assert new.pooler["untrained"]  # the head reads a pooler that was never trained either
    text = S.new_head_sentence(new, S.head_probabilities(new, ["A gorgeous film.", "Dull."]))
    assert "never trained either" in text


def test_new_head_sentence_when_nothing_is_missing(tiny):
    new = S.NewHead(tiny, "", [], [], float("nan"), 0.02)
    assert S.new_head_sentence(new, np.zeros((0, 2))).startswith("Nothing was missing")
