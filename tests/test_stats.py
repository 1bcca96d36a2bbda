"""The core's numbers with uncertainty: Estimate, comparisons, cosine, alikeness, Spearman (against scipy/sklearn)."""

import numpy as np
import pytest
import scipy.stats
import torch

from helpers.core import stats
from helpers.core.linear import ProbeResult


def test_estimate_mean_std_and_t_interval():
    values = [0.80, 0.82, 0.79, 0.85]
    est = stats.Estimate(values, "probe")
    assert est.n == 4 and est.mean == pytest.approx(np.mean(values))
    assert est.std == pytest.approx(np.std(values, ddof=1))
    lo, hi = est.ci(0.95)
    ref = scipy.stats.t.interval(0.95, 3, loc=np.mean(values), scale=scipy.stats.sem(values))
    assert (lo, hi) == pytest.approx(ref)
    assert "probe: 0.815" in str(est)
    one = stats.Estimate([0.7])
    assert one.std == 0.0 and one.ci() == (0.7, 0.7)
    with pytest.raises(ValueError, match="at least one value"):
        stats.Estimate([])


def test_probe_result_is_an_estimate():
    r = ProbeResult(np.array([0.6, 0.7]), "x", chance=0.5, n_train=10, n_test=20)
    assert isinstance(r, stats.Estimate)
    np.testing.assert_array_equal(r.accuracies, [0.6, 0.7])
    assert r.mean == pytest.approx(0.65) and r.n_test == 20
    assert "chance 0.500" in str(r)


def test_noise_margin_and_compare():
    a = ProbeResult(np.array([0.80, 0.82]), "a", chance=0.5, n_train=1000, n_test=1000)
    b = ProbeResult(np.array([0.60, 0.62]), "b", chance=0.5, n_train=1000, n_test=1000)
    assert stats.compare_estimates(a, b) == "higher" and stats.compare_estimates(b, a) == "lower"
    # margin: the larger of the summed seed spreads, two binomial standard errors, and 0.01
    p = 0.71
    assert stats.noise_margin(a, b) == pytest.approx(max(0.01, a.std + b.std, 2 * np.sqrt(p * (1 - p) / 1000)))
    small_a = ProbeResult(np.array([0.80, 0.82]), "a", chance=0.5, n_train=10, n_test=10)
    small_b = ProbeResult(np.array([0.60, 0.62]), "b", chance=0.5, n_train=10, n_test=10)
    assert stats.compare_estimates(small_a, small_b) == "about the same"  # 10 test sentences cannot resolve 0.2
    plain = stats.Estimate([0.80, 0.82])
    assert stats.compare_estimates(plain, stats.Estimate([0.60, 0.62]), n_test=1000) == "higher"


def test_cosine_matrix_and_alikeness():
    from sklearn.metrics.pairwise import cosine_similarity

    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 5))
    np.testing.assert_allclose(stats.cosine_matrix(x), cosine_similarity(x), atol=1e-12)
    np.testing.assert_allclose(stats.cosine_matrix(torch.tensor(x)), cosine_similarity(x), atol=1e-12)
    sim = cosine_similarity(x)
    off = sim[~np.eye(6, dtype=bool)]
    assert stats.alikeness(x) == pytest.approx(off.mean())
    assert stats.alikeness(np.tile([[1.0, 2.0]], (4, 1))) == pytest.approx(1.0)  # the same direction for every row
    assert stats.alikeness(torch.tensor(x, dtype=torch.bfloat16)) == pytest.approx(off.mean(), abs=0.02)
    with pytest.raises(ValueError, match="at least 2"):
        stats.alikeness(x[:1])
    with pytest.raises(ValueError, match="2-D"):
        stats.cosine_matrix(x[0])


def test_spearman_matches_scipy_with_ties():
    a = [1, 2, 2, 3, 5, 4, 4]
    b = [2, 1, 3, 3, 6, 5, 4]
    assert stats.spearman(a, b) == pytest.approx(scipy.stats.spearmanr(a, b).statistic)
    np.testing.assert_allclose(stats.rank([3, 1, 3, 2]), scipy.stats.rankdata([3, 1, 3, 2]))
    assert np.isnan(stats.spearman([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="same length"):
        stats.spearman([1, 2, 3], [1, 2])


def test_paired_difference_against_a_hand_computation():
    a = np.array([1, 1, 1, 0, 1, 1, 0, 1, 1, 1])
    b = np.array([1, 0, 1, 0, 0, 1, 0, 1, 0, 1])
    res = stats.paired_difference(a, b, names=("cls", "mean"), n_boot=4000, seed=3)
    assert res.diff == pytest.approx(0.3) and res.score_a == pytest.approx(0.8) and res.score_b == pytest.approx(0.5)
    # by hand: the same resampling of the per-sentence differences
    rng = np.random.default_rng(3)
    d = a - b
    boot = d[rng.integers(0, 10, size=(4000, 10))].mean(1)
    assert (res.lo, res.hi) == pytest.approx(tuple(np.quantile(boot, [0.025, 0.975])))
    assert res.n == 10 and res.seeds == 1
    assert res.p_value == pytest.approx(scipy.stats.binomtest(3, 3, 0.5).pvalue)


def test_paired_difference_agrees_with_scipy_bootstrap():
    rng = np.random.default_rng(0)
    a = (rng.random(400) < 0.80).astype(float)
    b = np.where(rng.random(400) < 0.9, a, 1 - a)
    ours = stats.paired_difference(a, b, n_boot=10000, seed=1)
    ref = scipy.stats.bootstrap((a, b), lambda x, y: np.mean(x - y), paired=True, vectorized=False,
                                n_resamples=3000, method="percentile", random_state=1).confidence_interval
    assert ours.lo == pytest.approx(ref.low, abs=0.01) and ours.hi == pytest.approx(ref.high, abs=0.01)


def test_seeds_are_pooled_per_sentence_and_the_verdict_is_worded_from_the_interval():
    a = np.array([[1, 1, 0, 1] * 50, [1, 0, 0, 1] * 50])  # (2 seeds, 200 sentences)
    b = np.array([[0, 1, 0, 0] * 50, [0, 1, 0, 1] * 50])
    res = stats.paired_difference(a, b, names=("[CLS] head", "mean head"))
    assert res.seeds == 2 and res.n == 200 and res.p_value is None
    assert res.diff == pytest.approx(a.mean() - b.mean())
    assert res.outcome == "higher" and res.verdict().startswith("[CLS] head is higher than mean head by 0.250 [")
    same = stats.paired_difference(a, a, names=("x", "y"))
    assert same.outcome == "indistinguishable" and "indistinguishable: the difference lies within [+0.000, +0.000]" in \
        same.verdict()
    lower = stats.paired_difference(b, a)
    assert lower.outcome == "lower" and "lower than" in lower.verdict()
    assert res.half_width == pytest.approx((res.hi - res.lo) / 2)
    with pytest.raises(ValueError, match="same sentences"):
        stats.paired_difference(a, b[:, :10])


def test_mcnemar_exact_matches_the_binomial_test():
    a = np.array([1] * 30 + [0] * 10 + [1] * 5 + [0] * 55, dtype=bool)
    b = np.array([1] * 30 + [1] * 10 + [0] * 5 + [0] * 55, dtype=bool)
    out = stats.mcnemar_exact(a, b)
    assert out["a_only"] == 5 and out["b_only"] == 10
    assert out["p_value"] == pytest.approx(scipy.stats.binomtest(5, 15, 0.5).pvalue)
    assert stats.mcnemar_exact(a, a)["p_value"] == 1.0


def test_cross_fitting_scores_every_sentence_once_per_seed():
    from conftest import blobs

    from helpers.core.linear import cross_fit_correct, probe_pipeline

    x, y = blobs(60, 4, gap=4.0)
    out = cross_fit_correct(x, y, folds=5, seeds=(0, 1))
    assert out.shape == (2, 60) and set(np.unique(out)) <= {0.0, 1.0}
    assert out.mean() > 0.9
    # by hand for seed 0: each fold's held-out sentences predicted by a probe fitted on the other folds
    from sklearn.model_selection import StratifiedKFold

    hand = np.zeros(60)
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(x, y):
        hand[test] = probe_pipeline(1.0, 0).fit(x[train], y[train]).predict(x[test]) == y[test]
    np.testing.assert_array_equal(out[0], hand)


def test_compare_estimates_is_paired_when_both_carry_per_sentence_results():
    """Two probes scored on the same sentences are compared by the paired interval, not by their seed spreads."""
    from helpers.core.linear import ProbeResult
    from helpers.core.stats import compare_estimates, difference

    rng = np.random.default_rng(0)
    n = 2000
    base = rng.random(n) < 0.80
    better = base.copy()
    better[np.flatnonzero(~base)[:60]] = True  # right on 60 more sentences, wrong on none it got right: +0.03
    a = ProbeResult(np.array([better.mean()] * 2), "a", n_test=n, correct=np.stack([better, better]).astype(float))
    b = ProbeResult(np.array([base.mean()] * 2), "b", n_test=n, correct=np.stack([base, base]).astype(float))
    d = difference(a, b)
    assert d.diff == pytest.approx(60 / n) and d.lo > 0
    assert compare_estimates(a, b) == "higher" and compare_estimates(b, a) == "lower"
    # without per-sentence results the rule falls back to the noise margin (here two binomial SEs of 200 sentences)
    unpaired_a = ProbeResult(a.values, "a", n_test=200)
    unpaired_b = ProbeResult(b.values, "b", n_test=200)
    assert compare_estimates(unpaired_a, unpaired_b) == "about the same"  # 200 sentences, unpaired: noise 0.057
    assert difference(unpaired_a, unpaired_b) is None


def test_bootstrap_mean_brackets_the_mean_and_narrows_with_more_items():
    from helpers.core.stats import bootstrap_mean

    rng = np.random.default_rng(0)
    small = rng.normal(0.3, 1.0, 20)
    big = rng.normal(0.3, 1.0, 2000)
    m, lo, hi = bootstrap_mean(small)
    assert lo < m < hi and m == pytest.approx(small.mean())
    mb, lob, hib = bootstrap_mean(big)
    assert hib - lob < (hi - lo) / 5 and lob < 0.3 < hib
    assert bootstrap_mean([0.7]) == (0.7, 0.7, 0.7)
    assert all(np.isnan(v) for v in bootstrap_mean([]))
