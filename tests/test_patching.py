"""Causal tracing (helpers.core.patching): pairs, the guards against patches that do nothing, the batched sweep
against the one-forward-per-patch loop, knockout and head ablation, and the facts notebook 08 teaches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.core import patching as P
from helpers.core.data import load_reviews
from helpers.core.linear import fit_probe


@pytest.fixture(scope="module")
def tiny_strong():
    """A tiny random BERT (2 layers, 2 heads, width 16) with an NSP head, initialised with large weights so that one
    changed word moves its score far above float32 rounding (the default init's scores are ~1e-4)."""
    from transformers import BertConfig, BertForPreTraining, BertTokenizerFast

    from conftest import tiny_vocab
    from helpers.core.models import from_module

    tok = BertTokenizerFast(vocab=tiny_vocab(), do_lower_case=True, model_max_length=64)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64, initializer_range=0.5)
    torch.manual_seed(0)
    return from_module(BertForPreTraining(cfg).eval(), tok, name="tiny-random", device="cpu")


@pytest.fixture(params=["tiny_strong", "embedded"], scope="module")
def any_model(request):
    """Each test using this runs on the tiny random model and on the embedded one."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def scorer(any_model):
    """The tiny random model through its NSP head; the embedded one through a frozen probe on [CLS]."""
    if any_model.has_nsp:
        return P.scorer_of(any_model)
    from helpers.core.cube import embed

    train = load_reviews("train", subset="v1").select(range(120))
    return P.scorer_of(any_model, probe=fit_probe(embed(any_model, train.texts, pooling="cls"), train.labels))


@pytest.fixture(scope="module")
def pair(any_model):
    return P.make_pair(any_model, "the ending was great and we stayed", "the ending was awful and we stayed")


def test_a_pair_must_tokenize_to_the_same_length(embedded):
    p = P.make_pair(embedded, "the ending was great", "the ending was awful")
    assert p.changed == (4,) and p.kinds == ("cls", "before", "before", "before", "changed", "sep")
    assert p.label == "great -> awful"
    with pytest.raises(P.PairError, match="different lengths"):
        P.make_pair(embedded, "the ending was great", "the ending was unforgettably bad")
    with pytest.raises(P.PairError, match="same tokens"):
        P.make_pair(embedded, "the ending was great", "The ending was great")
    with pytest.raises(P.PairError, match="empty"):
        P.make_pair(embedded, "the ending was great", " ")
    with pytest.raises(P.PairError, match="not a word"):
        P.swap_word("the ending was great", "film", "movie")
    assert P.swap_word("Great ending, great cast", "great", "awful") == "awful ending, great cast"
    assert P.suggest_replacement("Great") == "awful" and P.suggest_replacement("awful") == "great"


def test_sentiment_pairs_swap_one_word_of_real_reviews(embedded):
    texts = load_reviews("test", subset="v1").texts
    pairs = P.sentiment_pairs(embedded, texts, limit=10)
    assert len(pairs) == 10
    for p in pairs:
        assert len(p.ids_clean) == len(p.ids_corrupt) and len(p.changed) == 1
        word, rep = p.label.split(" -> ")
        assert P.ANTONYMS[word] == rep and p.clean in texts


def test_next_sentence_pairs_keep_a_and_swap_b_for_one_as_long(embedded):
    from helpers.core.continued_nsp import corpus_split

    docs = corpus_split()["heldout_docs"][:30]
    pairs = P.next_sentence_pairs(embedded, docs, limit=5)
    assert len(pairs) == 5
    for p in pairs:
        assert p.clean == p.corrupt and p.clean_b != p.corrupt_b
        assert all(p.kinds[i] == "changed" for i in p.changed)
        assert p.types[p.changed[0]] == 1  # the change is in the second segment
        assert any(p.clean in d.sentences and p.clean_b in d.sentences for d in docs)


def test_the_route_is_the_model_and_a_wrong_route_is_caught(scorer, any_model):
    ids, types = P._ids(any_model, "a short test", "and another")
    with torch.inference_mode():
        theirs = float(scorer.full(torch.tensor([ids]), torch.tensor([types]))[0])
    assert P.check_route(scorer, ids, types) == pytest.approx(theirs, abs=1e-4)
    wrong = P.Scorer(scorer.name, scorer.what, scorer.embeddings, scorer.blocks[:-1], scorer.head, scorer.num_heads,
                     scorer.device, scorer.full)
    with pytest.raises(P.PatchError, match="does not reproduce"):
        P.check_route(wrong, ids, types)


def test_restoring_everything_at_layer_0_is_the_clean_run_and_nothing_is_nothing(scorer, pair):
    n, L = len(pair), scorer.num_layers
    assert P.restore(scorer, pair, 0, range(n)) == pytest.approx(1.0, abs=1e-5)
    assert P.restore(scorer, pair, 0, []) == 0.0
    assert P.restore(scorer, pair, L, range(n)) == pytest.approx(1.0, abs=1e-5)
    # at layer 0 only the changed word differs: restoring it alone is the clean run too
    assert P.restore(scorer, pair, 0, pair.changed) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="hidden state"):
        P.restore(scorer, pair, L + 1, [0])


def test_the_batched_sweep_equals_one_forward_per_patch(scorer, pair):
    sw = P.patch_sweep(scorer, pair)
    L, n = scorer.num_layers, len(pair)
    assert sw.restored.shape == (L + 1, n)
    assert np.allclose(sw.every, 1.0, atol=1e-4)
    assert np.allclose(sw.restored, P.patch_sweep_loop(scorer, pair), atol=1e-4)
    assert sw.restored[0, pair.changed[0]] == pytest.approx(1.0, abs=1e-4)
    assert sw.noop[0].sum() == n - 1  # embeddings differ only at the changed word
    assert np.all(sw.restored[sw.noop] == 0)
    for layer, t in ((1, 0), (L - 1, n - 1)):
        assert sw.restored[layer, t] == pytest.approx(P.restore(scorer, pair, layer, [t]), abs=1e-4)
    # the [CLS]-reading head sees only [CLS] after the last layer
    assert sw.restored[L, 0] == pytest.approx(1.0, abs=1e-4) and np.allclose(sw.restored[L, 1:], 0, atol=1e-6)


def test_a_patch_that_was_not_written_is_caught(scorer, pair):
    clean, _ = P.states_and_score(scorer, pair.ids_clean, pair.types)
    corrupt, _ = P.states_and_score(scorer, pair.ids_corrupt, pair.types)
    c, x0 = clean[1], corrupt[1]
    with pytest.raises(P.PatchError, match="not written"):
        P._check_written(x0.clone(), c, x0, [list(pair.changed)])
    x = x0.clone()
    x[0, list(pair.changed)] = c[0, list(pair.changed)]
    P._check_written(x, c, x0, [list(pair.changed)])  # the right patch passes


def test_knockout_changes_only_cls_and_an_empty_knockout_is_caught(scorer, pair):
    L = scorer.num_layers
    words = P.knockout(scorer, pair, "words")
    changed = P.knockout(scorer, pair, "changed")
    assert words.shape == changed.shape == (L,) and np.isfinite(words).all()
    assert not np.allclose(words, 0)
    with pytest.raises(P.PatchError, match="did nothing"):
        P.knockout(scorer, pair, [])
    with pytest.raises(ValueError, match="sources"):
        P.knockout(scorer, pair, "everything")


def test_head_ablation_one_head_per_row(scorer, pair):
    drops = P.head_ablation(scorer, pair)
    assert drops.shape == (scorer.num_layers, scorer.num_heads) and np.isfinite(drops).all()
    assert not np.allclose(drops, 0)


def test_trace_keeps_pairs_that_move_the_score(scorer, any_model):
    pairs = [P.make_pair(any_model, f"the {w} was great", f"the {w} was awful") for w in ("film", "plot", "cast")]
    tr = P.trace(scorer, pairs, "test", min_effect=0.0)
    assert len(tr.sweeps) == 3 and tr.curves["span"].shape == (3, scorer.num_layers + 1)
    assert tr.knock_words.shape == (3, scorer.num_layers) and tr.heads.shape == (3, scorer.num_layers, scorer.num_heads)
    lo, hi = tr.interval("cls")
    assert np.all(lo <= tr.mean("cls") + 1e-12) and np.all(tr.mean("cls") <= hi + 1e-12)
    with pytest.raises(P.PairError, match="None of the"):
        P.trace(scorer, pairs, "test", min_effect=1e9)
    s = P.summarize(P.trace(scorer, pairs, "test", min_effect=0.0, heads=False, knockouts=False, limit=2))
    assert s["pairs"] == 2 and s["heads"] is None and s["knock_words"] is None
    assert str(s["pairs"]) in P.where_written_sentence(s)


def test_scorer_errors_say_what_to_load(embedded):
    with pytest.raises(ValueError, match="embedded-cls-tuned"):
        P.scorer_of(embedded)


def test_on_the_fine_tuned_cls_head_the_verdict_reaches_cls_in_the_last_layer():
    """Notebook 08's finding on embedded-cls-tuned, from the shipped checkpoint: the changed word carries the whole
    difference at the embeddings, [CLS] all of it after the last layer, and the sentence says where it moved."""
    s = P.where_written("embedded-cls-tuned", n_pairs=6)
    L = s["layers"]
    assert s["pairs"] == 6 and s["changed"][0] == pytest.approx(1.0, abs=1e-4) and s["cls"][L] == pytest.approx(1.0, abs=1e-4)
    m = s["move_layer"]
    assert m is not None and s["cls"][m] > s["changed"][m] and all(s["cls"][k] <= s["changed"][k] for k in range(m))
    text = P.where_written_sentence(s)
    assert f"hidden state {m}" in text and "embedded-cls-tuned" in text
