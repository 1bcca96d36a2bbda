"""Tests for notebook 03: the core statistics, rollout and flow it teaches (helpers.core.attention, .flow,
.token_kinds) and its lesson (helpers.lessons.attention_into_cls): attribution, figures, explorers and checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers import encode
from helpers.core import attention as at
from helpers.core.flow import FlowCache, attention_flow, max_flow
from helpers.core.models import is_bert_base
from helpers.core.stats import spearman
from helpers.core.token_kinds import KINDS, token_kinds
from helpers.lessons import attention_into_cls as lesson
from helpers.ui.figures import figure_png

SENTENCES = ["a good film.", "the plot was long, boring and bad!", "i love it"]


@pytest.fixture(scope="module")
def cube(tiny):
    return encode(tiny, SENTENCES)


def random_attention(layers=3, heads=2, n=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(n) * 0.5, size=(layers, heads, n))


# ----------------------------------------------------------------------------- rows sum to 1


def test_cube_rows_sum_to_one_and_padding_rows_are_zero(cube):
    att = cube.attentions.numpy()
    mask = cube.attention_mask.numpy().astype(bool)
    sums = att.sum(-1)  # (L,B,A,T)
    assert np.allclose(sums.transpose(1, 3, 0, 2)[mask], 1.0, atol=1e-5)
    assert np.all(sums.transpose(1, 3, 0, 2)[~mask] == 0)
    assert (~mask).any(), "the test batch must contain padding"


def test_example_attention_cuts_padding_and_keeps_rows_stochastic(cube):
    for b in range(len(SENTENCES)):
        ex, tokens = at.cube_example(cube, b)
        n = len(tokens)
        assert ex.shape == (cube.attentions.shape[0], cube.attentions.shape[2], n, n)
        assert np.allclose(ex.sum(-1), 1.0, atol=1e-5)
        assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"


def test_rollout_and_residual_rows_sum_to_one():
    att = random_attention()
    assert np.allclose(at.residual_attention(att).sum(-1), 1.0)
    assert np.allclose(at.rollout(att).sum(-1), 1.0)


# ----------------------------------------------------------------------------- rollout by hand


def test_rollout_equals_a_hand_computation_on_three_tokens():
    # two layers, two heads, three tokens
    h1 = np.array([[1.0, 0, 0], [0.5, 0.5, 0], [0, 0, 1.0]])
    h2 = np.array([[0, 1.0, 0], [0.5, 0.5, 0], [0, 0, 1.0]])
    layer1 = np.stack([h1, h2])  # mean: [[.5,.5,0],[.5,.5,0],[0,0,1]]
    layer2 = np.stack([np.full((3, 3), 1 / 3), np.full((3, 3), 1 / 3)])
    att = np.stack([layer1, layer2])
    # by hand: A_hat = (mean + I) / 2
    a1 = np.array([[0.75, 0.25, 0], [0.25, 0.75, 0], [0, 0, 1.0]])
    a2 = np.array([[2 / 3, 1 / 6, 1 / 6], [1 / 6, 2 / 3, 1 / 6], [1 / 6, 1 / 6, 2 / 3]])
    expected_cls = np.array([2 / 3 * 0.75 + 1 / 6 * 0.25, 2 / 3 * 0.25 + 1 / 6 * 0.75, 1 / 6])
    got = at.rollout(att)
    assert np.allclose(got[0], a1)
    assert np.allclose(got[1], a2 @ a1)
    assert np.allclose(got[1][0], expected_cls)
    assert np.allclose(expected_cls, [13 / 24, 7 / 24, 1 / 6])


def test_rollout_without_residual_is_the_plain_product():
    att = random_attention(layers=2, heads=1, n=4)
    plain = at.rollout(att, residual=False)
    assert np.allclose(plain[1], att[1, 0] @ att[0, 0])


# ----------------------------------------------------------------------------- max-flow and attention flow


def test_max_flow_agrees_with_networkx_on_random_graphs():
    nx = pytest.importorskip("networkx")
    rng = np.random.default_rng(1)
    for trial in range(6):
        v = 8
        cap = rng.random((v, v)) * (rng.random((v, v)) < 0.4)
        np.fill_diagonal(cap, 0)
        value, flow = max_flow(cap, 0, v - 1)
        g = nx.DiGraph()
        for u in range(v):
            for w in range(v):
                if cap[u, w] > 0:
                    g.add_edge(u, w, capacity=float(cap[u, w]))
        g.add_nodes_from(range(v))
        expected = nx.maximum_flow_value(g, 0, v - 1)
        assert value == pytest.approx(expected, abs=1e-9)
        assert np.all(flow <= cap + 1e-12)
        net = flow.sum(0) - flow.sum(1)  # in - out per node
        assert np.allclose(net[1:-1], 0, atol=1e-9), "flow is conserved at inner nodes"


def test_max_flow_of_a_single_path_is_its_bottleneck():
    cap = np.zeros((4, 4))
    cap[0, 1], cap[1, 2], cap[2, 3] = 0.9, 0.2, 0.7
    assert max_flow(cap, 0, 3)[0] == pytest.approx(0.2)


def test_flow_never_exceeds_rollout_mass_and_is_at_least_rollout():
    for seed in range(3):
        att = random_attention(layers=3, heads=2, n=6, seed=seed)
        roll = at.rollout(att)
        for layer in (1, 2, 3):
            flow = attention_flow(att, layer)
            total_mass = roll[layer - 1][0].sum()
            assert total_mass == pytest.approx(1.0)
            assert np.all(flow <= total_mass + 1e-9)
            assert np.all(flow >= roll[layer - 1][0] - 1e-9)


def test_flow_on_a_real_model_example(cube):
    ex, _ = at.cube_example(cube, 1)
    flow = attention_flow(ex)
    roll = at.rollout(ex)[-1][0]
    assert flow.shape == roll.shape
    assert np.all(flow <= 1 + 1e-9) and np.all(flow >= roll - 1e-9)
    cache = FlowCache(ex)
    assert np.allclose(cache(1), attention_flow(ex, 1))
    assert cache(1) is cache(1)  # computed once


# ----------------------------------------------------------------------------- hiding special tokens


def test_hiding_special_tokens_renormalises_rows():
    att = random_attention(layers=1, heads=1, n=5)[0, 0]
    hide = np.array([True, False, False, False, True])
    shown, kept = at.hide_columns(att, hide)
    assert kept.tolist() == [1, 2, 3]
    assert shown.shape == (5, 3)
    assert np.allclose(shown.sum(-1), 1.0)
    # the kept weights keep their proportions
    assert np.allclose(shown[0] / shown[0, 0], att[0, 1:4] / att[0, 1])


def test_hiding_a_row_whose_weight_was_all_hidden_gives_zeros():
    att = np.array([[1.0, 0, 0], [0.2, 0.3, 0.5], [0, 0.5, 0.5]])
    shown, _ = at.hide_columns(att, [True, False, False])
    assert np.allclose(shown[0], 0) and np.allclose(shown[1], [0.375, 0.625])
    with pytest.raises(ValueError, match="one flag per token"):
        at.hide_columns(att, [True, False])


def test_attention_view_hides_cls_and_sep_columns(cube):
    ex, tokens = at.cube_example(cube, 0)
    view = lesson.attention_view(ex, tokens, layer=1, head=None, hide_special=True)
    assert "[CLS]" not in view.cols and "[SEP]" not in view.cols
    assert view.matrix.shape == (len(tokens), len(tokens) - 2)
    assert np.allclose(view.matrix.sum(-1), 1.0, atol=1e-5)


# ----------------------------------------------------------------------------- shares: padding never counted


def test_token_kinds():
    kinds = token_kinds(["[CLS]", "the", "film", ",", "##!", "...", "[SEP]", "it", "[SEP]"])
    assert kinds.tolist() == ["cls", "word", "word", "punct", "punct", "punct", "sep", "word", "sep"]
    with pytest.raises(ValueError):
        token_kinds("[CLS] the")


def test_attention_from_a_padded_position_is_never_counted(cube, tiny):
    kinds = [token_kinds(t) for t in cube.tokens]
    clean = at.attention_shares(cube.attentions, cube.attention_mask, kinds)
    # put weight into the padded query rows: they must not change anything
    dirty = cube.attentions.clone()
    mask = cube.attention_mask.bool()
    pad_rows = ~mask[None, :, None, :, None].expand_as(dirty)
    dirty[pad_rows] = 1.0 / dirty.shape[-1]
    dirty_shares = at.attention_shares(dirty, cube.attention_mask, kinds)
    for k in KINDS:
        assert np.allclose(clean[k], dirty_shares[k])
    # and they equal a token-weighted average over the unpadded examples, computed one by one
    totals = {k: 0.0 for k in KINDS}
    count = 0
    for b in range(len(SENTENCES)):
        ex, _ = at.cube_example(cube, b)
        for k in KINDS:
            totals[k] = totals[k] + (ex * (kinds[b] == k)).sum(-1).sum(-1)  # (L,A) summed over queries
        count += ex.shape[-1]
    for k in KINDS:
        assert np.allclose(clean[k], totals[k] / count, atol=1e-6)
    assert np.allclose(sum(clean.values()), 1.0, atol=1e-5)


def test_shares_of_cls_queries_read_the_cls_row(cube):
    kinds = [token_kinds(t) for t in cube.tokens]
    shares = at.attention_shares(cube.attentions, cube.attention_mask, kinds, query="cls")
    ex, _ = at.cube_example(cube, 0)
    first = at.attention_shares(cube.attentions[:, :1], cube.attention_mask[:1], kinds[:1], query="cls")
    assert np.allclose(first["cls"], ex[:, :, 0, 0], atol=1e-6)
    assert np.allclose(sum(shares.values()), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="kinds has"):
        at.attention_shares(cube.attentions, cube.attention_mask, kinds[:1])


def test_entropy_of_uniform_row_is_ln_n():
    n = 7
    att = np.full((1, 1, n, n), 1 / n)
    ent, top = at.cls_entropy(att)
    assert top == pytest.approx(math.log(n)) and ent[0, 0] == pytest.approx(math.log(n))
    one_hot = np.zeros((1, 1, n, n))
    one_hot[..., 0] = 1
    assert at.cls_entropy(one_hot)[0][0, 0] == pytest.approx(0.0)


# ----------------------------------------------------------------------------- attribution and rank correlation


def test_spearman_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(3)
    a, b = rng.random(12), rng.random(12)
    b[3] = b[4]  # a tie
    assert spearman(a, b) == pytest.approx(stats.spearmanr(a, b).statistic)
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)


def test_blank_out_attribution_matches_a_manual_blanking(tiny):
    import torch

    weights = np.random.default_rng(0).normal(size=tiny.hidden_size)

    def score(cls_vec):
        return cls_vec @ weights

    text = "a good film"
    attr = lesson.blank_out_attribution(tiny, text, score)
    ids = tiny.tokenizer(text, return_tensors="pt")
    n = ids["input_ids"].shape[1]
    assert attr.shape == (n,) and attr[0] == 0
    with torch.inference_mode():
        full = tiny.encoder(**ids).last_hidden_state[0, 0].numpy()
        mask = ids["attention_mask"].clone()
        mask[0, 2] = 0
        blanked = tiny.encoder(input_ids=ids["input_ids"], attention_mask=mask).last_hidden_state[0, 0].numpy()
    assert attr[2] == pytest.approx(score(full) - score(blanked), abs=1e-4)
    assert np.abs(attr[1:]).max() > 0


def test_fit_cls_classifier_is_the_course_probe_on_the_cls_vector(tiny):
    from helpers import embed
    from helpers.core.linear import fit_probe

    texts = ["a good film.", "i love it", "great fun", "the plot was long, boring and bad!", "bad", "i hate it"]
    labels = [1, 1, 1, 0, 0, 0]
    clf = lesson.fit_cls_classifier(tiny, texts, labels, texts[:2], labels[:2])
    x = embed(tiny, texts, pooling="cls")
    probe = fit_probe(x, labels)
    assert np.allclose(clf.score(x), probe.decision_function(x), atol=1e-3)  # same pipeline, same vectors
    assert clf.label_names == ["0", "1"]
    assert clf.train_accuracy == pytest.approx(float((probe.predict(x) == np.array(labels)).mean()))
    assert 0 <= clf.test_accuracy <= 1
    with pytest.raises(ValueError, match="single class"):
        lesson.fit_cls_classifier(tiny, texts[:2], [1, 1])
    with pytest.raises(ValueError, match="test_labels"):
        lesson.fit_cls_classifier(tiny, texts, labels, test_texts=texts[:2])


def test_rank_agreement_ignores_special_tokens():
    kinds = ["cls", "word", "word", "punct", "sep"]
    scores = {"a": np.array([100.0, 1, 2, 3, 100.0])}
    assert lesson.rank_agreement(scores, np.array([0, 1, 2, 3, -50.0]), kinds)["a"] == pytest.approx(1.0)


def test_value_norms_are_zero_at_padding(cube, tiny):
    norms = lesson.value_norms(tiny, cube)
    L, B, A, T = norms.shape
    assert (L, B, A, T) == (tiny.num_layers, len(SENTENCES), tiny.num_heads, cube.input_ids.shape[1])
    pad = ~cube.attention_mask.bool().numpy()
    assert np.all(norms.transpose(1, 3, 0, 2)[pad] == 0)
    assert np.all(norms.transpose(1, 3, 0, 2)[~pad] > 0)
    kinds = [token_kinds(t) for t in cube.tokens]
    weighted = lesson.norm_weighted_shares(cube.attentions, norms, cube.attention_mask, kinds)
    assert np.allclose(sum(weighted.values()), 1.0, atol=1e-5)


# ----------------------------------------------------------------------------- drawing and widgets


def test_draw_functions_return_figures(cube):
    from matplotlib.figure import Figure

    ex, tokens = at.cube_example(cube, 0)
    kinds = [token_kinds(t) for t in cube.tokens]
    shares = at.attention_shares(cube.attentions, cube.attention_mask, kinds)
    figs = [
        lesson.draw_attention_map(ex[0, 0], tokens),
        lesson.draw_cls_rows(at.cls_rows(ex), tokens),
        lesson.draw_entropy(at.normalised_cls_entropy(cube)),
        lesson.draw_shares(shares, references=lesson.clark_references()),
        lesson.draw_kind_bars(shares),
        lesson.draw_scores(tokens, lesson.explanation_scores(ex)),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    assert figure_png(figs[0]).startswith(b"\x89PNG")


def test_draw_shares_draws_the_published_levels_from_the_registry(cube):
    from helpers import references

    kinds = [token_kinds(t) for t in cube.tokens]
    shares = at.attention_shares(cube.attentions, cube.attention_mask, kinds)
    clark = lesson.clark_references()
    assert {k: r.key for k, r in clark.items()} == {"cls": "clark_cls", "sep": "clark_sep", "punct": "clark_punct"}
    fig = lesson.draw_shares(shares, references=clark)
    dashed = [line for line in fig.axes[0].lines if line.get_linestyle() == "--"]
    assert len(dashed) == 3
    for line, kind in zip(dashed, ("cls", "sep", "punct")):
        ref = references.get(f"clark_{kind}")
        lo, hi = ref.extra["layers"]
        assert np.allclose(line.get_ydata(), ref.values["level"])
        assert np.allclose(line.get_xdata(), [lo - 0.3, hi + 0.3])
        assert ref.sentence() in line.get_label()
    plain = lesson.draw_shares(shares)
    assert not [line for line in plain.axes[0].lines if line.get_linestyle() == "--"]
    with pytest.raises(ValueError, match="Reference"):
        lesson.draw_shares(shares, references={"cls": {"layers": (2, 3), "level": 0.25}})


def test_attention_explorer_callbacks_change_the_picture(cube, tiny, tmp_path):
    from helpers.ui.explorer import Explorer

    pairs = encode(tiny, ["a good film."], pairs=["i love it"])
    box = lesson.build_attention_explorer([cube, pairs], tiny, save_folder=tmp_path)
    assert isinstance(box, Explorer)
    assert set(box.controls) == {"example", "layer", "head", "mean", "hide", "save"} and set(box.views) == {"image"}
    c, image = box.controls, box.views["image"]
    assert len(c["example"].options) == len(SENTENCES) + 1
    before = bytes(image.value)
    assert before.startswith(b"\x89PNG")
    box.set(layer=2)
    assert bytes(image.value) != before and box.state["view"].title.startswith("layer 2")
    assert box.state["layer"] == 2 and "error" not in box.state
    picture = bytes(image.value)
    box.set(head=1)
    assert bytes(image.value) != picture
    box.set(hide=True)
    assert "[SEP]" not in box.state["view"].cols
    box.set(mean=True)
    assert "mean of heads" in box.state["view"].title and c["head"].disabled
    c["example"].index = 1  # the padded row that is longest: padding is never drawn
    assert box.state["view"].rows == list(cube.tokens[1])
    c["example"].index = len(SENTENCES)  # the pair
    assert box.state["view"].rows.count("[SEP]") == 2
    assert box.figure().axes[0].get_title() == box.state["title"]
    message = box.click("save")
    assert message.startswith("saved: ")
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".png", ".svg"]


def test_attention_explorer_shows_a_bad_layer_instead_of_raising(cube, tiny):
    box = lesson.build_attention_explorer(cube, tiny)
    picture = bytes(box.views["image"].value)
    box.controls["layer"].max = 99  # a value beyond the model's layers can only come from outside the slider
    state = box.set(layer=99)
    assert "layer must be 1.." in state["error"] and "error" in box.status.value
    assert bytes(box.views["image"].value) == picture  # the last good picture stays
    assert "error" not in box.set(layer=1)
    with pytest.raises(ValueError, match="attentions=True"):
        lesson.build_attention_explorer([])


def test_flow_explorer_caches_flow_and_redraws(cube):
    from helpers.ui.explorer import Explorer

    ex, tokens = at.cube_example(cube, 1)
    attribution = np.linspace(-1, 1, len(tokens))
    box = lesson.build_flow_explorer(ex, tokens, attribution)
    assert isinstance(box, Explorer)
    assert set(box.controls) == {"layer"} and set(box.views) == {"rho", "image"}
    image = box.views["image"]
    before, text = bytes(image.value), box.views["rho"].value
    assert "Spearman" in text
    assert set(box.state["spearman"]) == {"raw attention", "rollout", "flow"}
    box.set(layer=1)
    assert bytes(image.value) != before
    assert np.allclose(box.scores(1)["flow"], attention_flow(ex, 1))
    assert np.allclose(box.state["scores"]["flow"], attention_flow(ex, 1))
    assert all(v.sum() == pytest.approx(1.0) for v in box.state["drawn"].values())
    assert set(box.flow._store) == {1, 2}, "every layer's flow is computed once up front"


def test_flow_explorer_shows_a_bad_layer_instead_of_raising(cube):
    ex, tokens = at.cube_example(cube, 1)
    box = lesson.build_flow_explorer(ex, tokens)
    box.controls["layer"].max = 9
    state = box.set(layer=9)
    assert "layer must be 1.." in state["error"] and "error" in box.status.value
    assert "error" not in box.set(layer=2)
    with pytest.raises(ValueError, match="one value per token"):
        lesson.build_flow_explorer(ex, tokens, np.zeros(len(tokens) + 1))


# ----------------------------------------------------------------------------- exercise checks


def test_check_peak_layer_right_wrong_and_unanswered():
    shares = {k: np.zeros((4, 2)) for k in KINDS}
    shares["sep"][2] = 0.7  # layer 3
    shares["word"] = 1 - shares["sep"]
    assert lesson.check_peak_layer(3, shares, "sep").ok is True
    assert lesson.check_peak_layer(2, shares, "sep").ok is False
    assert lesson.check_peak_layer(9, shares, "sep").ok is False
    assert lesson.check_peak_layer("three", shares, "sep").ok is False
    assert lesson.check_peak_layer(None, shares, "sep").ok is None
    assert lesson.check_peak_layer(..., shares, "sep").ok is None
    assert "3" in lesson.check_peak_layer(3, shares, "sep").message


def test_check_rollout_answer_right_wrong_and_unanswered():
    assert lesson.check_rollout_answer([0.375, 0.625]).ok is True
    wrong = lesson.check_rollout_answer([0.0, 1.0])  # no residual
    assert wrong.ok is False and "identity" in wrong.message
    reversed_order = lesson.check_rollout_answer([0.625, 0.375])
    assert reversed_order.ok is False and "order" in reversed_order.message
    assert lesson.check_rollout_answer([0.5, 0.9]).ok is False
    assert lesson.check_rollout_answer([1, 2, 3]).ok is False
    assert lesson.check_rollout_answer(None).ok is None


def test_bad_input_raises_value_errors(cube):
    with pytest.raises(ValueError, match="out of range"):
        at.cube_example(cube, 99)
    with pytest.raises(ValueError, match="two equal axes"):
        at.rollout(np.ones((2, 2, 3, 4)))
    with pytest.raises(ValueError, match="layer must be"):
        attention_flow(random_attention(), layer=7)
    with pytest.raises(ValueError, match="different nodes"):
        max_flow(np.ones((3, 3)), 1, 1)


def test_clark_reference_only_for_bert_base():
    from types import SimpleNamespace

    base = SimpleNamespace(name="bert-base-uncased", num_layers=12, num_heads=12, hidden_size=768)
    mini = SimpleNamespace(name="embedded", num_layers=6, num_heads=12, hidden_size=384)
    assert is_bert_base(base) and not is_bert_base(mini)


def test_map_preview_is_a_png_whose_size_follows_the_tokens():
    from io import BytesIO

    from PIL import Image

    small = lesson.AttentionMapView(np.full((4, 4), 0.25), ["[CLS]", "a", "b", "[SEP]"], ["[CLS]", "a", "b", "[SEP]"], "t")
    tokens = [f"w{i}" for i in range(70)]
    large = lesson.AttentionMapView(np.full((70, 70), 1 / 70), tokens, tokens, "t")
    sizes = [Image.open(BytesIO(lesson.render_map_png(v))).size for v in (small, large)]
    assert sizes[0][0] < sizes[1][0] and sizes[0][1] < sizes[1][1]


# ----------------------------------------------------------------------------- issue 11: the sink, the vocabulary, found-lines


def test_sink_layers_follow_the_named_threshold():
    t = lesson.SINK_SELF_SHARE
    assert lesson.sink_layers([0.2, t + 0.01, 0.96, t, 0.9, 0.1]) == [2, 3, 5]
    assert lesson.sink_layers([0.1, 0.2]) == []
    with pytest.raises(ValueError, match="one value per layer"):
        lesson.sink_layers(np.ones((2, 3)))


def test_shares_per_sentence_average_back_to_the_cube_shares(cube, tiny):
    per = lesson.shares_per_sentence(cube, tiny, "all")
    whole = at.layer_means(at.cube_shares(cube, tiny, "all"))
    n = cube.attention_mask.numpy().sum(1)  # cube_shares weighs every real token's row equally
    for k in KINDS:
        assert per[k].shape == (len(SENTENCES), cube.attentions.shape[0])
        assert np.allclose((per[k] * n[:, None]).sum(0) / n.sum(), whole[k], atol=1e-6)
    assert np.allclose(sum(per[k] for k in KINDS), 1.0, atol=1e-5)


def test_diagonal_share_is_the_mean_self_weight_without_cls_and_padding(cube):
    att = cube.attentions.numpy()
    mask = cube.attention_mask.numpy().astype(bool)
    by_hand = np.zeros(att.shape[0])
    count = 0
    for b in range(len(SENTENCES)):
        for t in np.flatnonzero(mask[b])[1:]:  # real tokens but [CLS]
            by_hand += att[:, b, :, t, t].mean(-1)
            count += 1
    assert np.allclose(lesson.diagonal_share(cube), by_hand / count, atol=1e-6)


def test_map_summary_weighs_the_cubes_by_rows(cube, tiny):
    other = encode(tiny, ["good", "a good film, a good plot."])
    one, both = lesson.map_summary(cube, tiny), lesson.map_summary([cube, other], tiny)
    assert one["rows"] == len(SENTENCES) and both["rows"] == len(SENTENCES) + 2
    assert sum(one["stripes"].values()) == pytest.approx(1.0, abs=1e-5)
    assert one["uniform"] == pytest.approx(at.uniform_share(cube.attention_mask))
    alone = lesson.map_summary(other, tiny)
    expected = (3 * one["stripes"]["cls"] + 2 * alone["stripes"]["cls"]) / 5
    assert both["stripes"]["cls"] == pytest.approx(expected)
    with pytest.raises(ValueError, match="attentions"):
        lesson.map_summary([], tiny)


def _sink_attention(n=7, middle=3, heads=2, seed=0):
    """A made-up example with sink layers in the middle: every row, [CLS]'s included, reads only [CLS] there."""
    rng = np.random.default_rng(seed)
    first = rng.dirichlet(np.ones(n), size=(1, heads, n))
    top = rng.dirichlet(np.ones(n), size=(1, heads, n))
    sink = np.zeros((middle, heads, n, n))
    sink[..., 0] = 1.0
    return np.concatenate([first, sink, top])


@pytest.mark.parametrize("seed", range(4))
def test_sink_trace_rollout_follows_the_first_layer_through_a_sink(seed):
    att = _sink_attention(seed=seed)
    kinds = ["cls", "word", "word", "word", "word", "punct", "sep"]
    scores = lesson.explanation_scores(att)
    trace = lesson.sink_trace(att, scores, kinds)
    assert trace["like_top"]["raw attention"] == pytest.approx(1.0)
    assert trace["like_first"]["rollout"] > trace["like_top"]["rollout"]
    # multiplied through the sink, rollout keeps [CLS]'s own column large: more than the raw top row puts there
    assert trace["on_cls"]["rollout"] > trace["on_cls"]["raw attention"]
    assert set(trace["on_cls"]) == set(scores)
    mean = lesson.mean_traces([trace, trace])
    assert mean["like_first"]["rollout"] == pytest.approx(trace["like_first"]["rollout"])
    with pytest.raises(ValueError, match="3 non-special"):
        lesson.sink_trace(att, scores, ["cls", "word", "sep", "sep", "sep", "sep", "sep"])
    with pytest.raises(ValueError, match="raw attention"):
        lesson.sink_trace(att, {"rollout": scores["rollout"]}, kinds)


def test_paired_differences_are_estimates_of_the_gap():
    rows = [{"raw attention": 0.8, "rollout": 0.1, "flow": float("nan")},
            {"raw attention": 0.6, "rollout": 0.2, "flow": 0.0},
            {"raw attention": 0.7, "rollout": 0.3, "flow": 0.1}]
    d = lesson.paired_differences(rows, "raw attention")
    assert set(d) == {"rollout", "flow"}
    assert d["rollout"].mean == pytest.approx(0.5) and d["rollout"].n == 3
    assert d["flow"].n == 2  # the NaN row is dropped
    with pytest.raises(ValueError, match="hold"):
        lesson.paired_differences(rows, "nothing")


def test_span_and_percent_range():
    from helpers.lessons.attention_into_cls.findings import percent_range, span

    assert span([2, 3, 4, 5]) == "layers 2-5"
    assert span([3]) == "layer 3"
    assert span([5, 1, 2]) == "layers 1-2 and 5"
    assert span([1, 3, 5], "hidden state") == "hidden states 1, 3 and 5"
    assert percent_range([0.87, 0.96, 0.92]) == "87-96%"
    assert percent_range([0.991, 0.989]) == "99%"


def test_hand_row_text_sets_the_hand_row_next_to_the_models(tiny):
    c = encode(tiny, ["a good film."])
    by_hand = at.attention_row_by_hand(tiny, c, layer=1, head=0)
    text = lesson.hand_row_text(c.tokens[0], by_hand, 1, 0)
    assert "the same row" in text and f"d = {tiny.hidden_size // tiny.num_heads}" in text
    assert all(t in text for t in c.tokens[0])
    off = dict(by_hand, model=by_hand["model"] + 0.01)
    assert "NOT the same row" in lesson.hand_row_text(c.tokens[0], off, 1, 0)
    with pytest.raises(ValueError, match="tokens"):
        lesson.hand_row_text(c.tokens[0][:-1], by_hand, 1, 0)


def test_the_notebooks_inline_hand_row_is_the_helpers(tiny):
    """Notebook 03 computes layer 1, head 0's [CLS] row inline from W_Q, b_Q, W_K, b_K; it must equal the helper's."""
    import torch

    c = encode(tiny, ["a good film.", "i love it"])
    layer, head = 0, 1
    n0 = int(c.attention_mask[0].sum())
    d = tiny.hidden_size // tiny.num_heads
    part = slice(head * d, (head + 1) * d)
    proj = tiny.encoder.encoder.layer[layer].attention.self
    x = c.hidden_states[layer, 0, :n0].to(tiny.device, proj.query.weight.dtype)
    with torch.inference_mode():
        q = proj.query.weight[part] @ x[0] + proj.query.bias[part]
        k = x @ proj.key.weight[part].T + proj.key.bias[part]
        mine = torch.softmax((k @ q).float() / math.sqrt(d), dim=-1).cpu().numpy()
    by_hand = at.attention_row_by_hand(tiny, c, layer=layer + 1, head=head)
    assert np.allclose(mine, by_hand["weights"], atol=lesson.HAND_ROW_TOLERANCE)
    assert np.allclose(mine, by_hand["model"], atol=lesson.HAND_ROW_TOLERANCE)


def _massive(layer, dim, share):
    from helpers.core.geometry import MassiveCoordinate

    return MassiveCoordinate(layer, dim, 8.0 * share, 8.0, share, 0.3, 0.99, 0.9, 0.01)


def test_sink_sentence_names_a_sink_with_a_massive_activation():
    self_share = [0.4, 0.92, 0.96, 0.87, 0.87, 0.2]
    massive = [_massive(l, 99, s) for l, s in enumerate([0.9, 0.99, 0.99, 0.98, 0.99, 0.96, 0.75])]
    text = lesson.sink_sentence(self_share, massive)
    assert text.startswith("With this model we found: ")
    assert "layers 2-5" in text and "87-96%" in text and "hidden states 1-4" in text
    assert "coordinate 99" in text and "attention sink with a massive activation" in text


def test_sink_sentence_without_a_sink_or_without_a_massive_coordinate():
    flat = [_massive(l, l, 0.2) for l in range(4)]
    none = lesson.sink_sentence([0.3, 0.25, 0.1], flat)
    assert "no attention sink" in none and "at most 30%" in none and "layer 1" in none
    sink_only = lesson.sink_sentence([0.3, 0.8, 0.1], flat)
    assert "layer 2" in sink_only and "without a massive activation" in sink_only
    with pytest.raises(ValueError, match="hidden state"):
        lesson.sink_sentence([0.3, 0.8], flat)


def test_stripes_sentence_names_the_brightest_column():
    base = {"uniform": 0.05, "diagonal": 0.04, "rows": 6}
    cls_wins = lesson.stripes_sentence({**base, "stripes": {"cls": 0.4, "sep": 0.03, "punct": 0.06, "word": 0.51}})
    assert cls_wins.startswith("With this model we found: ")
    assert "brightest vertical stripe is [CLS]: it collects 40%" in cls_wins and "6 examples" in cls_wins
    sep_wins = lesson.stripes_sentence({**base, "stripes": {"cls": 0.05, "sep": 0.45, "punct": 0.2, "word": 0.3}})
    assert "brightest vertical stripe is [SEP]: it collects 45%" in sep_wins


def test_curves_sentence_groups_the_layers_by_the_kind_read_most():
    uniform = 0.04
    embedded_like = {"cls": [0.14, 0.48, 0.49], "sep": [0.1, 0.03, 0.03], "punct": [0.11, 0.07, 0.06]}
    text = lesson.curves_sentence(embedded_like, uniform)
    assert "[CLS] in layers 1-3" in text and "[CLS] in layer 3 (49%" in text
    clark_like = {"cls": [0.3, 0.25, 0.05, 0.05, 0.05], "sep": [0.1, 0.2, 0.5, 0.55, 0.2],
                  "punct": [0.05, 0.05, 0.1, 0.1, 0.5]}
    text = lesson.curves_sentence(clark_like, uniform)
    assert "[CLS] in layers 1-2" in text and "[SEP] in layers 3-4" in text and "punctuation in layer 5" in text


def test_noop_sentence_both_ways():
    noop = lesson.noop_sentence("cls", [0.14, 0.48, 0.49], [0.04, 0.10, 0.09])
    assert noop.startswith("With this model we found: ") and "largely a no-op" in noop
    real = lesson.noop_sentence("sep", [0.2, 0.3], [0.2, 0.25])
    assert "not a no-op" in real and "[SEP]" in real
    with pytest.raises(ValueError, match="\\(L,\\)"):
        lesson.noop_sentence("cls", [0.1, 0.2], [0.1])


def _estimate(values):
    from helpers.core.stats import Estimate

    return Estimate(values)


def test_attribution_sentence_explains_raw_attention_winning_through_a_sink():
    summary = {"raw attention": 0.62, "rollout": -0.09, "flow": -0.43}
    diffs = {"rollout": _estimate([0.7, 0.8, 0.6, 0.75]), "flow": _estimate([1.0, 0.9, 1.1, 0.2])}
    trace = {"on_cls": {"raw attention": 0.35, "rollout": 0.69, "flow": 0.15},
             "like_first": {"raw attention": -0.24, "rollout": 0.83, "flow": 1.0},
             "like_top": {"raw attention": 1.0, "rollout": 0.2, "flow": -0.24}}
    text = lesson.attribution_sentence(summary, diffs, trace, [2, 3, 4, 5])
    assert text.startswith("With this model we found: raw attention ranks the words closest")
    assert "over 4 reviews" in text and "rollout is lower by 0.71" in text
    assert "layers 2-5" in text and "washed out" in text and "piles 69%" in text


def test_attribution_sentence_without_a_sink_or_when_rollout_follows_the_top():
    summary = {"raw attention": 0.1, "rollout": 0.3, "flow": 0.2}
    diffs = {"raw attention": _estimate([0.2, -0.3, 0.1]), "flow": _estimate([0.1, 0.0, 0.2])}
    trace = {"on_cls": {"raw attention": 0.3, "rollout": 0.2, "flow": 0.1},
             "like_first": {"raw attention": 0.1, "rollout": 0.2, "flow": 0.3},
             "like_top": {"raw attention": 1.0, "rollout": 0.8, "flow": 0.7}}
    no_sink = lesson.attribution_sentence(summary, diffs, trace, [])
    assert "rollout ranks the words closest" in no_sink and "within the noise" in no_sink
    assert "No layer has [CLS] mostly reading itself" in no_sink and "washed out" not in no_sink
    follows_top = lesson.attribution_sentence(summary, diffs, trace, [3])
    assert "does not wash out" in follows_top and "layer 3" in follows_top


def test_check_peak_layer_accepts_layers_within_the_noise():
    shares = {k: np.zeros((3, 2)) for k in KINDS}
    shares["cls"][:] = np.array([[0.1], [0.48], [0.49]])
    shares["word"] = 1 - shares["cls"]
    rng = np.random.default_rng(0)
    close = np.column_stack([rng.normal(0.1, 0.02, 30), rng.normal(0.48, 0.02, 30), rng.normal(0.49, 0.02, 30)])
    right = lesson.check_peak_layer(2, shares, "cls", close)
    assert right.ok is True and "within the noise" in right.message
    assert lesson.check_peak_layer(3, shares, "cls", close).ok is True
    wrong = lesson.check_peak_layer(1, shares, "cls", close)
    assert wrong.ok is False and "layer 3 gives more" in wrong.message
    apart = close.copy()
    apart[:, 1] = apart[:, 2] - 0.05  # layer 2 always 0.05 below layer 3: outside the noise
    assert lesson.check_peak_layer(2, shares, "cls", apart).ok is False
    assert lesson.check_peak_layer(..., shares, "cls", close).ok is None
    with pytest.raises(ValueError, match="per_sentence"):
        lesson.check_peak_layer(2, shares, "cls", close[:, :2])


def test_figures_use_the_two_names():
    """'what [CLS] reads' is [CLS]'s row, 'how much (others) read' a column: the axis titles keep those names."""
    rng = np.random.default_rng(0)
    shares = {k: rng.uniform(size=(3, 2)) for k in KINDS}
    bars = lesson.draw_kind_bars(shares)
    assert "What [CLS] reads" in bars.axes[0].get_title() and "[CLS]'s row" in bars.axes[0].get_ylabel()
    ent = lesson.draw_entropy(rng.uniform(size=(3, 2)))
    assert "what [CLS] reads" in ent.axes[0].get_title() and "[CLS]'s row" in ent.axes[0].get_ylabel()
    assert "how much tokens read" in lesson.draw_shares(shares).axes[0].get_ylabel()
    ex = lesson.build_flow_explorer(_sink_attention(n=6), ["[CLS]", "a", "b", "c", ".", "[SEP]"], precompute=False)
    assert ex.figure().axes[0].get_title().startswith("What [CLS] reads after layer")


def test_clark_punctuation_level_is_drawn_on_layer_12_only(cube):
    kinds = [token_kinds(t) for t in cube.tokens]
    shares = at.attention_shares(cube.attentions, cube.attention_mask, kinds)
    fig = lesson.draw_shares(shares, references=lesson.clark_references())
    punct = [line for line in fig.axes[0].lines if line.get_linestyle() == "--"][2]
    assert np.allclose(punct.get_xdata(), [12 - 0.3, 12 + 0.3])
    assert "12" in punct.get_label() and "11" not in punct.get_label()


def test_sink_sources_print_every_published_name_from_the_registry():
    from helpers import references

    text = lesson.sink_sources()
    for name, key in lesson.SINK_NAMES.items():
        assert f"- {name}: {references.cite(key)}" in text
    assert set(lesson.SINK_NAMES.values()) >= {"xiao_attention_sinks", "clark_noop", "kovaleva_vertical",
                                                "sun_massive_activations", "kovaleva_outlier_dims", "kobayashi_norms"}
    with pytest.raises(ValueError, match="Unknown"):
        lesson.sink_sources(["nothing"])


# ----------------------------------------------------------------------------- facts notebook 03 teaches about the embedded model


PAIRS = (["The acting was wonderful and the story moved me.", "A slow, muddled and forgettable second half.",
          "I laughed the whole way through.", "The plot makes no sense at all."],
         ["Every scene looks beautiful.", "Nothing in it worked for me.", "The music is too loud.",
          "It was long but it was worth it."])


def test_embedded_cls_is_an_attention_sink_with_a_massive_activation(embedded):
    from helpers.core.geometry import massive_by_layer

    pc = encode(embedded, PAIRS[0], pairs=PAIRS[1])
    self_share = at.layer_means(at.what_cls_reads(pc, embedded))["cls"]
    sinks = lesson.sink_layers(self_share)
    assert sinks == [2, 3, 4, 5]
    massive = massive_by_layer(pc.hidden_states)
    assert all(massive[layer - 1].share > lesson.MASSIVE_SHARE for layer in sinks)
    assert len({massive[layer - 1].dim for layer in sinks}) == 1  # the same coordinate in every sink layer's input
    assert "attention sink with a massive activation" in lesson.sink_sentence(self_share, massive)
    # the vertical pattern goes with it: all tokens read [CLS] most in a sink layer
    peak = int(np.argmax(at.layer_means(at.cube_shares(pc, embedded, "all"))["cls"])) + 1
    assert peak in sinks


def test_embedded_rollout_and_flow_follow_layer_one_through_the_sink(embedded):
    text = "The young lead is badly out of his depth, reciting lines like he's reading a menu."
    c = encode(embedded, [text])
    a, toks = at.cube_example(c, 0)
    kinds = token_kinds(toks)
    trace = lesson.sink_trace(a, lesson.explanation_scores(a), kinds)
    for m in ("rollout", "flow"):
        assert trace["like_first"][m] > trace["like_top"][m]
    assert trace["on_cls"]["rollout"] > trace["on_cls"]["raw attention"]


def test_embedded_hand_row_is_the_models(embedded):
    c = encode(embedded, ["The acting was wonderful."])
    by_hand = at.attention_row_by_hand(embedded, c, layer=1, head=0)
    assert "(the same row;" in lesson.hand_row_text(c.tokens[0], by_hand, 1, 0)
