"""encode() -> Cube and pooling: the facts the notebooks teach, on the tiny and the embedded model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import embed, encode, encode_ids
from helpers.core.cube import TruncationWarning, pool

TEXTS = [
    "a short one",
    "this film was a long and boring story, but the ending was great",
    "ok",
    "i never watched it again",
]


def test_cls_is_at_index_zero_of_every_row(any_model):
    cube = encode(any_model, TEXTS)
    cls_id = any_model.tokenizer.cls_token_id
    assert (cube.input_ids[:, 0] == cls_id).all()
    assert all(row[0] == "[CLS]" and row[-1] == "[SEP]" for row in cube.tokens)


def test_cls_equals_last_hidden_slice(any_model):
    cube = encode(any_model, TEXTS)
    assert torch.equal(cube.cls(), cube.last_hidden[:, 0, :])
    assert torch.equal(cube.cls(2), cube.hidden_states[2][:, 0, :])


def test_shapes(any_model):
    cube = encode(any_model, TEXTS)
    b, t = len(TEXTS), max(len(r) for r in cube.tokens)
    h, n_layers, heads = any_model.hidden_size, any_model.num_layers, any_model.num_heads
    assert cube.last_hidden.shape == (b, t, h)
    assert cube.hidden_states.shape == (n_layers + 1, b, t, h)
    assert cube.attentions.shape == (n_layers, b, heads, t, t)
    assert torch.equal(cube.hidden_states[-1], cube.last_hidden)
    assert cube.num_layers == n_layers
    assert cube.lengths.tolist() == [len(r) for r in cube.tokens]


def test_padding_changes_no_pooled_vector(any_model):
    alone = encode(any_model, ["ok"])
    padded = encode(any_model, [TEXTS[1], "ok"], sort=False, batch_size=8)  # "ok" padded to the long row
    assert padded.attention_mask[1].sum() < padded.attention_mask.shape[1]
    for how in ("cls", "mean", "max", "sep", "last", "first", 0, -1):
        np.testing.assert_allclose(padded.pool(how)[1], alone.pool(how)[0], atol=1e-5, err_msg=str(how))
    np.testing.assert_allclose(padded.pooler()[1], alone.pooler()[0], atol=1e-5)
    np.testing.assert_allclose(padded.mean(0)[1], alone.mean(0)[0], atol=1e-5)


def test_padding_positions_are_zero_and_never_pooled(any_model):
    cube = encode(any_model, TEXTS)
    pad = cube.attention_mask == 0
    assert pad.any()
    assert (cube.last_hidden[pad] == 0).all()
    # mean with the mask differs from a naive mean over all positions for padded rows
    row = int(pad.any(1).nonzero()[0])
    naive = cube.last_hidden[row].mean(0)
    assert not torch.allclose(naive, cube.mean()[row])


def test_attention_rows_sum_to_one_and_padding_is_zero(any_model):
    cube = encode(any_model, TEXTS, attentions=True)
    att, mask = cube.attentions, cube.attention_mask.bool()
    sums = att.sum(-1)  # (L,B,A,T)
    real = mask[None, :, None, :].expand_as(sums)
    assert torch.allclose(sums[real], torch.ones_like(sums[real]), atol=1e-5)
    assert (sums[~real] == 0).all()
    cols = (~mask)[None, :, None, None, :].expand_as(att)
    assert (att[cols].abs() < 1e-6).all()


def test_order_is_restored_after_sorting(any_model):
    together = encode(any_model, TEXTS, batch_size=2, sort=True)
    for i, text in enumerate(TEXTS):
        alone = encode(any_model, [text])
        assert together.texts[i] == text
        assert together.tokens[i] == alone.tokens[0]
        np.testing.assert_allclose(together.cls()[i], alone.cls()[0], atol=1e-5)
        np.testing.assert_allclose(together.mean()[i], alone.mean()[0], atol=1e-5)


def test_a_word_far_from_cls_changes_the_cls_output(embedded):
    a, b = "the acting was good and the music was good", "the acting was good and the music was awful"
    cube = encode(embedded, [a, b])
    assert torch.equal(cube.hidden_states[0][0, 0], cube.hidden_states[0][1, 0])  # same input embedding
    assert not torch.allclose(cube.cls()[0], cube.cls()[1], atol=1e-3)  # different output


def test_pairs_get_two_segments(any_model):
    cube = encode(any_model, ["the film was long"], pairs=["i liked it"])
    row = cube.tokens[0]
    assert row.count("[SEP]") == 2
    sep = row.index("[SEP]")
    types = cube.token_type_ids[0, : len(row)].tolist()
    assert types[: sep + 1] == [0] * (sep + 1) and set(types[sep + 1 :]) == {1}
    assert cube.pairs == ["i liked it"]


@pytest.mark.parametrize(
    "texts, pairs, message",
    [
        ([], None, "texts is empty"),
        ([""], None, r"texts\[0\] is empty"),
        (["fine", "   "], None, r"texts\[1\] is empty or blank"),
        ([None], None, r"texts\[0\] is NoneType"),
        (["fine", 3], None, r"texts\[1\] is int"),
        (None, None, "must be a sequence of strings"),
        (["a", "b"], ["c"], "pairs has 1 items but texts has 2"),
        (["a"], [""], r"pairs\[0\] is empty"),
        (["a"], [5], r"pairs\[0\] is int"),
    ],
)
def test_bad_input_names_the_index(tiny, texts, pairs, message):
    with pytest.raises(ValueError, match=message):
        encode(tiny, texts, pairs)


def test_one_string_is_one_sentence(tiny):
    assert len(encode(tiny, "hello world")) == 1


def test_long_text_is_truncated_with_one_warning(any_model):
    long = " ".join(["film"] * 600)
    with pytest.warns(TruncationWarning, match=r"1 text\(s\) longer than .* token\(s\) dropped") as record:
        cube = encode(any_model, ["ok", long], hidden_states=False, attentions=False)
    assert len(record) == 1
    assert int(cube.lengths[1]) == any_model.max_length
    assert cube.tokens[1][-1] == "[SEP]"
    assert cube.truncated == {1: 602 - any_model.max_length}


def test_max_length_argument(tiny):
    with pytest.warns(TruncationWarning):
        cube = encode(tiny, ["the film was very very long"], max_length=5)
    assert cube.tokens[0] == ["[CLS]", "the", "film", "was", "[SEP]"]
    with pytest.raises(ValueError, match="at least"):
        encode(tiny, ["x"], max_length=2)


@pytest.mark.parametrize("text", ["great film 🎬🍿!", "这部电影很好看", "映画は最高", "tab\there\x00bell\x07", "\u200b zero width"])
def test_emoji_cjk_and_control_characters(any_model, text):
    cube = encode(any_model, [text, "plain"])
    assert cube.tokens[0][0] == "[CLS]" and cube.tokens[0][-1] == "[SEP]"
    assert torch.isfinite(cube.last_hidden).all()


def test_left_out_parts_and_layer_errors(tiny):
    cube = encode(tiny, TEXTS, hidden_states=False, attentions=False)
    assert cube.hidden_states is None and cube.attentions is None
    assert torch.equal(cube.layer(-1), cube.last_hidden)
    with pytest.raises(ValueError, match="hidden_states=True"):
        cube.layer(1)
    full = encode(tiny, TEXTS)
    with pytest.raises(ValueError, match="out of range"):
        full.layer(7)
    with pytest.raises(ValueError, match="does not exist in row"):
        full.token(6)
    with pytest.raises(ValueError, match="Unknown pooling"):
        full.pool("median")


def test_pooling_definitions(tiny):
    cube = encode(tiny, TEXTS)
    n = int(cube.lengths[1])
    row = cube.last_hidden[1, :n]
    assert torch.allclose(cube.mean()[1], row.mean(0), atol=1e-6)
    assert torch.equal(cube.max()[1], row.max(0).values)
    assert torch.equal(cube.token(-1)[1], row[n - 1])  # final [SEP]
    assert torch.equal(cube.pool("last")[1], row[n - 2])
    assert torch.equal(cube.pool("first")[1], row[1])


def test_no_pooler_is_a_clear_error(tmp_path):
    from conftest import build_tiny
    from helpers import load_model

    lm = load_model(build_tiny(tmp_path / "nopool", heads="none"), device="cpu")
    lm.encoder.pooler = None
    lm.has_pooler = False
    cube = encode(lm, ["ok"])
    with pytest.raises(ValueError, match="has no pooler"):
        cube.pooler()


def test_cube_too_big_is_refused(tiny):
    with pytest.raises(ValueError, match="use embed"):
        encode(tiny, TEXTS, max_bytes=1000)


def test_embed_matches_the_cube(any_model):
    cube = encode(any_model, TEXTS)
    for how in ("cls", "mean", "max", "sep"):
        vecs = embed(any_model, TEXTS, pooling=how, layers=[0, -1], batch_size=3)
        assert vecs.shape == (2, len(TEXTS), any_model.hidden_size)
        np.testing.assert_allclose(vecs[0], cube.pool(how, 0), atol=1e-5)
        np.testing.assert_allclose(vecs[1], cube.pool(how, -1), atol=1e-5)
    single = embed(any_model, TEXTS, pooling="pooler")
    np.testing.assert_allclose(single, cube.pooler(), atol=1e-5)
    with pytest.raises(ValueError, match="out of range"):
        embed(any_model, TEXTS, layers=99)


def test_encode_ids_feeds_rows_as_given(tiny):
    tok = tiny.tokenizer
    words = tok("the film was good", add_special_tokens=False)["input_ids"]
    moved = words + [tok.sep_token_id, tok.cls_token_id]
    cube = encode_ids(tiny, [[tok.cls_token_id] + words + [tok.sep_token_id], moved])
    assert cube.tokens[1][-1] == "[CLS]"
    assert cube.tokens[0][0] == "[CLS]"
    with pytest.raises(ValueError, match="outside"):
        encode_ids(tiny, [[tiny.vocab_size + 5]])
    with pytest.raises(ValueError, match="empty"):
        encode_ids(tiny, [])


def test_pool_function_rejects_unknown_names():
    with pytest.raises(ValueError, match="Unknown pooling"):
        pool(torch.zeros(1, 3, 2), torch.ones(1, 3), "avg")


def test_ten_thousand_sentences_stay_bounded(tiny, embedded, capsys):
    reviews = [f"review {i}: the plot was thin, the acting uneven, but the music and the final scene carried it"
               for i in range(10_000)]
    with pytest.raises(ValueError, match="hidden_states=False"):
        encode(embedded, reviews)  # refused before any forward pass: every layer of 10k rows is GBs
    texts = [f"film {i}" for i in range(10_000)]
    cube = encode(tiny, texts, hidden_states=False, attentions=False, batch_size=256, progress=True)
    assert cube.hidden_states is None and cube.last_hidden.shape[0] == 10_000
    assert "encode" in capsys.readouterr().err  # the progress bar was shown
    vecs = embed(tiny, texts, pooling="mean", batch_size=512)
    assert vecs.shape == (10_000, tiny.hidden_size) and vecs.dtype == np.float32
    np.testing.assert_allclose(vecs[:4], cube.mean()[:4], atol=1e-5)


def test_any_sequence_of_strings_is_accepted(tiny):
    import numpy as np
    import pandas as pd

    texts = ["the film was good", "a boring story"]
    want = encode(tiny, texts).cls().numpy()
    for given in (tuple(texts), np.array(texts), pd.Series(texts), pd.DataFrame({"sentence": texts})["sentence"],
                  pd.Series(texts, index=[10, 20])):
        np.testing.assert_allclose(encode(tiny, given).cls().numpy(), want, atol=1e-6)
        np.testing.assert_allclose(embed(tiny, given, pooling="mean"), embed(tiny, texts, pooling="mean"), atol=1e-6)
    with pytest.raises(ValueError, match=r"texts\[1\] is float"):
        encode(tiny, pd.Series(["fine", None]))
    with pytest.raises(ValueError, match="one-dimensional"):
        encode(tiny, np.array([texts, texts]))
    with pytest.raises(ValueError, match="sequence of strings"):
        encode(tiny, {"a": 1})
