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


def test_live_check_on_another_model_compares_its_own_heads(tiny):
    """A model the sweep was not run on gets its own live heads, compared paired, and no agreement verdict."""
    import helpers

    shipped = {"provenance": {"model_fingerprint": "not-this-one", "model": "embedded"}}
    train = helpers.load_reviews("train", limit=40)
    test = helpers.load_reviews("test", limit=30)
    res = V.live_check(tiny, shipped, quick=True, train=train, test=test)
    assert res.kind == "other model" and res.agrees is None and set(res.cells) == {"cls", "mean"}
    assert all(len(c["correct"]) == len(test) for c in res.cells.values())
    assert any("the shipped sweep is for embedded" in line for line in res.lines)


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
    after = V.cls_attention_profile(FT.as_loaded_model(models[("cls", 0)]), TEXTS)
    assert after.others_read_cls.shape == (tiny.num_layers,)
    fig = V.draw_cls_attention(prof, after, label_after="tuned")
    assert len(fig.axes) == 3
    with pytest.raises(ValueError, match="empty"):
        V.cls_attention_profile(tiny, [])


# ----------------------------------------------------------------------------- within the noise, findings, anisotropy

from helpers.core.linear import ProbeResult  # noqa: E402


def _pr(values, n_test=248, chance=0.5):
    return ProbeResult(values, "made up", chance=chance, n_train=996, n_test=n_test)


def _made_up_probe(pooler_best=True):
    """Seven layers; the mean peaks at layer 3; at the last layer [CLS] 0.687 and the pooler 0.695 (or far below)."""
    cls = {0: _pr([0.5, 0.5, 0.5]), **{layer: _pr([0.64, 0.65, 0.66]) for layer in range(1, 6)},
           6: _pr([0.681, 0.687, 0.693])}
    mean = {layer: _pr([0.70, 0.70, 0.71]) for layer in range(7)}
    mean[3] = _pr([0.763, 0.774, 0.785])
    mean[6] = _pr([0.67, 0.676, 0.682])
    first = {layer: _pr([0.60, 0.61, 0.62]) for layer in range(7)}
    pooler = {6: _pr([0.690, 0.695, 0.700]) if pooler_best else _pr([0.50, 0.51, 0.52])}
    return {"cls": cls, "mean": mean, "pooler": pooler, "first": first}


def test_check_best_pooling_accepts_any_answer_within_the_noise():
    probe = _made_up_probe()
    close = V.check_best_pooling("cls", probe)  # 0.687 against the pooler's 0.695: the noise cannot rank them
    assert close.ok is True and "indistinguishable from the best" in str(close) and "pooler" in str(close)
    assert "cls" in V.check_best_pooling("pooler", probe).details["within the noise"]
    far = V.check_best_pooling("first", probe)
    assert far.ok is False and "the noise margin is" in str(far)  # no per-sentence results: the noise margin
    assert V.check_best_pooling("average", probe).ok is False


def test_check_best_pooling_is_paired_when_the_probes_are():
    """Probes scored on the same reviews: the check words its verdict from the paired interval."""
    feats, y = _features()
    test, yt = _features(seed=1)
    probe = V.probe_by_layer(feats, y, test, yt, seeds=(0, 1))
    assert probe["cls"][2].correct.shape == (2, len(y) + len(yt))  # every labelled sentence, cross-fitted
    best = max(probe, key=lambda p: probe[p][2].mean)
    worst = min(probe, key=lambda p: probe[p][2].mean)
    msg = str(V.check_best_pooling(worst, probe))
    assert "paired on the same reviews, the difference lies within [" in msg or best == worst


def test_check_higher_mean_cosine_accepts_a_tie_within_the_noise():
    rows = {"cls": {"mean cosine": 0.300, "mean cosine se": 0.02}, "mean": {"mean cosine": 0.290, "mean cosine se": 0.02}}
    assert V.check_higher_mean_cosine("cls", rows).ok is True
    tie = V.check_higher_mean_cosine("mean", rows)
    assert tie.ok is True and "within the noise" in str(tie)
    rows["mean"]["mean cosine"] = 0.1
    assert V.check_higher_mean_cosine("mean", rows).ok is False
    assert V.within_noise(0.3, 0.29, 0.02, 0.02) and not V.within_noise(0.3, 0.1, 0.02, 0.02)


def test_retrieval_scores_carry_their_standard_errors():
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3), 10)
    res = V.retrieval_scores(rng.normal(size=(30, 8)) + 5.0, y, k=3)
    assert res["precision@3 se"] > 0 and res["mean cosine se"] > 0
    assert res["mean cosine se"] < 0.2


def test_best_frozen_and_probe_findings_two_outcomes():
    probe = _made_up_probe()
    p, layer, best, ties = V.best_frozen(probe)
    assert (p, layer) == ("mean", 3) and best.mean == pytest.approx(0.774)
    assert ("first", 0) not in ties  # 0.61 is far below 0.774
    stats_untrained = {"bias_abs_max": 0.0, "weight_std": 0.009, "init_std": 0.02, "untrained": True}
    text = V.probe_findings(probe, stats_untrained)
    assert text.startswith("With this model we found:")
    assert "the best frozen feature is the masked mean at layer 3 (0.774" in text
    assert "at chance" in text and "never trained" in text and "random projection and tanh" in text
    assert "already scores 0.703, above chance" in text
    assert "the best is the pooler" in text
    # a trained pooler far below, and a [CLS] that never catches up
    low = _made_up_probe(pooler_best=False)
    for layer in range(1, 7):
        low["cls"][layer] = _pr([0.55, 0.56, 0.57])
    text = V.probe_findings(low, {"bias_abs_max": 0.2, "weight_std": 0.03, "init_std": 0.02, "untrained": False})
    assert "stays below the mean" in text and "trained (its bias is not 0)" in text
    low["mean"][0] = _pr([0.50, 0.51, 0.49])
    assert "scores 0.500, at chance too" in V.probe_findings(low, None)
    assert "random projection" not in text
    text = V.probe_findings(low, stats_untrained)  # untrained but clearly below the best
    assert "below the best" in text and "lose part of" in text
    with pytest.raises(ValueError, match="'cls' and 'mean'"):
        V.probe_findings({"max": probe["first"]})


def test_anisotropy_of_a_shared_direction():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 10)
    x = rng.normal(size=(4, 8))[y] * 2 + rng.normal(size=(40, 8))
    shifted = x.copy()
    shifted[:, 5] += 40.0  # one huge coordinate every vector shares
    shape = V.anisotropy(shifted, y)
    raw, centred = shape["raw"], shape["centred"]
    assert raw["mean cosine"] > 0.9 and raw["lowest"] > 0.5  # every pair looks alike
    assert raw["mean cosine"] == stats.alikeness(shifted)
    assert abs(centred["mean cosine"]) < 0.1 and centred["separation"] > raw["separation"]
    assert raw["same label"] > raw["other label"]
    assert shape["massive"].dim == 5 and shape["massive"].alike_without < raw["mean cosine"]
    with pytest.raises(ValueError, match="two labels"):
        V.anisotropy(shifted, np.zeros(40))
    with pytest.raises(ValueError, match="one label per vector"):
        V.anisotropy(shifted, y[:-1])


def test_retrieval_findings_two_outcomes():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 10)
    x = rng.normal(size=(4, 8))[y] * 2 + rng.normal(size=(40, 8))
    shifted = x + 0.0
    shifted[:, 5] += 40.0
    centred = V.retrieval_scores(shifted, y, center=True)["precision@5"]
    rows = {"cls": {**V.retrieval_scores(shifted, y), "centred precision@5": centred}, "mean": V.retrieval_scores(x, y)}
    shapes = {"cls": V.anisotropy(shifted, y), "mean": V.anisotropy(x, y)}
    text = V.retrieval_findings(rows, shapes)
    assert text.startswith("With this model we found:") and "every pair has a positive cosine" in text
    assert "do not trust raw [CLS] cosine" in text and "dim 5" in text
    swapped = V.retrieval_findings({"cls": rows["mean"], "mean": rows["cls"]},
                                   {"cls": shapes["mean"], "mean": shapes["cls"]})
    assert "does not share more of one direction" in swapped and "do not trust" not in swapped
    with pytest.raises(ValueError, match="'cls' and 'mean'"):
        V.retrieval_findings({"cls": rows["cls"]}, shapes)


def test_map_agreement_and_map_findings():
    y = np.repeat(np.arange(3), 10)
    clustered = np.c_[y * 10.0, np.zeros(30)] + np.random.default_rng(0).normal(size=(30, 2)) * 0.1
    tidy = V.map_agreement(clustered, y, k=5)
    assert tidy["agreement"] == 1.0 and tidy["chance"] == pytest.approx(3 * 10 * 9 / (30 * 29))
    mixed = V.map_agreement(np.random.default_rng(1).normal(size=(30, 2)), y, k=5)
    assert mixed["agreement"] < 0.7
    with pytest.raises(ValueError, match="one label per point"):
        V.map_agreement(clustered, y[:-1])
    text = V.map_findings({("topic", "cls"): mixed, ("topic", "mean"): tidy}, 6, layer0_alike=1.0)
    assert "same [CLS] vector" in text and "less cleanly than the mean" in text
    text = V.map_findings({("topic", "cls"): tidy, ("topic", "mean"): tidy}, 6, layer0_alike=0.5)
    assert "already differ" in text and "about as cleanly" in text


def test_embedded_last_layer_cls_is_alike_for_every_pair(embedded, tmp_path):
    import helpers

    topics = helpers.load_topics(limit=48)
    feats = helpers.FeatureCache(cache_dir=tmp_path).features_multi(embedded, topics.texts, ("cls", "mean"))
    cls, mean = V.anisotropy(feats["cls"][-1], topics.labels), V.anisotropy(feats["mean"][-1], topics.labels)
    assert cls["raw"]["mean cosine"] > mean["raw"]["mean cosine"] and cls["raw"]["lowest"] > 0
    assert cls["centred"]["separation"] > cls["raw"]["separation"]  # centring helps raw [CLS] retrieval


def test_draw_cls_attention_speaks_of_rows_and_columns(tiny):
    prof = V.cls_attention_profile(tiny, TEXTS)
    titles = [ax.get_title() for ax in V.draw_cls_attention(prof, prof).axes]
    assert titles[0] == "what [CLS] reads (its row)" and titles[1] == "how much others read [CLS] (its column)"
    assert "what [CLS] reads" in titles[2]
