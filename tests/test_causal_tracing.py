"""Notebook 08's lesson: the checks and the sentences, on synthetic tracings (no model), so every branch is tested."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.core import patching as P
from helpers.lessons import causal_tracing as T


def fake_tracing(span, cls, knock_words, name="m", task="review sentiment", heads=None) -> P.Tracing:
    """A Tracing whose mean curves are ``span`` and ``cls`` (two identical pairs) and whose knockouts are given."""
    span, cls = np.asarray(span, float), np.asarray(cls, float)
    kw = np.asarray(knock_words, float)
    L = len(span) - 1
    nan = np.full(L + 1, np.nan)
    curves = {"span": np.stack([span, span]), "cls": np.stack([cls, cls]), "changed": np.stack([span, span]),
              "before": np.stack([nan, nan]), "after": np.stack([nan, nan]), "sep": np.zeros((2, L + 1))}
    h = np.zeros((kw.shape[0], L, 2)) if heads is None else heads
    return P.Tracing(name, "score", task, [], curves, kw * 0.5, kw, kw * 0.1, h)


def test_check_move_layer_right_wrong_and_unanswered():
    tr = fake_tracing([1, 0.9, 0.8, 0.0], [0, 0.1, 0.2, 1.0], np.zeros((2, 3)))
    assert P.move_layer(tr) == 3
    assert T.check_move_layer(3, tr).ok is True
    assert T.check_move_layer(1, tr).ok is False and "still carry more" in T.check_move_layer(1, tr).message
    assert T.check_move_layer(..., tr).ok is None
    assert T.check_move_layer(7, tr).ok is False and T.check_move_layer("x", tr).ok is False
    assert T.check_move_layer(2.5, tr).ok is False


def test_check_knockout_layer_accepts_the_largest_or_one_within_the_noise():
    rng = np.random.default_rng(0)
    clear = np.stack([np.r_[0.0, 0.02, 0.9] + rng.normal(0, 0.01, 3) for _ in range(20)])
    tr = fake_tracing([1, 0.9, 0.8, 0.0], [0, 0, 0, 1.0], clear)
    assert T.check_knockout_layer(3, tr).ok is True
    assert T.check_knockout_layer(1, tr).ok is False and T.check_knockout_layer(2, tr).ok is False
    # two layers within the noise of each other: both right; a tiny one still wrong though the spread is large
    close = np.stack([np.r_[0.0, 0.5 + rng.normal(0, 0.3), 0.55 + rng.normal(0, 0.3)] for _ in range(6)])
    tr2 = fake_tracing([1, 0.9, 0.8, 0.0], [0, 0, 0, 1.0], close)
    best = T.knockout_layer(tr2)
    other = 5 - best  # the other of layers 2 and 3
    assert T.check_knockout_layer(best, tr2).ok is True and T.check_knockout_layer(other, tr2).ok is True
    assert T.check_knockout_layer(1, tr2).ok is False
    assert T.check_knockout_layer(0, tr2).ok is False and T.check_knockout_layer(..., tr2).ok is None


def test_the_three_model_sentence_says_one_picture_or_several():
    rows = [{"model": "a", "move": 6, "layers": 6, "cls_before_last": 0.01, "changed_before_last": 0.4},
            {"model": "b", "move": 6, "layers": 6, "cls_before_last": 0.02, "changed_before_last": 0.2}]
    text = T.three_models_sentence(rows)
    assert "one picture, not 2" in text and "a 40%" in text and "b 20%" in text
    rows[1]["move"] = 4
    text = T.three_models_sentence(rows)
    assert "different depths" in text and "b at hidden state 4" in text


def test_the_agreement_sentence_is_worded_from_the_intervals():
    from helpers.core.stats import paired_difference

    rng = np.random.default_rng(1)
    rho = {"raw attention": 0.8 + rng.normal(0, 0.05, 30), "rollout": 0.2 + rng.normal(0, 0.05, 30),
           "flow": rng.normal(0, 0.3, 30)}
    from helpers.core.stats import bootstrap_mean

    summary = {m: bootstrap_mean(v) for m, v in rho.items()}
    versus = {f"{a} minus {b}": paired_difference(rho[a], rho[b], names=(a, b))
              for a, b in (("raw attention", "rollout"), ("raw attention", "flow"), ("rollout", "flow"))}
    ag = T.Agreement("m", rho, summary, versus)
    text = T.agreement_sentence(ag)
    assert "raw attention rho" in text and "a good guide" in text and "positively related, weakly" in text
    assert "not distinguishable from no relation" in text and "raw attention agrees best, clearly" in text
    assert "only for m" not in T.attention_verdict([ag]) and "on every model" in T.attention_verdict([ag])
    weak = T.Agreement("w", rho, {m: (0.1, -0.1, 0.3) for m in rho}, versus)
    assert "on no model" in T.attention_verdict([weak])
    assert "only for m" in T.attention_verdict([ag, weak])


def test_mean_map_drops_kinds_no_pair_has_and_names_nsp_segments():
    tr = fake_tracing([1, 0.5, 0.0], [0, 0.2, 1.0], np.zeros((2, 2)), task="next sentence")
    grid, labels = T.mean_map(tr)
    assert labels == ["[CLS]", "sentence B (a token)", "[SEP]"] and grid.shape == (3, 3)


def test_knockout_sentences_and_top_heads():
    heads = np.zeros((2, 2, 2))
    heads[:, 1, 0] = 0.7
    heads[:, 0, 1] = 0.2
    tr = fake_tracing([1, 0.5, 0.0], [0, 0.0, 1.0], np.array([[0.0, 0.8], [0.0, 0.6]]), heads=heads)
    assert T.top_heads(tr, 2) == [(2, 0, pytest.approx(0.7)), (1, 1, pytest.approx(0.2))]
    assert "layer 2 head 0 (70%)" in T.heads_sentence("m", T.top_heads(tr, 1))
    assert T.knockout_layer(tr) == 2 and T.knockout_layer(tr, "changed") == 2
    assert "(layer 1: +0%)" in T.knockout_others(tr, 2)
    tr.knock_words[:, 0] = -0.3  # a knockout that raises the difference is reported with its sign
    assert "by more than 30% (layer 1: -30%)" in T.knockout_others(tr, 2)
    with pytest.raises(ValueError, match="which"):
        T.knockout_layer(tr, "everything")
