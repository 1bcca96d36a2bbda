"""Linear probes: error bars over seeds, chance baselines, clear errors."""

import numpy as np
import pytest

from helpers.core.linear import linear_probe

from conftest import blobs


def _blobs(n=200, width=8, gap=3.0, seed=0):
    return blobs(n, width, gap, seed)


def test_separable_data_is_read_and_noise_is_not():
    x, y = _blobs()
    good = linear_probe(x, y, seeds=[0, 1, 2])
    assert good.mean > 0.9 and len(good.accuracies) == 3 and good.std >= 0
    rng = np.random.default_rng(1)
    noise = linear_probe(rng.normal(size=(200, 8)), y, seeds=[0, 1, 2])
    assert abs(noise.mean - 0.5) < 0.15
    assert abs(good.chance - 0.5) < 0.05
    assert "seed(s)" in str(good)


def test_fixed_test_set_varies_the_training_sample():
    x, y = _blobs(gap=1.0)
    xt, yt = _blobs(seed=5, gap=1.0)
    res = linear_probe(x, y, xt, yt, seeds=[0, 1, 2, 3], train_fraction=0.5)
    assert res.n_test == len(yt) and res.n_train == 100
    assert res.std > 0  # different training samples give different accuracies


def test_bad_inputs():
    x, y = _blobs()
    with pytest.raises(ValueError, match="one label per row"):
        linear_probe(x, y[:-1])
    with pytest.raises(ValueError, match="single class"):
        linear_probe(x, np.zeros(len(y)))
    with pytest.raises(ValueError, match="2-D"):
        linear_probe(x[:, 0], y)
