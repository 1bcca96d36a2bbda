"""The bag-of-words inversion probe, its baseline, and nearest-neighbour recovery."""

import numpy as np
import pytest

from matplotlib.figure import Figure

from helpers import references
from helpers.lessons import recovering_the_sentence as I


def test_content_words_and_vocabulary():
    assert I.content_words("The film was GOOD, the film!") == ["film", "good"]
    texts = ["a good film", "a bad film", "good music", "film music"]
    vocab = I.build_vocabulary(texts, min_count=2)
    assert vocab == ["film", "good", "music"]
    y = I.bag_of_words(texts, vocab)
    assert y.shape == (4, 3) and y[0].tolist() == [1, 1, 0]
    with pytest.raises(ValueError, match="min_count"):
        I.build_vocabulary(texts, min_count=9)


def test_prf():
    truth = np.array([[1, 0, 1], [0, 1, 0]])
    assert I.prf(truth, truth)["f1"] == 1.0
    r = I.prf(np.array([[1, 1, 0], [0, 0, 0]]), truth)
    assert r["precision"] == 0.5 and r["recall"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="must match"):
        I.prf(truth[:1], truth)


def _encoded(n=300, width=24, words=12, seed=0, informative=True):
    """Vectors that are a noisy linear code of a random bag of words (or pure noise)."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n, words)) < 0.2).astype(np.float32)
    code = rng.normal(size=(words, width))
    noise = rng.normal(size=(n, width)) * 0.3
    x = (y @ code + noise) if informative else rng.normal(size=(n, width))
    return x, y


def test_probe_recovers_encoded_words_and_not_noise():
    x, y = _encoded()
    probe = I.fit_inversion_probe(x[:200], y[:200])
    good = I.prf(probe.predict(x[200:]), y[200:])
    base = I.frequent_words_baseline(y[:200], y[200:])
    assert good["f1"] > 0.8 and good["f1"] > base["f1"] + 0.3
    xn, _ = _encoded(informative=False)
    noise_probe = I.fit_inversion_probe(xn[:200], y[:200])
    bad = I.prf(noise_probe.predict(xn[200:]), y[200:])
    assert bad["f1"] < good["f1"] - 0.4
    with pytest.raises(ValueError, match="same N"):
        I.fit_inversion_probe(x[:10], y[:9])


def test_inversion_by_layer_and_recovered_words():
    x, y = _encoded()
    xn, _ = _encoded(informative=False)
    train = {"cls": np.stack([xn[:200], x[:200]]), "mean": np.stack([x[:200], x[:200]])}
    test = {"cls": np.stack([xn[200:], x[200:]]), "mean": np.stack([x[200:], x[200:]])}
    res = I.inversion_by_layer(train, y[:200], test, y[200:])
    assert res["cls"][0]["f1"] < res["mean"][0]["f1"] - 0.4
    right = I.check_leakier("mean", res, layer=0)
    assert right.ok is True and str(right).startswith("Right")
    wrong = I.check_leakier("cls", res, layer=0)
    assert wrong.ok is False and str(wrong).startswith("Not quite")
    for unanswered in (None, ...):
        verdict = I.check_leakier(unanswered, res)
        assert verdict.ok is None and str(verdict).startswith("Not answered")
    unknown = I.check_leakier("max", res)
    assert unknown.ok is False and str(unknown).startswith("Not quite")
    vocab = ["good", "film", "bad"]
    texts = ["good film", "bad"]
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(40, 4))
    ys = I.bag_of_words(["good film" if i % 2 else "bad" for i in range(40)], vocab)
    xs[:, 0] += 3 * (np.arange(40) % 2)
    probe = I.fit_inversion_probe(xs, ys)
    rows = I.recovered_words(probe, np.array([[3, 0, 0, 0], [0, 0, 0, 0]], float), vocab, texts)
    assert set(rows[0]["hits"]) == {"good", "film"} and rows[1]["hits"] == ["bad"]


def test_check_beats_baseline_follows_the_computed_values():
    x, y = _encoded()
    xn, _ = _encoded(informative=False)
    train = {"cls": np.stack([xn[:200], x[:200]])}
    test = {"cls": np.stack([xn[200:], x[200:]])}
    res = I.inversion_by_layer(train, y[:200], test, y[200:], poolings=("cls",))
    base = I.frequent_words_baseline(y[:200], y[200:])
    # layer 1 encodes the words: the probe beats the baseline; the default layer is the last one
    right = I.check_beats_baseline(True, res, base)
    assert right.ok is True and str(right).startswith("Right") and right.details["layer"] == 1
    wrong = I.check_beats_baseline(False, res, base, layer=1)
    assert wrong.ok is False and str(wrong).startswith("Not quite")
    for unanswered in (None, ...):
        verdict = I.check_beats_baseline(unanswered, res, base)
        assert verdict.ok is None and str(verdict).startswith("Not answered")
    # a probe that does no better than the baseline (as [CLS] at layer 0, the same vector for every sentence)
    flat = {"cls": {0: {"f1": base["f1"]}, 1: res["cls"][1]}}
    assert I.check_beats_baseline(False, flat, base, layer=0).ok is True
    hair = {"cls": {0: {"f1": base["f1"] + I.SMALL_F1_GAP / 2}}}
    edged = I.check_beats_baseline(True, hair, base, layer=0)
    assert edged.ok is True and "by a hair" in str(edged) and "by a hair" not in str(right)
    assert I.check_beats_baseline(True, flat, base, layer=0).ok is False
    assert I.check_beats_baseline("yes", res, base).ok is False
    assert I.check_beats_baseline(True, res, base, layer=7).ok is False
    assert I.check_beats_baseline(True, res, base, pooling="max").ok is False


def test_nearest_neighbour_recovery_degrades_with_noise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 16))
    rec = I.nearest_neighbour_recovery(x, x, noise=(0.0, 3.0))
    assert rec[0.0] == 1.0 and rec[3.0] < 0.9
    with pytest.raises(ValueError, match="same shape"):
        I.nearest_neighbour_recovery(x, x[:5])
    y = (rng.random((100, 5)) < 0.3).astype(float)
    assert I.neighbour_words(x, y, x, y)["f1"] == 1.0


def test_draw_inversion_by_layer_returns_a_figure_without_pyplot():
    import matplotlib.pyplot as plt

    x, y = _encoded()
    train = {"cls": np.stack([x[:200], x[:200]]), "mean": np.stack([x[:200], x[:200]])}
    test = {"cls": np.stack([x[200:], x[200:]]), "mean": np.stack([x[200:], x[200:]])}
    res = I.inversion_by_layer(train, y[:200], test, y[200:])
    before = plt.get_fignums()
    fig = I.draw_inversion_by_layer(res, I.frequent_words_baseline(y[:200], y[200:]))
    assert isinstance(fig, Figure) and plt.get_fignums() == before
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "[CLS] F1" in labels and any(label.startswith("frequent words F1") for label in labels)


def test_published_attacks_come_from_the_registry():
    assert not hasattr(I, "PUBLISHED")
    for key in ("song2020_inversion", "vec2text_exact"):
        sentence = references.cite(key)
        assert references.get(key).source in sentence


# ----------------------------------------------------------------------------- issue 11: content words, error bars,
# the cosine/probe contrast, word order, the "With this model we found" sentences


def test_contractions_and_fillers_are_not_content_words():
    text = "It's like the director's best film, isn't it? I'm sure we're just really fond of it. Don't."
    assert I.content_words(text) == ["director", "best", "film", "sure", "fond"]
    assert I.content_words("It’s like that") == []  # a curly apostrophe is an apostrophe
    assert {"like", "just", "really"} <= I.FILLER_WORDS
    left = I.left_out_words([text, "like it's just like that"])
    assert left["like"] == 2 and left["it's"] == 2 and left["isn't"] == 1 and "director's" not in left
    assert "best" not in left and "the" not in left  # plain stop words and content words are not this rule's
    with pytest.raises(ValueError, match="string"):
        I.content_words(None)


def test_split_indices_are_the_notebooks_split():
    tr, te = I.split_indices(20, seed=0)
    order = np.random.default_rng(0).permutation(20)
    assert tr.tolist() == sorted(order[:15]) and te.tolist() == sorted(order[15:])
    other, _ = I.split_indices(20, seed=1)
    assert other.tolist() != tr.tolist()
    with pytest.raises(ValueError, match="train_share"):
        I.split_indices(20, train_share=1.0)
    with pytest.raises(ValueError, match="at least 4"):
        I.split_indices(2)


def _word_sentences(n=160, seed=0):
    """Sentences over 8 content words and vectors that encode which words each holds (plus noise)."""
    rng = np.random.default_rng(seed)
    words = ["apple", "river", "engine", "violin", "desert", "castle", "rocket", "garden"]
    texts, rows = [], []
    for _ in range(n):
        has = rng.random(len(words)) < 0.3
        has[rng.integers(len(words))] = True
        texts.append("the " + " and ".join(w for w, h in zip(words, has) if h))
        rows.append(has.astype(float))
    code = rng.normal(size=(len(words), 12))
    y = np.array(rows)
    informative = y @ code + 0.2 * rng.normal(size=(n, 12))
    noise = rng.normal(size=(n, 12))
    return texts, {"cls": np.stack([noise, informative]), "mean": np.stack([informative, informative])}


def test_inversion_over_splits_gives_paired_error_bars():
    texts, feats = _word_sentences()
    study = I.inversion_over_splits(feats, texts, seeds=(0, 1, 2), min_count=2)
    assert study.seeds == [0, 1, 2] and study.layers == [0, 1] and set(study.poolings) == {"cls", "mean"}
    assert study.n_train == 120 and study.n_test == 40 and len(study.vocab_sizes) == 3
    good, noise, base = study.f1["cls"][1], study.f1["cls"][0], study.baseline["f1"]
    assert good.n == 3 and base.n == 3 and good.mean > 0.8 and good.std >= 0
    assert I.split_verdict(good, base) == "higher" and I.split_verdict(base, good) == "lower"
    assert I.split_verdict(good, good) == "indistinguishable"
    assert noise.mean < good.mean - 0.4
    # seed 0 of the study is the single split of the notebook's main table
    tr, te = I.split_indices(len(texts), 0)
    vocab = I.build_vocabulary([texts[i] for i in tr], min_count=2)
    y = I.bag_of_words(texts, vocab)
    one = I.inversion_by_layer({p: feats[p][:, tr] for p in feats}, y[tr], {p: feats[p][:, te] for p in feats}, y[te])
    assert study.f1["cls"][1].values[0] == pytest.approx(one["cls"][1]["f1"])
    table = I.format_split_table(study)
    assert "95% CI" in table and "baseline" in table and table.count("\n") == 3
    with pytest.raises(ValueError, match="exactly these texts"):
        I.inversion_over_splits(feats, texts[:-1], seeds=(0,))
    with pytest.raises(ValueError, match="seeds is empty"):
        I.inversion_over_splits(feats, texts, seeds=())
    with pytest.raises(ValueError, match="one value per seed"):
        I.split_difference(good, _estimate([0.1]))


def _estimate(values):
    from helpers.core.stats import Estimate

    return Estimate(values)


def _study(cls_f1, mean_f1, base_f1):
    """A made-up SplitStudy: pooling -> list (per layer) of per-seed F1 values."""
    def per(values):
        return {layer: _estimate(v) for layer, v in enumerate(values)}
    scores = {m: {"cls": per(cls_f1), "mean": per(mean_f1)} for m in ("precision", "recall", "f1")}
    return I.SplitStudy([0, 1, 2], scores, {m: _estimate(base_f1) for m in ("precision", "recall", "f1")},
                        [100, 100, 100], 75, 25)


def test_found_inversion_follows_the_numbers():
    base = [0.02, 0.03, 0.025]
    # a model whose early [CLS] gives back most, the mean beating [CLS] at the end and losing words on the way
    early = _study([[0.0, 0.01, 0.0], [0.30, 0.32, 0.31], [0.10, 0.12, 0.11]],
                   [[0.50, 0.52, 0.51], [0.40, 0.41, 0.42], [0.30, 0.31, 0.29]], base)
    text = I.found_inversion(early)
    assert text.startswith("With this model we found:")
    assert "layer 1 (0.310" in text and "more than at the last layer, 2" in text
    assert "the mean (0.300 ± 0.010) gives away more than [CLS]" in text and "loses words" in text
    assert "below the baseline" in text  # layer 0 [CLS] under the baseline here
    # a model whose [CLS] peaks at the last layer and ties the mean there
    late = _study([[0.02, 0.03, 0.025], [0.10, 0.12, 0.11], [0.30, 0.33, 0.29]],
                  [[0.30, 0.31, 0.33], [0.30, 0.30, 0.31], [0.31, 0.30, 0.32]], base)
    text = I.found_inversion(late)
    assert "layer 2 (0.307" in text and "its last layer" in text and "within the noise of the baseline" in text
    assert "is within the noise of [CLS]" in text and "neither gains nor loses" in text


def _massive(layer, alike, alike_without, share, specific):
    from helpers.core.geometry import MassiveCoordinate

    return MassiveCoordinate(layer, 99, 8.0, 8.2, share, 0.4, alike, alike_without, specific)


def test_found_cosine_vs_probe_explains_or_says_there_is_nothing_to_explain():
    base = _estimate([0.02, 0.03, 0.02])
    f1 = {0: _estimate([0.0, 0.01, 0.0]), 1: _estimate([0.15, 0.16, 0.14]), 2: _estimate([0.08, 0.09, 0.07])}
    parked = [_massive(0, 1.0, 1.0, 0.9, 0.0), _massive(1, 0.99999, 0.9995, 0.99, 0.0025),
              _massive(2, 0.64, 0.20, 0.75, 0.59)]
    text = I.found_cosine_vs_probe(parked, f1, base)
    assert "at layer 1" in text and "0.99999" in text and "dim 99, holds 99%" in text
    assert "stays 0.99950" in text and "0.25% of the length" in text and "standardises" in text
    plain = [_massive(0, 1.0, 1.0, 0.2, 0.0), _massive(1, 0.60, 0.58, 0.1, 0.7), _massive(2, 0.5, 0.5, 0.1, 0.8)]
    text = I.found_cosine_vs_probe(plain, f1, base)
    assert "do not disagree" in text and "layer 1 at mean cosine 0.600" in text and "dim 99, holds" not in text
    table = I.format_cls_geometry(parked, f1, base)
    assert table.count("\n") == len(parked) + 2 and "0.150 ± 0.010" in table


def test_cls_geometry_on_the_embedded_model_shows_a_shared_coordinate(embedded):
    # the fact 07 explains: early [CLS] vectors look identical by cosine, yet differ in a small part
    from helpers import encode
    from helpers.core.geometry import massive_by_layer

    cube = encode(embedded, ["The film was a quiet delight.", "I walked out after twenty minutes.",
                             "Rain is expected over the hills tonight.", "The striker scored twice."])
    rows = massive_by_layer(cube.hidden_states)
    assert rows[0].specific < 1e-6  # layer 0: one vector for every sentence
    assert rows[1].alike > I.SAME_DIRECTION_ABOVE and rows[1].share > I.PARKING_SHARE
    assert 0 < rows[1].specific < 0.05  # small, but not nothing: what a standardised probe reads
    assert rows[-1].alike < rows[1].alike


def test_found_noise_names_where_recovery_breaks():
    text = I.found_noise({"[CLS]": {0.0: 1.0, 4.0: 0.9, 8.0: 0.3}, "mean": {0.0: 1.0, 4.0: 0.95, 8.0: 0.6}}, 80)
    assert text.startswith("With this model we found:") and "80 candidates" in text
    assert "[CLS] finds at least 50% up to noise 4" in text and "30% at 8" in text
    assert "mean still finds 60%" in text
    assert "fewer than 50%" in I.found_noise({"x": {1.0: 0.2}}, 10)


def test_shuffle_words_keeps_the_words_and_the_full_stop():
    rng = np.random.default_rng(0)
    text = "The film was a quiet delight."
    for _ in range(5):
        out = I.shuffle_words(text, rng)
        assert out != text and out.endswith(".") and sorted(out[:-1].split()) == sorted(text[:-1].split())
    with pytest.raises(ValueError, match="two different words"):
        I.shuffle_words("ha ha", rng)
    idx = I.order_sentences(["a b c d", "a b", "one two three four five"] * 4, n=5)
    assert len(idx) == 5 and all(i % 3 != 1 for i in idx)
    assert I.shuffled_texts(["a b c d e"], seed=3) == I.shuffled_texts(["a b c d e"], seed=3)


def test_moved_by_shuffling():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 8)) + 50.0  # a large shared part that would fool cosine
    assert I.moved_by_shuffling(x, x) == 0.0
    assert I.moved_by_shuffling(x, x[::-1]) == pytest.approx(1.0, abs=0.1)
    with pytest.raises(ValueError, match="same shape"):
        I.moved_by_shuffling(x, x[:3])


def _order_vectors(n=80, width=10, seed=0):
    """(L+1=2, N, H): layer 0 the same vector for original and shuffle, layer 1 with an order direction."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, width))
    same = np.repeat(rng.normal(size=(1, width)), n, axis=0)
    orig = np.stack([same, base])
    shuf_last = base.copy()
    shuf_last[:, 0] += 3.0
    shuf = np.stack([same, shuf_last])
    return {"cls": orig, "mean": orig}, {"cls": shuf, "mean": np.stack([same, base + 0.01 * rng.normal(size=base.shape)])}


def test_word_order_test_tells_order_only_where_the_vectors_carry_it():
    original, shuffled = _order_vectors()
    tr, te = I.split_indices(80, 0)
    result = I.word_order_test(original, shuffled, tr, te, seeds=(0, 1))
    assert result.layers == [0, 1] and result.n_sentences == 80 and result.n_test == 20
    assert result.probe["cls"][0].mean == pytest.approx(0.5) and not result.tells("cls", 0)
    assert result.probe["cls"][1].mean > 0.9 and result.tells("cls") and not result.tells("mean")
    assert result.moved["cls"][0] == 0.0 and result.cos_own["cls"][0] == pytest.approx(1.0)
    assert "chance 0.500" in I.format_order_table(result)
    text = I.found_word_order(result)
    assert text.startswith("With this model we found:") and "carries word order" in text
    assert "no clear sign of the order" in text and "first tells them apart at layer 1" in text
    assert I.check_knows_order(True, result).ok is True
    assert I.check_knows_order(False, result).ok is False
    assert I.check_knows_order(False, result, pooling="mean").ok is True
    assert I.check_knows_order(..., result).ok is None
    assert I.check_knows_order("yes", result).ok is False
    assert I.check_knows_order(True, result, layer=9).ok is False  # reported, not raised
    with pytest.raises(ValueError, match="disjoint"):
        I.word_order_test(original, shuffled, tr, tr)
    with pytest.raises(ValueError, match="missing"):
        I.word_order_test(original, {"cls": shuffled["cls"]}, tr, te)
    fig = I.draw_word_order(result)
    assert isinstance(fig, Figure) and fig.axes[0].get_ylabel() == "test accuracy"


def test_word_order_on_the_embedded_model_layer0_cls_is_blind(embedded):
    from helpers import encode

    texts = ["The film was a quiet delight.", "I walked out after twenty minutes.",
             "Rain is expected over the hills tonight.", "The striker scored twice in the second half.",
             "A gorgeous love letter to cinema itself.", "The soup needs more salt and pepper.",
             "Our train was late again this morning.", "She painted the old fence bright green."]
    shuffled = I.shuffled_texts(texts, seed=0)
    a = encode(embedded, texts).hidden_states.numpy()[:, :, 0]
    b = encode(embedded, shuffled).hidden_states.numpy()[:, :, 0]
    assert I.moved_by_shuffling(a[0], b[0]) == pytest.approx(0.0, abs=1e-6)  # one vector for every input
    assert I.moved_by_shuffling(a[-1], b[-1]) > 0.05  # the last layer's [CLS] moves when the order changes


def test_new_checks_accept_within_the_noise_and_explain_layer_0():
    res = {"cls": {0: {"f1": 0.02}, 2: {"f1": 0.10}}, "mean": {0: {"f1": 0.5}, 2: {"f1": 0.12}}}
    tied = _study([[0.0, 0.0, 0.0], [0.1, 0.1, 0.1], [0.10, 0.14, 0.09]],
                  [[0.5, 0.5, 0.5], [0.2, 0.2, 0.2], [0.12, 0.09, 0.13]], [0.02, 0.03, 0.02])
    assert I.check_leakier("mean", res).ok is True and I.check_leakier("cls", res).ok is False  # one split: plain
    for guess in ("cls", "mean"):
        verdict = I.check_leakier(guess, res, study=tied)
        assert verdict.ok is True and "within the noise" in str(verdict)
    clear = _study([[0.0, 0.0, 0.0], [0.1, 0.1, 0.1], [0.05, 0.06, 0.04]],
                   [[0.5, 0.5, 0.5], [0.2, 0.2, 0.2], [0.15, 0.16, 0.14]], [0.02, 0.03, 0.02])
    assert I.check_leakier("mean", res, study=clear).ok is True
    assert I.check_leakier("cls", res, study=clear).ok is False
    base = {"f1": 0.025}
    assert I.check_beats_baseline(True, res, base, study=clear).ok is True
    assert I.check_beats_baseline(False, res, base, study=clear).ok is False
    both = I.check_beats_baseline(False, res, base, layer=0, study=_study(
        [[0.02, 0.03, 0.02], [0.1, 0.1, 0.1], [0.1, 0.1, 0.1]], [[0.5] * 3, [0.2] * 3, [0.2] * 3], [0.02, 0.03, 0.02]))
    assert both.ok is True and "within the noise" in str(both)
    same = np.ones((5, 4))
    assert I.check_layer0_why("b", same, res).ok is True
    wrong = I.check_layer0_why("a", same, res)
    assert wrong.ok is False and "0.500" in str(wrong)  # the same probe reads the layer-0 mean
    assert I.check_layer0_why("c", same, res).ok is False
    assert I.check_layer0_why("b", np.arange(20.0).reshape(5, 4), res).ok is False
    assert I.check_layer0_why("z", same, res).ok is False and I.check_layer0_why(..., same, res).ok is None
    assert I.check_layer0_why("b", np.ones(4), res).ok is False  # a bad shape is reported, not raised


def test_draw_with_error_bands():
    texts, feats = _word_sentences()
    study = I.inversion_over_splits(feats, texts, seeds=(0, 1), min_count=2)
    tr, te = I.split_indices(len(texts), 0)
    vocab = I.build_vocabulary([texts[i] for i in tr], min_count=2)
    y = I.bag_of_words(texts, vocab)
    res = I.inversion_by_layer({p: feats[p][:, tr] for p in feats}, y[tr], {p: feats[p][:, te] for p in feats}, y[te])
    fig = I.draw_inversion_by_layer(res, I.frequent_words_baseline(y[tr], y[te]), study=study)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("95% CI" in label for label in labels) and "frequent words F1" in labels
