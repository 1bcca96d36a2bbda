"""Notebook 05's classifier on features (a wide grid, seeds, baseline, errors, findings) and the fine-tuning loop
of notebook 06 (helpers.core.finetune)."""

import numpy as np
import pytest
import torch

import helpers
from helpers.core import finetune as FT
from helpers.core import linear as L
from helpers.core.stats import Estimate
from helpers.lessons import slicing_the_output_cube as C

from conftest import blobs


def _blobs(n=120, width=6, gap=3.0, seed=0):
    return blobs(n, width, gap, seed)


def test_classify_reads_a_separable_signal_and_beats_the_dummy():
    x, y = _blobs()
    xt, yt = _blobs(seed=1)
    res = C.classify(x, y, xt, yt, Cs=(0.1, 1.0), seeds=(0, 1, 2), label_names=["neg", "pos"])
    assert set(res.grid) == {0.1, 1.0} and res.best_C in res.grid
    assert res.accuracy > 0.85 and res.per_seed.mean > 0.85 and res.per_seed.n == 3
    assert isinstance(res.per_seed, L.ProbeResult) and isinstance(res.per_seed, Estimate)
    again = L.linear_probe(x, y, xt, yt, seeds=(0, 1, 2), C=res.best_C)  # the course's one probe, same numbers
    np.testing.assert_array_equal(res.per_seed.accuracies, again.accuracies)
    assert res.grid == L.grid_search_C(x, y, (0.1, 1.0))
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
    assert L.dummy_baseline([0, 0, 1], [0, 1, 1, 1]) == 0.25
    x, y = _blobs()
    with pytest.raises(ValueError, match="one label per row"):
        C.classify(x, y[:-1], x, y)
    with pytest.raises(ValueError, match="width"):
        C.classify(x, y, x[:, :3], y)
    with pytest.raises(ValueError, match="positive"):
        L.grid_search_C(x, y, Cs=(0.0,))
    with pytest.raises(ValueError, match="seeds"):
        C.classify(x, y, x, y, seeds=())
    with pytest.raises(ValueError, match="one name per class"):
        C.classify(x, y, x, y, Cs=(1.0,), seeds=(0,), label_names=["only one"])


def test_draw_confusion_returns_a_figure():
    from matplotlib.figure import Figure

    fig = C.draw_confusion(np.array([[5, 1], [2, 4]]), ["neg", "pos"])
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["1", "2", "4", "5"]
    with pytest.raises(ValueError, match="one label name per class"):
        C.draw_confusion(np.eye(3), ["a", "b"])


TEXTS = ["good great fun", "bad awful boring", "great acting and music", "the worst plot, awful",
         "best film", "boring and long", "i love this movie", "i hate this movie"]
LABELS = [1, 0, 1, 0, 1, 0, 1, 0]


def test_fine_tune_learns_and_leaves_the_original_untouched(tiny):
    before = {k: v.clone() for k, v in tiny.encoder.state_dict().items()}
    ft = FT.fine_tune(tiny, TEXTS, LABELS, readout="cls", steps=40, batch_size=8, lr=1e-3, head_lr=1e-2,
                      train_layers=None, progress=False)
    assert len(ft.losses) == 40 and np.mean(ft.losses[-5:]) < np.mean(ft.losses[:5])
    assert (ft.predict(TEXTS) == np.array(LABELS)).mean() >= 0.75
    assert ft.correct(TEXTS, LABELS).mean() == (ft.predict(TEXTS) == np.array(LABELS)).mean()
    after = tiny.encoder.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_same_seed_same_run_and_readouts_differ(tiny):
    a = FT.fine_tune(tiny, TEXTS, LABELS, readout="mean", steps=5, batch_size=4, progress=False, seed=1)
    b = FT.fine_tune(tiny, TEXTS, LABELS, readout="mean", steps=5, batch_size=4, progress=False, seed=1)
    assert a.losses == b.losses
    c = FT.fine_tune(tiny, TEXTS, LABELS, readout="cls", steps=5, batch_size=4, progress=False, seed=1)
    assert c.losses != a.losses
    with pytest.raises(ValueError, match="Unknown readout"):
        FT.fine_tune(tiny, TEXTS, LABELS, readout="average", steps=2, progress=False)
    with pytest.raises(ValueError, match="one label per text"):
        FT.fine_tune(tiny, TEXTS, LABELS[:3], steps=2, progress=False)
    with pytest.raises(ValueError, match="precision"):
        FT.fine_tune(tiny, TEXTS, LABELS, steps=2, progress=False, precision="fp8")


@pytest.mark.parametrize("readout", ["cls", "mean", "max", "first", "pos2", "last", "sep", "cls_end"])
def test_every_sweep_readout_trains_and_predicts(tiny, readout):
    ft = FT.fine_tune(tiny, TEXTS, LABELS, readout=readout, steps=3, batch_size=4, progress=False, precision="fp32",
                      val_texts=TEXTS[:4], val_labels=LABELS[:4], eval_every=1)
    assert ft.readout.key == readout and len(ft.curve) == 3 and [s for s, _ in ft.curve] == [1, 2, 3]
    assert ft.predict(TEXTS).shape == (len(TEXTS),)


def test_any_sequence_of_strings_trains(tiny):
    import pandas as pd

    a = FT.fine_tune(tiny, TEXTS, LABELS, steps=3, batch_size=4, progress=False, precision="fp32")
    b = FT.fine_tune(tiny, pd.Series(TEXTS), np.array(LABELS), steps=3, batch_size=4, progress=False, precision="fp32")
    assert a.losses == b.losses
    np.testing.assert_array_equal(a.predict(np.array(TEXTS)), b.predict(tuple(TEXTS)))


def test_bf16_autocast_reaches_the_same_accuracy(tiny):
    runs = {p: FT.fine_tune(tiny, TEXTS, LABELS, readout="cls", steps=40, batch_size=8, lr=1e-3, head_lr=1e-2,
                            train_layers=None, progress=False, precision=p) for p in ("fp32", "bf16")}
    assert runs["bf16"].precision == "bf16" and runs["fp32"].precision == "fp32"
    acc = {p: r.correct(TEXTS, LABELS) for p, r in runs.items()}
    from helpers.core.stats import paired_difference

    d = paired_difference(acc["bf16"], acc["fp32"])
    assert d.lo <= 0 <= d.hi, f"bf16 and fp32 differ: {d}"
    assert FT.resolve_precision("auto", "cpu") in ("bf16", "fp32")
    assert FT.resolve_precision("fp32", "cpu") == "fp32"


def test_compare_heads_and_summary(tiny):
    rows, models = FT.compare_heads(tiny, TEXTS, LABELS, TEXTS, LABELS, steps=3, batch_size=4, seeds=(0, 1),
                                    progress=False)
    assert [(r["head"], r["seed"]) for r in rows] == [("cls", 0), ("mean", 0), ("cls", 1), ("mean", 1)]
    summary = FT.summarize_heads(rows)
    assert set(summary) == {"cls", "mean"} and summary["cls"].n == 2
    assert isinstance(summary["cls"], Estimate)
    assert summary["mean"].mean == np.mean([r["accuracy"] for r in rows if r["head"] == "mean"])
    tuned = FT.as_loaded_model(models[("cls", 0)])
    assert tuned.num_layers == tiny.num_layers and tuned.encoder is models[("cls", 0)].model.encoder


def test_train_layers_freezes_the_lower_layers(tiny):
    ft = FT.fine_tune(tiny, TEXTS, LABELS, readout="cls", steps=3, batch_size=4, progress=False, train_layers=1, lr=1e-2)
    new = ft.model.encoder.state_dict()
    old = tiny.encoder.state_dict()
    changed = {k for k in old if not torch.equal(old[k], new[k])}
    assert changed and all(k.startswith("encoder.layer.1.") for k in changed)
    with pytest.raises(ValueError, match="train_layers"):
        FT.fine_tune(tiny, TEXTS, LABELS, steps=1, progress=False, train_layers=9)


@pytest.mark.parametrize("readout", ["mean", "cls", "cls_end", "last"])
def test_frozen_prefix_path_matches_the_full_model(tiny, readout):
    # training from cached lower-layer states must compute the same logits as the whole model
    r = FT.get_readout(readout)
    rows = FT.Rows(tiny, TEXTS, r.layout, 64)
    prefix = FT.FrozenPrefix(tiny, rows, train_layers=1)
    torch.manual_seed(0)
    model = FT.ReadoutClassifier(tiny.encoder, r, 2, dropout=0.0).eval()
    blocks = FT._blocks(tiny.encoder)[1:]
    with torch.no_grad():
        fast = FT._top_forward(model, blocks, *prefix.batch([0, 1, 2], "cpu"), rows.cls_pos[:3])
        full = model(*rows.batch([0, 1, 2], "cpu"))
    torch.testing.assert_close(fast, full, atol=1e-4, rtol=1e-4)



# ----------------------------------------------------------------------------- notebook 05: the grid over C and the findings


def test_the_wide_grid_extends_the_default_at_both_ends():
    assert min(C.WIDE_CS) < min(L.DEFAULT_CS) and max(C.WIDE_CS) > max(L.DEFAULT_CS)
    assert set(L.DEFAULT_CS) <= set(C.WIDE_CS)
    x, y = _blobs()
    res = C.classify(x, y, x, y, seeds=(0,))  # the default grid is the wide one
    assert set(res.grid) == set(C.WIDE_CS)


def test_grid_edge_and_its_note():
    grid = {0.01: 0.6, 0.1: 0.7, 1.0: 0.65}
    assert C.grid_edge(grid, 0.1) is None
    inside = C.edge_note(grid, 0.1)
    assert inside.startswith("C at the edge of the grid? no") and "C=0.01 (0.600) below" in inside
    assert C.grid_edge(grid, 0.01) == "smallest" and C.grid_edge(grid, 1.0) == "largest"
    low = C.edge_note(grid, 0.01)
    assert low.startswith("Warning") and "smallest" in low and "below" in low
    assert "above" in C.edge_note(grid, 1.0)
    assert C.grid_edge({1.0: 0.5}, 1.0) == "only" and C.edge_note({1.0: 0.5}, 1.0).startswith("Warning")
    with pytest.raises(ValueError, match="not one of the grid"):
        C.grid_edge(grid, 3.0)
    x, y = _blobs()
    res = C.classify(x, y, x, y, Cs=(0.1, 1.0), seeds=(0,))
    assert res.edge in ("smallest", "largest") and res.edge_note().startswith("Warning")


def test_the_chosen_C_lies_inside_the_wide_grid_on_the_embedded_model(embedded, tmp_path):
    import helpers

    train = helpers.load_reviews("train", limit=helpers.pick(None, 200))
    test = helpers.load_reviews("test", limit=helpers.pick(None, 100))
    cache = helpers.FeatureCache(cache_dir=tmp_path)
    res = C.classify(cache.features(embedded, train.texts, pooling="cls"), train.labels,
                     cache.features(embedded, test.texts, pooling="cls"), test.labels, Cs=C.WIDE_CS, seeds=(0,))
    assert res.edge is None, res.edge_note()


def test_error_lean():
    lean = C.error_lean([[45, 5], [25, 25]], ["neg", "pos"])
    assert lean["leans"] and lean["most"] == "pos" and lean["errors"] == [5, 25] and lean["sizes"] == [50, 50]
    even = C.error_lean([[40, 10], [11, 39]], ["neg", "pos"])
    assert not even["leans"] and abs(even["gap"] - 0.02) < 1e-12
    assert not C.error_lean([[5, 0], [0, 5]], ["a", "b"])["leans"]
    with pytest.raises(ValueError, match="one name per class"):
        C.error_lean(np.eye(2), ["a"])


def _made_up_result(per_seed, dummy, confusion):
    cm = np.asarray(confusion)
    n = int(cm.sum())
    return C.ClassifyResult({0.1: 0.7}, 0.1, float(np.trace(cm) / n),
                            L.ProbeResult(per_seed, "made up", chance=dummy, n_train=200, n_test=n), dummy, cm,
                            np.zeros(n, dtype=int), np.full(n, 0.9), ["negative", "positive"])


def test_classify_findings_say_what_the_numbers_say():
    good = _made_up_result([0.80, 0.82, 0.81], 0.5, [[45, 5], [20, 30]])
    text = C.classify_findings(good, ["plain", "sarcasm", "negation"], ["plain"] * 80 + ["sarcasm"] * 20)
    assert text.startswith("With this model we found:") and "above the dummy baseline 0.500, more than the noise" in text
    assert "lean to one side" in text and "20 of 50 true positive" in text
    assert "2 of the 3 most confident mistakes" in text and "20% of the test set: more than" in text
    poor = _made_up_result([0.52, 0.50, 0.51], 0.5, [[26, 24], [25, 25]])
    text = C.classify_findings(poor, ["plain", "plain"], ["plain"] * 50 + ["mixed"] * 50)
    assert "within the noise" in text and "cannot say" in text
    assert "do not lean clearly" in text and "not more than their share" in text
    assert "no mistakes to sort" in C.classify_findings(poor, [], ["plain"])


def test_fine_tune_is_a_top_level_helper_for_any_sequence_of_strings(tiny):
    """The API scripts use: helpers.fine_tune(lm, texts, labels, readout=...) -> .predict(texts) of shape (N,)."""
    import pandas as pd

    texts = pd.Series(["good fun film", "bad dull film", "great great", "awful boring"])
    ft = helpers.fine_tune(tiny, texts, np.array([1, 0, 1, 0]), readout=2, steps=2, batch_size=2, progress=False)
    assert isinstance(ft, helpers.FineTuned) and ft.readout.key == "pos2"
    pred = ft.predict(np.array(["good", "bad fun"]))
    assert pred.shape == (2,) and set(pred) <= {0, 1}
    with pytest.raises(ValueError):
        helpers.fine_tune(tiny, texts, [1, 0, 1], steps=1, progress=False)
