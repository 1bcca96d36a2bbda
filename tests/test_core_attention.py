"""The core's attention quantities: one definition of token kinds, of "what [CLS] reads" and of
"how much others read [CLS]", checked by hand on small inputs and on a real cube."""

import numpy as np
import pytest
import torch

from helpers import encode
from helpers.core import attention as A
from helpers.core.token_kinds import KINDS, is_punctuation, token_kinds


@pytest.mark.parametrize("tok", [".", ",", "!", "##!", "…", "—", "’", "«", "¿"])
def test_unicode_punctuation_is_punctuation(tok):
    assert is_punctuation(tok)


@pytest.mark.parametrize("tok", ["film", "##ing", "é", "3", "[CLS]", ""])
def test_words_and_specials_are_not_punctuation(tok):
    assert not is_punctuation(tok)


def test_token_kinds_of_a_row():
    kinds = token_kinds(["[CLS]", "so", "…", "good", "—", "[SEP]"])
    assert list(kinds) == ["cls", "word", "punct", "word", "punct", "sep"]
    with pytest.raises(ValueError, match="list of token strings"):
        token_kinds("[CLS] so good")


def _toy():
    """One layer, one head, one sentence of 3 real tokens ([CLS], 'good', [SEP]) and one pad."""
    att = np.zeros((1, 1, 1, 4, 4), dtype=np.float32)
    att[0, 0, 0, 0, :3] = [0.5, 0.3, 0.2]  # [CLS] reads itself 0.5
    att[0, 0, 0, 1, :3] = [0.6, 0.2, 0.2]  # 'good' reads [CLS] 0.6
    att[0, 0, 0, 2, :3] = [0.2, 0.2, 0.6]  # [SEP] reads [CLS] 0.2
    att[0, 0, 0, 3, :] = 0.25  # a padded row that must never count
    mask = np.array([[1, 1, 1, 0]])
    kinds = [np.array(["cls", "word", "sep"], dtype=object)]
    return att, mask, kinds


def test_what_cls_reads_is_its_own_row():
    att, mask, kinds = _toy()
    shares = A.attention_shares(att, mask, kinds, query="cls")
    assert shares["cls"][0, 0] == pytest.approx(0.5)
    assert shares["word"][0, 0] == pytest.approx(0.3)
    assert shares["sep"][0, 0] == pytest.approx(0.2)
    assert sum(shares[k][0, 0] for k in KINDS) == pytest.approx(1.0)


def test_how_much_others_read_cls_leaves_out_its_own_row_and_padding():
    att, mask, kinds = _toy()
    others = A.attention_shares(att, mask, kinds, query="others")["cls"][0, 0]
    assert others == pytest.approx((0.6 + 0.2) / 2)
    everyone = A.attention_shares(att, mask, kinds, query="all")["cls"][0, 0]
    assert everyone == pytest.approx((0.5 + 0.6 + 0.2) / 3)
    assert A.uniform_share(mask) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="query must be one of"):
        A.attention_shares(att, mask, kinds, query="words")


def test_named_quantities_on_a_real_cube(any_model):
    texts = ["the film was good .", "a bad , boring story", "i love this movie !"]
    cube = encode(any_model, texts, attentions=True)
    reads = A.what_cls_reads(cube, any_model)
    n_layers, n_heads = any_model.num_layers, any_model.num_heads
    assert reads["cls"].shape == (n_layers, n_heads)
    np.testing.assert_allclose(sum(reads[k] for k in KINDS), 1.0, atol=1e-5)
    # what [CLS] reads, by hand: row 0 of every sentence, averaged over sentences
    att = cube.attentions.numpy()
    by_hand = np.mean([att[:, b, :, 0, 0] for b in range(len(texts))], axis=0)
    np.testing.assert_allclose(reads["cls"], by_hand, atol=1e-6)
    # how much others read [CLS], by hand: column 0 over every real row but [CLS]'s own, averaged over tokens
    rows = []
    for b in range(len(texts)):
        n = int(cube.attention_mask[b].sum())
        rows.append(att[:, b, :, 1:n, 0])
    by_hand = np.concatenate(rows, axis=-1).mean(-1)
    np.testing.assert_allclose(A.how_much_others_read_cls(cube, any_model), by_hand, atol=1e-6)
    assert torch.is_tensor(cube.attention_mask)


def test_attention_row_by_hand_equals_the_models(any_model):
    cube = encode(any_model, ["the film was good .", "a boring story"], hidden_states=True, attentions=True)
    for layer in (1, any_model.num_layers):
        for head in (0, any_model.num_heads - 1):
            out = A.attention_row_by_hand(any_model, cube, layer, head, row=1)
            np.testing.assert_allclose(out["weights"], out["model"], atol=1e-5)
            assert out["weights"].sum() == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="1-based"):
        A.attention_row_by_hand(any_model, cube, 0, 0)
    with pytest.raises(ValueError, match="0-based"):
        A.attention_row_by_hand(any_model, cube, 1, any_model.num_heads)


def test_word_piece_stats(tiny, embedded):
    from helpers.core.token_kinds import word_piece_stats

    texts = ["the film was good.", "unbelievably boring"]
    own = word_piece_stats(embedded, texts)
    assert own["words"] == 7 and own["texts"] == 2 and own["over_limit"] == 0.0
    assert 1.0 <= own["pieces_per_word"] < 2.0
    spelled = word_piece_stats(tiny, ["zqx"])  # the tiny vocabulary spells unknown words letter by letter
    assert spelled["pieces_per_word"] == 3 and spelled["single_char_share"] == 1.0
    assert word_piece_stats(tiny, ["word " * 200])["over_limit"] == 1.0
    with pytest.raises(ValueError, match="non-empty list"):
        word_piece_stats(tiny, [])


def test_pooler_stats(tiny, embedded):
    from helpers import load_model as helpers_load
    from helpers.core.models import pooler_stats

    stats = pooler_stats(embedded)
    assert stats["bias_abs_max"] == 0.0 and stats["untrained"]  # the embedded pooler was never trained: bias exactly 0
    assert stats["weight_std"] < stats["init_std"]
    assert pooler_stats(tiny)["init_std"] == tiny.model.config.initializer_range
    assert pooler_stats(helpers_load("mini-bert"))["untrained"] is False  # NSP trains the pooler
