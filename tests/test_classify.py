"""Logistic regression on features (grid, seeds, baseline, errors) and the fine-tuning loop."""

import numpy as np
import pytest
import torch

from helpers import classify as C

from conftest import blobs


def _blobs(n=120, width=6, gap=3.0, seed=0):
    return blobs(n, width, gap, seed)


def test_classify_reads_a_separable_signal_and_beats_the_dummy():
    x, y = _blobs()
    xt, yt = _blobs(seed=1)
    res = C.classify(x, y, xt, yt, Cs=(0.1, 1.0), seeds=(0, 1, 2), label_names=["neg", "pos"])
    assert set(res.grid) == {0.1, 1.0} and res.best_C in res.grid
    assert res.accuracy > 0.85 and res.mean > 0.85 and len(res.seed_accuracies) == 3
    assert abs(res.dummy - 0.5) < 0.01
    assert res.confusion.sum() == len(yt) and np.trace(res.confusion) == round(res.accuracy * len(yt))
    assert "best C" in str(res)


def test_noise_is_not_read():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(200, 6)), np.arange(200) % 2
    res = C.classify(x[:150], y[:150], x[150:], y[150:], Cs=(1.0,), seeds=(0, 1))
    assert abs(res.accuracy - 0.5) < 0.2


def test_misclassified_lists_confident_errors():
    x, y = _blobs(gap=1.0)
    xt, yt = _blobs(seed=2, gap=1.0)
    res = C.classify(x, y, xt, yt, Cs=(1.0,), seeds=(0,), label_names=["neg", "pos"])
    texts = [f"s{i}" for i in range(len(yt))]
    wrong = C.misclassified(res, texts, yt, n=4, kind=["k"] * len(yt))
    assert 0 < len(wrong) <= 4
    assert all(w["true"] != w["predicted"] and w["kind"] == "k" for w in wrong)
    conf = [w["confidence"] for w in wrong]
    assert conf == sorted(conf, reverse=True)


def test_dummy_baseline_and_bad_inputs():
    assert C.dummy_baseline([0, 0, 1], [0, 1, 1, 1]) == 0.25
    x, y = _blobs()
    with pytest.raises(ValueError, match="one label per row"):
        C.classify(x, y[:-1], x, y)
    with pytest.raises(ValueError, match="width"):
        C.classify(x, y, x[:, :3], y)
    with pytest.raises(ValueError, match="positive"):
        C.grid_search_C(x, y, Cs=(0.0,))


TEXTS = ["good great fun", "bad awful boring", "great acting and music", "the worst plot, awful",
         "best film", "boring and long", "i love this movie", "i hate this movie"]
LABELS = [1, 0, 1, 0, 1, 0, 1, 0]


def test_fine_tune_learns_and_leaves_the_original_untouched(tiny):
    before = {k: v.clone() for k, v in tiny.encoder.state_dict().items()}
    ft = C.fine_tune(tiny, TEXTS, LABELS, head="cls", steps=40, batch_size=8, lr=1e-3, head_lr=1e-2, progress=False)
    assert len(ft.losses) == 40 and np.mean(ft.losses[-5:]) < np.mean(ft.losses[:5])
    assert (C.predict(tiny, ft.model, TEXTS) == np.array(LABELS)).mean() >= 0.75
    after = tiny.encoder.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_same_seed_same_run_and_heads_differ(tiny):
    a = C.fine_tune(tiny, TEXTS, LABELS, head="mean", steps=5, batch_size=4, progress=False, seed=1)
    b = C.fine_tune(tiny, TEXTS, LABELS, head="mean", steps=5, batch_size=4, progress=False, seed=1)
    assert a.losses == b.losses
    c = C.fine_tune(tiny, TEXTS, LABELS, head="cls", steps=5, batch_size=4, progress=False, seed=1)
    assert c.losses != a.losses
    with pytest.raises(ValueError, match="head"):
        C.fine_tune(tiny, TEXTS, LABELS, head="max", steps=2, progress=False)
    with pytest.raises(ValueError, match="one label per text"):
        C.fine_tune(tiny, TEXTS, LABELS[:3], steps=2, progress=False)


def test_compare_heads_and_attention_profile(tiny):
    rows, models = C.compare_heads(tiny, TEXTS, LABELS, TEXTS, LABELS, steps=3, batch_size=4, seeds=(0, 1),
                                   progress=False)
    assert [(r["head"], r["seed"]) for r in rows] == [("cls", 0), ("mean", 0), ("cls", 1), ("mean", 1)]
    summary = C.summarize_heads(rows)
    assert set(summary) == {"cls", "mean"} and summary["cls"][2] == 2
    prof = C.cls_attention(tiny, TEXTS[:3])
    assert prof["from_cls"].shape == (tiny.num_layers, 4)
    np.testing.assert_allclose(prof["from_cls"].sum(1), 1.0, atol=1e-5)  # [CLS]'s row is a distribution
    assert prof["cls_row"].shape == (tiny.num_layers, len(prof["tokens"]))
    after = C.cls_attention(C.as_loaded_model(tiny, models[("cls", 0)]), TEXTS[:3])
    assert after["to_cls"].shape == (tiny.num_layers,)


def test_train_layers_freezes_the_lower_layers(tiny):
    ft = C.fine_tune(tiny, TEXTS, LABELS, head="cls", steps=3, batch_size=4, progress=False, train_layers=1, lr=1e-2)
    new = ft.model.encoder.state_dict()
    old = tiny.encoder.state_dict()
    changed = {k for k in old if not torch.equal(old[k], new[k])}
    assert changed and all(k.startswith("encoder.layer.1.") for k in changed)
    with pytest.raises(ValueError, match="train_layers"):
        C.fine_tune(tiny, TEXTS, LABELS, steps=1, progress=False, train_layers=9)


def test_frozen_prefix_path_matches_the_full_model(tiny):
    # training from cached lower-layer states must compute the same logits as the whole model
    prefix = C.FrozenPrefix(tiny, TEXTS, train_layers=1)
    torch.manual_seed(0)
    model = C.PooledClassifier(tiny.encoder, "mean", 2, dropout=0.0).eval()
    blocks = C._layers(tiny.encoder)[1:]
    with torch.no_grad():
        fast = C._top_forward(model, blocks, *prefix.batch([0, 1, 2], "cpu"))
        full = model(**C._batch(tiny, TEXTS[:3], 64, "cpu"))
    torch.testing.assert_close(fast, full, atol=1e-4, rtol=1e-4)
    model.head = "cls"
    with torch.no_grad():
        torch.testing.assert_close(C._top_forward(model, blocks, *prefix.batch([3, 4], "cpu")),
                                   model(**C._batch(tiny, TEXTS[3:5], 64, "cpu")), atol=1e-4, rtol=1e-4)
