"""[CLS] vs pooling views: probes per layer, cosine retrieval, cached 2-D maps and their widgets."""

import numpy as np
import pytest

from helpers import pooling_views as V


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
    assert box.state["layer"] == 2
    box.controls["layer"].value = 0
    assert box.state["layer"] == 0
    assert not np.array_equal(box.state["coords"]["cls"], cache.get("label", "cls", 2))
    box.controls["colour"].value = "again"
    assert box.state["colour"] == "again"
    assert box.controls["image"].value[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="umap"):
        V.project_2d(feats["cls"][0], method="tsne")


def test_neighbour_explorer_changes_with_the_query():
    feats, y = _features(n=20)
    texts = [f"sentence {i}" for i in range(20)]
    box = V.build_neighbour_explorer(texts, feats, y, ["a", "b"], k=3)
    first = dict(box.state)
    box.controls["query"].value = 5
    assert box.state != first and 5 not in box.state["mean"]
    assert "sentence 5" in box.controls["view"].value
