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
