"""Notebook 06, [CLS] vs pooling: probes per layer, cosine retrieval, cached 2-D maps and their explorers,
the fine-tuned heads against the frozen probe, and where [CLS]'s attention goes."""

import numpy as np
import pytest

from helpers.core import stats
from helpers.core.cube import POOLING_LABELS, POOLINGS
from helpers.lessons import cls_vs_pooling as V
from helpers.ui.explorer import Explorer


def _features(n=80, layers=3, width=6, seed=0):
    """A signal that grows with the layer in 'mean' and is absent from 'cls'."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    mean = rng.normal(size=(layers, n, width))
    for layer in range(layers):
        mean[layer, :, 0] += 1.5 * layer * y
    cls = rng.normal(size=(layers, n, width))
    pooler = rng.normal(size=(n, width))
    pooler[:, 1] += 3 * y
    return {"cls": cls, "mean": mean, "pooler": pooler}, y


def test_probe_by_layer_reads_where_the_signal_is():
    feats, y = _features()
    test, yt = _features(seed=1)
    res = V.probe_by_layer(feats, y, test, yt, seeds=(0, 1))
    assert list(res) == ["cls", "mean", "pooler"]
    assert sorted(res["mean"]) == [0, 1, 2] and list(res["pooler"]) == [2]
    assert res["mean"][2].mean > 0.8 and abs(res["mean"][0].mean - 0.5) < 0.2
    assert abs(res["cls"][2].mean - 0.5) < 0.2 and res["pooler"][2].mean > 0.8
    best = V.best_per_pooling(res)
    assert best["mean"][0] == 2
    fig = V.draw_probe_by_layer(res)
    assert len(fig.axes) == 1
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert set(legend) == {POOLING_LABELS[p] for p in ("cls", "mean", "pooler")} | {"majority class"}


def test_check_best_pooling():
    feats, y = _features()
    test, yt = _features(seed=1)
    res = V.probe_by_layer(feats, y, test, yt, seeds=(0,))
    for unanswered in (None, ...):
        verdict = V.check_best_pooling(unanswered, res)
        assert verdict.ok is None and str(verdict).startswith("Not answered")
    best = max(res, key=lambda p: res[p][2].mean)
    right = V.check_best_pooling(best, res)
    assert right.ok is True and str(right).startswith("Right")
    wrong = V.check_best_pooling("cls", res)
    assert wrong.ok is False and str(wrong).startswith("Not quite")
    unknown = V.check_best_pooling("avg", res)
    assert unknown.ok is False and "not one of" in str(unknown)


def test_check_higher_mean_cosine_follows_the_computed_values():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 8)
    spread = rng.normal(size=(24, 8))
    rows = {"cls": V.retrieval_scores(spread + 30.0, y), "mean": V.retrieval_scores(spread, y)}
    assert rows["cls"]["mean cosine"] > rows["mean"]["mean cosine"]  # a shared offset makes every pair alike
    for unanswered in (None, ...):
        verdict = V.check_higher_mean_cosine(unanswered, rows)
        assert verdict.ok is None and str(verdict).startswith("Not answered")
    for answer in ("cls", "[CLS]", " CLS "):
        verdict = V.check_higher_mean_cosine(answer, rows)
        assert verdict.ok is True and str(verdict).startswith("Right")
    wrong = V.check_higher_mean_cosine("mean", rows)
    assert wrong.ok is False and str(wrong).startswith("Not quite") and "[CLS]" in str(wrong)
    assert V.check_higher_mean_cosine("max", rows).ok is False
    swapped = {"cls": rows["mean"], "mean": rows["cls"]}  # the verdict comes from the numbers, not a fixed answer
    assert V.check_higher_mean_cosine("mean", swapped).ok is True
    assert V.check_higher_mean_cosine("cls", swapped).ok is False


def test_retrieval_scores_and_anisotropy():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 10)
    centres = rng.normal(size=(4, 8)) * 3
    x = centres[y] + rng.normal(size=(40, 8))
    good = V.retrieval_scores(x, y, k=5)
    assert good["precision@5"] > 0.9 and good["mAP"] > 0.8
    noise = V.retrieval_scores(rng.normal(size=(40, 8)), y, k=5)
    assert noise["precision@5"] < 0.5
    # a large shared offset makes every cosine close to 1 and hides the clusters; centring brings them back
    shifted = x + 40.0
    raw = V.retrieval_scores(shifted, y, k=5)
    centred = V.retrieval_scores(shifted, y, k=5, center=True)
    assert raw["mean cosine"] > 0.95 and centred["precision@5"] >= raw["precision@5"]
    # "mean cosine" is the course's one definition of alikeness, and the mean of the off-diagonal cosines
    assert raw["mean cosine"] == stats.alikeness(shifted)
    sim = stats.cosine_matrix(shifted)
    off = (sim.sum() - np.trace(sim)) / (len(sim) * (len(sim) - 1))
    assert abs(raw["mean cosine"] - off) < 1e-12
    with pytest.raises(ValueError, match="one label per vector"):
        V.retrieval_scores(x, y[:-1])
    assert V.nearest(x, [str(i) for i in range(40)], 0, k=3)[0][1] != "0"


def test_projection_cache_and_explorer(tmp_path):
    feats, y = _features(n=30)
    maps = {"label": V.MapData(feats, y, ["a", "b"]), "again": V.MapData(feats, 1 - y, ["b", "a"])}
    cache = V.ProjectionCache(maps, method="pca", cache_dir=tmp_path)
    a = cache.get("label", "cls", 1)
    assert a.shape == (30, 2)
    assert len(list((tmp_path / "projections").glob("*.npy"))) == 1
    np.testing.assert_array_equal(V.project_2d(feats["cls"][1], "pca", cache_dir=tmp_path), a)
    box = V.build_projection_explorer(cache, num_layers=2, layer=2)
    assert isinstance(box, Explorer)
    assert box.state["layer"] == 2
    box.set(layer=0)
    assert box.state["layer"] == 0
    assert not np.array_equal(box.state["coords"]["cls"], cache.get("label", "cls", 2))
    box.set(colour="again")
    assert box.state["colour"] == "again"
    assert box.views["image"].value[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="umap"):
        V.project_2d(feats["cls"][0], method="tsne")
    with pytest.raises(ValueError, match="layer must be"):
        V.build_projection_explorer(cache, num_layers=2, layer=5)


def test_projection_explorer_shows_a_failure_instead_of_raising(tmp_path):
    feats, y = _features(n=30)
    maps = {"full": V.MapData(feats, y, ["a", "b"]), "cls only": V.MapData({"cls": feats["cls"]}, y, ["a", "b"])}
    box = V.build_projection_explorer(V.ProjectionCache(maps, method="pca", cache_dir=tmp_path), num_layers=2)
    assert "error" not in box.state
    box.set(colour="cls only")  # this data set has no mean vectors: an error in the widget, not an exception
    assert "no 'mean' vectors" in box.state["error"] and "no &#x27;mean&#x27; vectors" in box.status.value
    box.set(colour="full")
    assert "error" not in box.state


def test_projection_figure_redraws_one_figure():
    fig = V.ProjectionFigure(["cls", "mean"])
    rng = np.random.default_rng(0)
    coords = {p: rng.normal(size=(10, 2)) for p in ("cls", "mean")}
    first = fig.render(coords, np.arange(10) % 2, ["a", "b"], title="t")
    second = fig.render({p: c * 2 + 1 for p, c in coords.items()}, np.arange(10) % 2, ["a", "b"])
    assert first[:4] == second[:4] == b"\x89PNG" and len(fig.fig.legends) == 1
    assert [ax.get_title() for ax in fig.axes] == [POOLING_LABELS["cls"], POOLING_LABELS["mean"]]
    drawn = V.draw_projection(coords, np.arange(10) % 2, ["a", "b"], title="both")
    assert len(drawn.axes) == 2


def test_neighbour_explorer_changes_with_the_query():
    feats, y = _features(n=20)
    texts = [f"sentence {i}" for i in range(20)]
    box = V.build_neighbour_explorer(texts, feats, y, ["a", "b"], k=3)
    assert isinstance(box, Explorer)
    first = dict(box.state)
    box.set(query=5)
    assert box.state != first and 5 not in box.state["neighbours"]["mean"]
    assert "sentence 5" in box.views["view"].value
    assert box.state["neighbours"]["cls"] == [
        texts.index(t) for _, t in V.nearest(feats["cls"][box.state["layer"]], texts, 5, k=3)]
    with pytest.raises(ValueError, match="no \\['max'\\] vectors"):
        V.build_neighbour_explorer(texts, feats, y, ["a", "b"], poolings=("cls", "max"))


def test_pooling_names_come_from_the_core():
    assert not hasattr(V, "POOLING_ORDER") and not hasattr(V, "LABELS") and not hasattr(V, "SBERT_REFERENCE")
    feats, y = _features()
    res = V.probe_by_layer({**feats, "max": feats["mean"]}, y, {**feats, "max": feats["mean"]}, y, seeds=(0,),
                           layers=[2])
    assert list(res) == [p for p in POOLINGS if p in res]  # display order of the core


def test_compare_with_frozen_pairs_heads_with_the_probe():
    feats, y = _features()
    test, yt = _features(seed=1)
    probe = V.probe_by_layer(feats, y, test, yt, seeds=(0, 1))
    rows = [{"head": "cls", "seed": 0, "accuracy": 0.6}, {"head": "mean", "seed": 0, "accuracy": 0.7},
            {"head": "cls", "seed": 1, "accuracy": 0.8}, {"head": "mean", "seed": 1, "accuracy": 0.7}]
    heads = V.compare_with_frozen(rows, probe, layer=2)
    assert heads.has_both and heads.tuned["cls"].n == 2 and heads.frozen["mean"] is probe["mean"][2]
    gaps = heads.gaps()
    assert gaps["fine-tuned"] == pytest.approx(0.0)
    assert gaps["frozen"] == pytest.approx(probe["mean"][2].mean - probe["cls"][2].mean)
    with pytest.raises(ValueError, match="layer 7"):
        V.compare_with_frozen(rows, probe, layer=7)
    with pytest.raises(ValueError, match="both heads"):
        V.compare_with_frozen(rows[:1], probe, layer=2).gaps()


TEXTS = ["good great fun.", "bad, awful, boring!", "i love this movie"]


def _old_cls_attention(lm, texts):
    """The removed classify.cls_attention (ASCII punctuation; per-sentence average of the [CLS] column)."""
    import string

    cube = V.experiments.encode(lm, list(texts), hidden_states=False, attentions=True)
    att = cube.attentions.numpy()
    from_cls, to_cls = np.zeros((att.shape[0], 4)), np.zeros(att.shape[0])
    for row in range(att.shape[1]):
        toks = cube.tokens[row]
        n = len(toks)
        cat = np.array([0 if t == "[CLS]" else 1 if t == "[SEP]" else
                        2 if t and all(ch in string.punctuation for ch in t) else 3 for t in toks])
        q = att[:, row, :, 0, :n].mean(1)
        for c in range(4):
            from_cls[:, c] += q[:, cat == c].sum(1)
        to_cls += att[:, row, :, 1:n, 0].mean(axis=(1, 2))
    return from_cls / att.shape[1], to_cls / att.shape[1]


def test_cls_attention_profile(tiny):
    from helpers.core import finetune as FT

    prof = V.cls_attention_profile(tiny, TEXTS)
    reads = np.stack([prof.reads[k] for k in ("cls", "sep", "punct", "word")], axis=1)
    assert reads.shape == (tiny.num_layers, 4)
    np.testing.assert_allclose(reads.sum(1), 1.0, atol=1e-5)  # [CLS]'s row is a distribution
    assert prof.cls_row.shape == (tiny.num_layers, len(prof.tokens)) and prof.tokens[0] == "[CLS]"
    assert prof.others_read_cls.shape == (tiny.num_layers,)
    # ASCII-only text: "what [CLS] reads" equals the old from_cls exactly
    old_from, old_to = _old_cls_attention(tiny, TEXTS)
    np.testing.assert_allclose(reads, old_from, atol=1e-6)
    assert old_to.shape == prof.others_read_cls.shape  # averaged per sentence before, per token now
    rows, models = FT.compare_heads(tiny, TEXTS, [1, 0, 1], TEXTS, [1, 0, 1], steps=2, batch_size=2, progress=False)
    after = V.cls_attention_profile(FT.as_loaded_model(tiny, models[("cls", 0)]), TEXTS)
    assert after.others_read_cls.shape == (tiny.num_layers,)
    fig = V.draw_cls_attention(prof, after, label_after="tuned")
    assert len(fig.axes) == 3
    with pytest.raises(ValueError, match="empty"):
        V.cls_attention_profile(tiny, [])
