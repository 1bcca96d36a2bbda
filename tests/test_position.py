"""Tests for helpers.lessons.position_of_cls (notebook 02): the facts the lesson teaches, the experiments,
explorers and checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import helpers
from helpers.core.linear import ProbeResult
from helpers.core.stats import alikeness, compare_estimates, cosine_matrix, noise_margin
from helpers.lessons import position_of_cls as pos

SENTENCES = ["the film was good", "i hate this movie", "never again", "the acting was bad but the music was great"]


@pytest.fixture(scope="module")
def tiny_cube(tiny):
    return helpers.encode(tiny, SENTENCES, attentions=False)


@pytest.fixture(scope="module")
def tiny_study(tiny):
    train = helpers.load_reviews("train").sample(30)
    test = helpers.load_reviews("test").sample(16)
    return pos.position_experiment(tiny, train, test, seeds=(0, 1))


# ----------------------------------------------------------------------------- 1. nothing of its own


def test_cls_input_is_the_same_for_every_sentence(any_model):
    cube = helpers.encode(any_model, SENTENCES, attentions=False)
    ident = pos.cls_identity(cube)
    assert ident["input_max_distance"] == pytest.approx(0.0, abs=1e-5)
    assert ident["output_min_distance"] > 1e-3
    assert ident["n"] == len(SENTENCES)
    alike = pos.alikeness_by_layer(cube, hows=("cls",))["cls"]
    assert alike[0] == pytest.approx(1.0, abs=1e-6)
    if any_model.name == "embedded":  # a trained model makes [CLS] sentence-specific by the last layer
        assert alike[-1] < 0.99


def test_cls_input_by_hand_matches_hidden_states(any_model):
    # the notebook writes the [CLS] input embedding out by hand; it must equal hidden_states[0][:, 0]
    emb = any_model.encoder.embeddings
    tok = any_model.tokenizer
    with torch.inference_mode():
        by_hand = emb.LayerNorm(
            emb.word_embeddings.weight[tok.cls_token_id]
            + emb.position_embeddings.weight[0]
            + emb.token_type_embeddings.weight[0]
        ).float().cpu()
    cube = helpers.encode(any_model, SENTENCES[:2], attentions=False)
    assert torch.allclose(cube.hidden_states[0][:, 0], by_hand.expand(2, -1), atol=1e-5)


def test_movement_and_alikeness_by_layer(tiny_cube):
    mov = pos.cls_movement(tiny_cube)
    layers = tiny_cube.num_layers
    assert mov["cls_from_input"].shape == (layers + 1,) and mov["cls_from_input"][0] == pytest.approx(0.0, abs=1e-6)
    assert mov["cls_step"].shape == (layers,) and mov["word_step"].shape == (layers,)
    assert (mov["word_step"] > 0).all()
    alike = pos.alikeness_by_layer(tiny_cube, hows=("cls", "mean"))
    assert alike["cls"][0] == pytest.approx(1.0, abs=1e-6)
    assert alike["cls"][-1] < alike["cls"][0]
    assert alike["mean"][0] < 1.0


def test_alikeness_values():
    # the lesson's "how alike" is the core's one definition
    same = np.ones((3, 4))
    assert alikeness(same) == pytest.approx(1.0)
    assert alikeness(np.eye(4)) == pytest.approx(0.0)
    assert alikeness(np.array([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx(-1.0)
    with pytest.raises(ValueError):
        alikeness(np.ones(4))
    m = cosine_matrix(np.eye(3))
    assert np.allclose(m, np.eye(3))


def test_the_lesson_uses_the_core_definitions(tiny_cube):
    from helpers.core import readouts

    for gone in ("alikeness", "cosine_matrix", "margin", "compare", "locally_available", "_cos_rows"):
        assert not hasattr(pos, gone), gone
    # the input layouts and readouts are the core's (shared with notebook 06's sweep)
    assert pos.layout_row is readouts.layout_row and pos.LAYOUTS is readouts.LAYOUTS
    assert list(pos.READOUTS) == list(pos.STUDIED)
    for key, (layout, what, label) in pos.READOUTS.items():
        core = readouts.READOUTS[key]
        assert (layout, what, label) == (core.layout, core.what, core.label)
    alike = pos.alikeness_by_layer(tiny_cube, hows=("cls", "mean"))
    for layer in (0, tiny_cube.num_layers):
        assert alike["cls"][layer] == pytest.approx(alikeness(tiny_cube.cls(layer)), abs=1e-12)
        assert alike["mean"][layer] == pytest.approx(alikeness(tiny_cube.mean(layer)), abs=1e-12)
    view = pos.layer_view(tiny_cube, 1)
    assert np.allclose(view["matrix"], cosine_matrix(tiny_cube.cls(1)))
    # the movement is 1 - cosine of paired rows: check one entry by hand
    mov = pos.cls_movement(tiny_cube)
    a, b = tiny_cube.cls(0).double(), tiny_cube.cls(-1).double()
    by_hand = 1 - torch.nn.functional.cosine_similarity(a, b, dim=1).mean()
    assert mov["cls_from_input"][-1] == pytest.approx(float(by_hand), abs=1e-9)


def test_first_specific_layer():
    assert pos.first_specific_layer([1.0, 1.0, 0.9999, 0.95, 0.7]) == 3
    assert pos.first_specific_layer([1.0, 1.0]) is None
    assert pos.first_specific_layer([1.0, 0.5], below=0.4) is None
    assert 0.9 < pos.SENTENCE_SPECIFIC_BELOW < 1.0
    with pytest.raises(ValueError):
        pos.first_specific_layer([])


def test_layer_view(tiny_cube):
    v0 = pos.layer_view(tiny_cube, 0)
    assert v0["matrix"].shape == (len(SENTENCES),) * 2
    assert np.allclose(v0["matrix"], 1.0, atol=1e-5) and v0["moved"] == pytest.approx(0.0, abs=1e-6)
    last = pos.layer_view(tiny_cube, tiny_cube.num_layers)
    assert last["alike"] < v0["alike"]
    for bad in (-1, tiny_cube.num_layers + 1, 1.5):
        with pytest.raises(ValueError):
            pos.layer_view(tiny_cube, bad)
    with pytest.raises(ValueError):
        pos.cls_identity("not a cube")


# ----------------------------------------------------------------------------- 2. built from the other tokens


def test_far_word_changes_cls_only_after_layer_0(any_model):
    eff = pos.far_word_effect(any_model, "the film was long but the ending was good",
                              "the film was long but the ending was bad")
    assert eff["positions"] and eff["positions"][0] > 5
    assert eff["cls_distance"][0] == pytest.approx(0.0, abs=1e-6)
    # the random tiny model mixes only a little; the trained model clearly
    assert eff["cls_distance"][-1] > (1e-3 if any_model.name == "embedded" else 1e-9)
    with pytest.raises(ValueError):
        pos.far_word_effect(any_model, "same words", "same words")


def test_strip_words_collapses(any_model):
    out = pos.strip_words(any_model, SENTENCES, keeps=(None, 2, 0))
    assert out["alike"][-1] == pytest.approx(1.0, abs=1e-5)
    assert out["spread"][-1] < 1e-4
    assert out["alike"][0] < out["alike"][-1]
    assert out["spread"][0] > 1e-6


def test_word_influence(tiny):
    inf = pos.word_influence(tiny, "the film was good")
    assert len(inf["tokens"]) == len(inf["distance"]) == len(tiny.tokenizer.tokenize("the film was good"))
    assert (inf["distance"] >= -1e-9).all() and inf["distance"].max() > 0
    assert inf["layer"] == tiny.num_layers
    with pytest.raises(ValueError):
        pos.word_influence(tiny, "a")


# ----------------------------------------------------------------------------- 3. the position experiments


def test_readouts_match_the_cube(tiny):
    texts = SENTENCES[:3]
    out = pos.position_readouts(tiny, texts)
    layers = tiny.num_layers + 1
    assert all(v.shape == (layers, 3, tiny.hidden_size) for v in out.values())
    cube = helpers.encode(tiny, texts, attentions=False)
    for key, how in (("cls", "cls"), ("mean", "mean"), ("first", "first"), ("last", "last"), ("sep", "sep")):
        for layer in (0, layers - 1):
            assert np.allclose(out[key][layer], cube.pool(how, layer).numpy(), atol=1e-5), (key, layer)
    tok = tiny.tokenizer
    words = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    end = helpers.encode_ids(tiny, [w + [tok.sep_token_id, tok.cls_token_id] for w in words], attentions=False)
    assert np.allclose(out["cls_end"][-1], end.token(-1).numpy(), atol=1e-5)
    nocls = helpers.encode_ids(tiny, [w + [tok.sep_token_id] for w in words], attentions=False)
    assert np.allclose(out["nocls_first"][-1], nocls.token(0).numpy(), atol=1e-5)
    assert np.allclose(out["nocls_mean"][-1], nocls.mean().numpy(), atol=1e-5)
    last_only = pos.position_readouts(tiny, texts, keys=("cls_middle", "sep"), all_layers=False)
    assert last_only["sep"].shape == (1, 3, tiny.hidden_size)
    assert np.allclose(last_only["cls_middle"][0], out["cls_middle"][-1], atol=1e-5)
    assert np.allclose(last_only["sep"][0], out["sep"][-1], atol=1e-5)
    with pytest.raises(ValueError):
        pos.position_readouts(tiny, texts, keys=("nowhere",))


def test_position_experiment(tiny_study):
    assert tiny_study.keys() == list(pos.READOUTS)
    for r in tiny_study.results:
        assert 0.0 <= r.probe.mean <= 1.0 and len(r.probe.accuracies) == 2
        assert r.alike.shape == (tiny_study.results[0].alike.shape[0],)
    # [CLS] at 0 enters identical for every sentence; moved to the end its position (and input) varies
    assert tiny_study["cls"].alike[0] == pytest.approx(1.0, abs=1e-6)
    assert tiny_study["cls_end"].alike[0] < 1.0 - 1e-4
    table = pos.results_table(tiny_study)
    assert all(r.label in table for r in tiny_study.results)
    text = pos.conclusion(tiny_study)
    assert f"{tiny_study['cls'].probe.mean:.3f}" in text and "Best readout" in text
    with pytest.raises(KeyError):
        tiny_study["nowhere"]
    with pytest.raises(ValueError):
        pos.position_experiment(None, [], [])


def _probe(name, accs, n=1000, correct=None):
    return ProbeResult(np.array(accs), name, chance=0.5, n_train=n, n_test=n, correct=correct)


def test_compare():
    # notebook 02's "above chance" checks use the core's noise_margin; readouts are compared paired (study.compare)
    a = _probe("a", [0.80, 0.82])
    b = _probe("b", [0.60, 0.62])
    assert compare_estimates(a, b) == "higher" and compare_estimates(b, a) == "lower"
    assert compare_estimates(a, a) == "about the same"
    # the same gap on a test set of 10 sentences cannot be told apart from chance
    small_a = _probe("a", [0.80, 0.82], n=10)
    small_b = _probe("b", [0.60, 0.62], n=10)
    assert compare_estimates(small_a, small_b) == "about the same"
    assert noise_margin(small_a, small_b) > noise_margin(a, b) >= 0.01


def test_draw_functions_return_figures(tiny_cube, tiny_study, tiny):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    open_before = plt.get_fignums()
    figs = [
        pos.draw_movement(pos.cls_movement(tiny_cube), pos.alikeness_by_layer(tiny_cube)),
        pos.draw_layer_view(pos.layer_view(tiny_cube, 1), SENTENCES),
        pos.draw_word_influence(pos.word_influence(tiny, "the film was good")),
        pos.draw_far_word(pos.far_word_effect(tiny, "the film was good", "the film was bad"),
                          pos.strip_words(tiny, SENTENCES, keeps=(None, 0))),
        pos.draw_position_results(tiny_study),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    assert plt.get_fignums() == open_before  # built with ui.figures.new_figure, never registered with pyplot


# ----------------------------------------------------------------------------- widgets


def test_layer_explorer_slider(tiny_cube):
    from helpers.ui.explorer import Explorer

    ex = pos.build_layer_explorer(tiny_cube, labels=SENTENCES)
    assert isinstance(ex, Explorer)
    slider, text, grid = ex.controls["layer"], ex.views["numbers"], ex.views["matrix"]
    assert slider.max == tiny_cube.num_layers and "layer 0" in text.value
    assert ex.state["layer"] == 0 and ex.state["alike"] == pytest.approx(1.0, abs=1e-6)
    before = (text.value, grid.value)
    state = ex.set(layer=tiny_cube.num_layers)
    assert (text.value, grid.value) != before and f"layer {tiny_cube.num_layers}" in text.value
    assert "error" not in state
    assert state["alike"] == pytest.approx(pos.layer_view(tiny_cube, tiny_cube.num_layers)["alike"])
    assert state["matrix"].shape == (len(SENTENCES),) * 2
    with pytest.raises(ValueError):
        pos.build_layer_explorer(tiny_cube, labels=SENTENCES[:2])


def test_layer_explorer_shows_a_bad_layer_instead_of_raising(tiny_cube):
    ex = pos.build_layer_explorer(tiny_cube, labels=SENTENCES)
    ex.controls["layer"].max = tiny_cube.num_layers + 3  # a slider pushed past the model's layers
    state = ex.set(layer=tiny_cube.num_layers + 2)
    assert "layer must be an integer from 0" in state["error"]
    assert "error" in ex.status.value
    assert "error" not in ex.set(layer=1)


def test_sentence_explorer_chooser(tiny):
    ex = pos.build_sentence_explorer(tiny, SENTENCES[:2])
    bars = ex.views["bars"]
    before = bars.value
    state = ex.set(sentence=SENTENCES[1])
    assert bars.value != before and "hate" in bars.value
    assert state["tokens"] == tiny.tokenizer.tokenize(SENTENCES[1])
    assert state["top"] == state["tokens"][int(np.argmax(state["distance"]))]
    assert state["top"] in ex.views["summary"].value
    with pytest.raises(ValueError):
        pos.build_sentence_explorer(tiny, [])


def test_position_explorer(tiny_study):
    ex = pos.build_position_explorer(tiny_study, key="cls_end")
    text, bars = ex.views["numbers"], ex.views["bars"]
    before = (text.value, bars.value)
    state = ex.set(readout="nocls_mean")
    assert (text.value, bars.value) != before and "no [CLS]: mean" in text.value
    assert state["label"] == pos.READOUTS["nocls_mean"][2]
    assert state["verdict"] == tiny_study.compare("nocls_mean").outcome
    assert tiny_study.compare("nocls_mean").verdict() in text.value.replace("&#x27;", "'")
    now = text.value
    state = ex.set(layer=0)
    assert text.value != now and "layer 0" in text.value
    assert state["alike"] == pytest.approx(tiny_study["nocls_mean"].alike[0])
    with pytest.raises(ValueError):
        pos.build_position_explorer("nope")
    with pytest.raises(ValueError):
        pos.build_position_explorer(tiny_study, key="nowhere")


def test_position_explorer_shows_a_bad_layer_instead_of_raising(tiny_study):
    ex = pos.build_position_explorer(tiny_study)
    last = ex.controls["layer"].max
    ex.controls["layer"].max = last + 2
    state = ex.set(layer=last + 1)
    assert "layer must be from 0" in state["error"]
    assert "error" not in ex.set(layer=last)


# ----------------------------------------------------------------------------- checks and availability


def test_check_input_cls(tiny_cube):
    ident = pos.cls_identity(tiny_cube)
    assert pos.check_input_cls(True, ident).ok is True
    assert pos.check_input_cls(False, ident).ok is False
    assert pos.check_input_cls(..., ident).ok is None
    assert pos.check_input_cls("yes", ident).ok is False
    assert pos.check_input_cls(True, ident).details["same"] is True
    assert ident["input_max_distance"] < pos.SAME_INPUT_TOL


def test_check_best_readout(tiny_study):
    best = max(tiny_study.results, key=lambda r: r.probe.mean)
    assert pos.check_best_readout(best.key, tiny_study).ok is True
    worst = min(tiny_study.results, key=lambda r: r.probe.mean)
    if tiny_study.compare(worst.key, best.key).outcome != "indistinguishable":
        assert pos.check_best_readout(worst.key, tiny_study).ok is False
    assert pos.check_best_readout("nowhere", tiny_study).ok is False
    assert pos.check_best_readout(None, tiny_study).ok is None
    with pytest.raises(ValueError):
        pos.check_best_readout("cls", "not a study")


def _correct(accs, n: int) -> np.ndarray:
    """(seeds, n) right/wrong rows with exactly the given accuracies, the right sentences drawn at random."""
    rng = np.random.default_rng(int(1000 * sum(accs)))
    return np.array([rng.permutation(np.arange(n) < round(a * n)).astype(float) for a in accs])


def test_check_best_readout_on_a_clear_case():
    def res(key, accs):
        return pos.PositionResult(key, key, "standard", _probe(key, accs, correct=_correct(accs, 400)), np.ones(3))

    study = pos.PositionStudy([res("cls", [0.6, 0.62]), res("mean", [0.9, 0.91])], "m", 200, 200, (0, 1))
    assert pos.check_best_readout("mean", study).ok is True
    assert pos.check_best_readout("cls", study).ok is False


def test_available_locally():
    # notebook 02 asks the core which other models it can compare without downloading
    from helpers.core.models import available_locally

    assert available_locally("embedded") is True
    assert available_locally("no-such-owner/no-such-model") is False


def _study(accs: dict[str, list[float]], n_test: int = 1000) -> pos.PositionStudy:
    results = [
        pos.PositionResult(k, pos.READOUTS[k][2], pos.READOUTS[k][0], _probe(pos.READOUTS[k][2], v, n_test, _correct(v, n_test)),
                           np.array([1.0, 0.5]))
        for k, v in accs.items()
    ]
    return pos.PositionStudy(results, "m", n_test, n_test, (0, 1))


def test_conclusion_follows_the_numbers():
    same = pos.conclusion(_study({"cls": [0.80, 0.81], "cls_end": [0.80, 0.80], "cls_middle": [0.79, 0.80]}))
    assert "did not make it worse, to within" in same and "indistinguishable" in same
    worse = pos.conclusion(_study({"cls": [0.80, 0.81], "cls_end": [0.60, 0.61], "cls_middle": [0.62, 0.60]}))
    assert "moving [CLS] made it worse" in worse and "lower than [CLS] at position 0 (the usual) by" in worse
    chance = pos.conclusion(_study({"cls": [0.50, 0.51], "cls_end": [0.50, 0.50]}))
    assert "not clearly above chance" in chance


def test_positionresult_has_one_name_for_mean_cosine(tiny_study):
    # one quantity, one name: the table, the plot and the explorer all show the mean cosine ("alike"), never 1 - it
    assert not hasattr(pos.PositionResult, "depends")
    assert "mean cosine" in pos.results_table(tiny_study)
    ex = pos.build_position_explorer(tiny_study)
    assert "mean cosine" in ex.views["bars"].value and "1 - alike" not in ex.views["bars"].value


# ----------------------------------------------------------------------------- the parking coordinate


def _parked_vectors(n: int, width: int = 24, layers: int = 3, seed: int = 0, signal: float = 0.05):
    """(layers,N,H) vectors with one huge shared coordinate (dim 3) and a tiny label signal in dim 5, plus labels."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.normal(scale=0.01, size=(layers, n, width))
    x[:, :, 3] += 10.0
    x[:, :, 5] += signal * (2 * y - 1)
    return x.astype(np.float32), y


def test_parking_study_cosine_says_same_a_probe_reads_it():
    tr, ytr = _parked_vectors(80, seed=0)
    te, yte = _parked_vectors(40, seed=1)
    study = pos.parking_study(tr, ytr, te, yte, seeds=(0, 1))
    assert len(study.rows) == len(study.probes) == 3 and study.num_layers == 2
    for r in study.rows:
        assert r.dim == 3 and r.share > 0.99 and r.alike > 0.999  # parked: cosine calls them the same
        assert 0.0 < r.specific < 0.02  # but a small part differs from sentence to sentence
    assert study.parked_layers() == [0, 1, 2]
    assert all(p.mean > 0.9 for p in study.probes) and study.above_chance(1)  # the probe reads it anyway
    table = pos.parking_table(study)
    assert table.count("\n") == 3 + 2 and "mean cosine" in table and "probe accuracy" in table
    text = pos.parking_finding(study)
    assert text.startswith("With this model we found:") and "dim 3" in text and "parked on it" in text
    assert "yet a standardised probe reads sentiment" in text
    with pytest.raises(ValueError):
        study.above_chance(7)
    with pytest.raises(ValueError):
        pos.parking_study(tr[0], ytr, te, yte)


def test_parking_finding_without_a_parking_coordinate():
    rng = np.random.default_rng(0)
    tr, te = rng.normal(size=(2, 60, 16)), rng.normal(size=(2, 40, 16))  # isotropic, no label signal
    ytr, yte = np.arange(60) % 2, np.arange(40) % 2
    study = pos.parking_study(tr, ytr, te, yte, seeds=(0,))
    assert study.parked_layers() == []
    text = pos.parking_finding(study)
    assert "there is no parking coordinate" in text and "cosine already tells them apart" in text
    assert "yet a standardised probe" not in text


def test_clearly_above_chance_is_the_conclusions_rule():
    assert pos.clearly_above_chance(_probe("x", [0.80, 0.81]))
    assert not pos.clearly_above_chance(_probe("x", [0.50, 0.52]))
    assert not pos.clearly_above_chance(_probe("x", [0.60, 0.62], n=10))  # within two standard errors of 10


@pytest.mark.filterwarnings("ignore::helpers.core.cube.TruncationWarning")  # the tiny model's 64-token limit
def test_parking_study_on_the_models(any_model):
    reviews = helpers.load_reviews("train").sample(24)
    cube = helpers.encode(any_model, reviews.texts, attentions=False)
    vecs = cube.hidden_states[:, :, 0]
    study = pos.parking_study(vecs, reviews.labels, vecs, reviews.labels, seeds=(0,))
    assert len(study.rows) == any_model.num_layers + 1
    assert study.rows[0].alike == pytest.approx(1.0, abs=1e-6) and study.rows[0].specific == pytest.approx(0, abs=1e-6)
    assert pos.parking_finding(study).startswith("With this model we found:")
    if any_model.name == "embedded":
        # the fact notebook 02 teaches about the embedded model: one coordinate holds almost all of layer-1 [CLS],
        # so cosine calls different sentences' [CLS] the same although a small part differs
        r = study.rows[1]
        assert r.share > pos.PARKING_SHARE and r.alike > pos.SAME_DIRECTION_ABOVE and r.specific > 1e-4
        assert 1 in study.parked_layers()


def test_layer1_cls_reads_sentiment_in_the_embedded_model(embedded):
    # what 06 and 07 see, explained in 02: cosine says "the same", a probe reads sentiment clearly above chance
    train = helpers.load_reviews("train").sample(300)  # the notebook's quick-mode sets (cached features)
    test = helpers.load_reviews("test").sample(200)
    cache = helpers.FeatureCache()
    study = pos.parking_study(cache.features(embedded, train.texts, "cls", layers="all"), train.labels,
                              cache.features(embedded, test.texts, "cls", layers="all"), test.labels, seeds=(0,))
    assert study.rows[1].alike > pos.SAME_DIRECTION_ABOVE and study.above_chance(1)
    assert "yet a standardised probe reads sentiment" in pos.parking_finding(study)


def _parking(accs: list[float], alike: float = 0.99999, n_test: int = 1000) -> pos.ParkingStudy:
    from helpers.core.geometry import MassiveCoordinate

    rows = [MassiveCoordinate(i, 7, 5.0, 5.1, 0.98, 0.1, 1.0 if i == 0 else alike, alike, 0.002) for i in range(len(accs))]
    probes = [_probe(f"layer {i}", [a, a], n=n_test) for i, a in enumerate(accs)]
    return pos.ParkingStudy(rows, probes, n_test, n_test, "m")


def test_check_layer1_probe():
    reads = _parking([0.5, 0.70, 0.75])
    assert pos.check_layer1_probe(True, reads).ok is True
    assert pos.check_layer1_probe(False, reads).ok is False
    assert pos.check_layer1_probe(..., reads).ok is None
    assert pos.check_layer1_probe("yes", reads).ok is False
    empty = _parking([0.5, 0.505, 0.75])
    assert pos.check_layer1_probe(False, empty).ok is True and pos.check_layer1_probe(True, empty).ok is False
    with pytest.raises(ValueError):
        pos.check_layer1_probe(True, "not a study")


# ----------------------------------------------------------------------------- why first


def test_padding_view(any_model):
    texts = ["good", "the acting was bad but the music was great"]
    view = pos.padding_view(any_model, texts)
    short, long = view["rows"]
    assert short["first"] == long["first"] == any_model.tokenizer.cls_token  # index 0 is always real
    assert short["last"] == any_model.tokenizer.pad_token and short["last_is_pad"]  # index -1 is [PAD] when short
    assert not long["last_is_pad"] and long["length"] == view["width"]
    assert view["last_norm"][0] == 0.0 and view["last_norm"][1] > 0
    assert "[PAD] in 1 of 2 rows" in pos.padding_finding(view)
    assert "index 0" in pos.padding_table(view)
    with pytest.raises(ValueError):
        pos.padding_view(any_model, "one text")


def test_keeps_its_word(tiny, embedded):
    texts = SENTENCES
    rows, _ = helpers.core.cube.tokenize(tiny, texts)
    table = tiny.encoder.get_input_embeddings().weight.detach()
    own = torch.stack([table[r["input_ids"][1]] for r in rows])
    assert pos.keeps_its_word(tiny, texts, own, position=1)["hits"] == 1.0  # its own embedding row: always found
    other = torch.stack([table[r["input_ids"][1] + 1] for r in rows])
    out = pos.keeps_its_word(tiny, texts, other, position=1)
    assert out["hits"] == 0.0 and out["vocab"] == len(table) and out["chance"] == pytest.approx(1 / len(table))
    with pytest.raises(ValueError):
        pos.keeps_its_word(tiny, texts, own[:2], position=1)
    # the embedded model: through the residual stream the first word's last-layer output still names its word
    cube = helpers.encode(embedded, texts, attentions=False)
    assert pos.keeps_its_word(embedded, texts, cube.token(1), position=1)["hits"] >= 0.5


def test_cls_weight_in_mean(tiny):
    from helpers.core.attention import uniform_share

    cube = helpers.encode(tiny, SENTENCES, attentions=False)
    w = pos.cls_weight_in_mean(tiny, SENTENCES)
    assert w["mean"] == pytest.approx(uniform_share(cube.attention_mask))
    assert w["largest"] == pytest.approx(1 / int(cube.lengths.min())) and w["n"] == len(SENTENCES)
    # mean pooling includes [CLS]: its output is exactly 1/n of the masked mean
    without_cls = cube.last_hidden.clone()
    without_cls[:, 0] = 0
    from helpers.core.cube import masked_mean

    share = cube.mean() - masked_mean(without_cls, cube.attention_mask)
    assert torch.allclose(share, cube.cls() / cube.lengths[:, None], atol=1e-6)


# ----------------------------------------------------------------------------- "With this model we found"


def test_movement_finding_two_outcomes():
    mov = {"cls_step": np.array([0.01, 0.02, 0.3]), "word_step": np.ones(3), "cls_from_input": np.zeros(4)}
    late = pos.movement_finding(mov, {"cls": np.array([1.0, 1.0, 0.9999, 0.7]), "mean": np.array([0.5, 0.4, 0.3, 0.2])})
    assert late.startswith("With this model we found:") and "only at the last layer (3)" in late
    assert "layer 3 (cosine distance 0.300)" in late and "is the least" in late
    early = pos.movement_finding(mov, {"cls": np.array([1.0, 0.8, 0.6, 0.5]), "mean": np.array([0.5, 0.5, 0.6, 0.7])})
    assert "fall below mean cosine" in early and "at layer 1" in early and "is not the least" in early
    never = pos.movement_finding(mov, {"cls": np.array([1.0, 1.0, 1.0, 0.995])})
    assert "never tells them apart" in never


def test_far_word_finding_two_outcomes():
    effect = {"positions": [9], "cls_distance": np.array([0, 1e-7, 2e-6, 0.03])}
    strip = {"alike": np.array([0.7, 1.0]), "spread": np.array([3.0, 0.0])}
    late = pos.far_word_finding(effect, strip, parked_layers=[0, 1, 2])
    assert "up to layer 2" in late and "parking coordinate" in late and "only the last layer (3)" in late
    assert "from 0.700 (all words) to 1.000" in late
    assert "parking coordinate" not in pos.far_word_finding(effect)
    early = pos.far_word_finding({"positions": [9], "cls_distance": np.array([0, 0.01, 0.02, 0.03])})
    assert "already moves [CLS] in layer 1" in early
    none = pos.far_word_finding({"positions": [9], "cls_distance": np.array([0, 1e-9, 1e-9])})
    assert "less than a cosine distance" in none


def test_influence_finding():
    words = [{"tokens": ["good", "."], "distance": np.array([0.3, 0.1])}]
    assert "a word in every sentence" in pos.influence_finding(words)
    mixed = words + [{"tokens": ["bad", "!"], "distance": np.array([0.1, 0.2])}]
    assert "punctuation in 1 of 2 sentences" in pos.influence_finding(mixed) and "'!' (0.200)" in pos.influence_finding(mixed)
    with pytest.raises(ValueError):
        pos.influence_finding([])


def test_padding_finding_equal_lengths():
    row = {"text": "a", "length": 3, "first": "[CLS]", "last": "[SEP]", "last_is_pad": False}
    text = pos.padding_finding({"rows": [row, row], "width": 3, "cls": "[CLS]", "pad": "[PAD]"})
    assert "index 0 is [CLS] in every row" in text and "real token in every row" in text


def test_word_slot_finding_two_outcomes():
    kept = {"hits": 0.9, "n": 200, "vocab": 30522, "chance": 1 / 30522}
    text = pos.word_slot_finding(kept, _probe("f", [0.55, 0.55]), _probe("c", [0.70, 0.70]))
    assert "90% of 200 reviews" in text and "keeps its word" in text and "lower than [CLS]" in text
    lost = pos.word_slot_finding({**kept, "hits": 0.1})
    assert "no longer name their word" in lost and "As a summary" not in lost


def test_mean_pooling_finding_two_outcomes():
    weight = {"mean": 0.08, "smallest": 0.02, "largest": 0.25, "n": 50}
    text = pos.mean_pooling_finding(weight, _probe("c", [0.70, 0.71]), _probe("m", [0.90, 0.91]))
    assert "0.080 of the mean-pooled vector" in text and "higher than the last-layer [CLS]" in text
    flat = pos.mean_pooling_finding(weight, _probe("c", [0.50, 0.50]), _probe("m", [0.60, 0.60]))
    assert "not clearly above chance" in flat


def test_sentence_explorer_takes_precomputed_influences(tiny):
    influences = [pos.word_influence(tiny, s) for s in SENTENCES[:2]]
    ex = pos.build_sentence_explorer(tiny, SENTENCES[:2], influences=influences)
    assert ex.set(sentence=SENTENCES[1])["tokens"] == influences[1]["tokens"]
    with pytest.raises(ValueError):
        pos.build_sentence_explorer(tiny, SENTENCES[:2], influences=influences[::-1])
