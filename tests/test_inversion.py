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
