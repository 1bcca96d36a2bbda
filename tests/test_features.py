"""Feature extraction: the inline [CLS] slice equals the helper, and the disk cache is keyed and reused."""

import numpy as np
import pytest
import torch

import helpers
from helpers import features as F

TEXTS = ["the film was good", "a boring story and a bad ending", "I love this movie"]


def test_inline_cls_slice_equals_helper(any_model, tmp_path):
    # notebook 05 writes this inline once, then uses the helper
    cube = helpers.encode(any_model, TEXTS, attentions=False)
    last_hidden = cube.last_hidden
    inline = last_hidden[:, 0, :]
    helper = F.features(any_model, TEXTS, "cls", cache_dir=tmp_path)
    assert helper.shape == (len(TEXTS), any_model.hidden_size)
    np.testing.assert_allclose(inline.numpy(), helper, atol=1e-5)
    np.testing.assert_allclose(cube.mean().numpy(), F.features(any_model, TEXTS, "mean", cache_dir=tmp_path), atol=1e-5)


def test_second_call_reads_the_cache(tiny, tmp_path):
    first = F.features(tiny, TEXTS, "mean", layers="all", cache_dir=tmp_path)
    assert F.last_stats.misses == tiny.num_layers + 1 and F.last_stats.hits == 0
    second = F.features(tiny, TEXTS, "mean", layers="all", cache_dir=tmp_path)
    assert F.last_stats.hits == tiny.num_layers + 1 and F.last_stats.misses == 0
    np.testing.assert_array_equal(first, second)
    # a layer subset reuses the per-layer files; negative layers mean the same files
    F.features(tiny, TEXTS, "mean", layers=-1, cache_dir=tmp_path)
    assert F.last_stats.hits == 1


def test_cache_key_depends_on_data_pooling_layer_and_weights(tiny, tmp_path):
    base = F.cache_path(tiny, TEXTS, "cls", 1, cache_dir=tmp_path)
    assert base != F.cache_path(tiny, TEXTS[:2], "cls", 1, cache_dir=tmp_path)
    assert base != F.cache_path(tiny, TEXTS, "mean", 1, cache_dir=tmp_path)
    assert base != F.cache_path(tiny, TEXTS, "cls", 2, cache_dir=tmp_path)
    before = F.model_fingerprint(tiny)
    p = next(tiny.encoder.parameters())
    with torch.no_grad():
        p[0, 0] += 0.5
    try:
        assert F.model_fingerprint(tiny) != before
    finally:
        with torch.no_grad():
            p[0, 0] -= 0.5
    assert F.model_fingerprint(tiny) == before


def test_features_multi_matches_single_pooling(tiny, tmp_path):
    out = F.features_multi(tiny, TEXTS, ("cls", "mean", "max", "first", "last", "sep", "pooler"), cache_dir=tmp_path)
    assert out["cls"].shape == (tiny.num_layers + 1, len(TEXTS), tiny.hidden_size)
    assert out["pooler"].shape == (len(TEXTS), tiny.hidden_size)
    for how in ("cls", "mean", "max", "sep"):
        np.testing.assert_allclose(out[how], F.features(tiny, TEXTS, how, layers="all", cache_dir=tmp_path), atol=1e-5)
    again = F.features_multi(tiny, TEXTS, ("cls", "pooler"), cache_dir=tmp_path)
    assert F.last_stats.misses == 0
    np.testing.assert_array_equal(again["cls"], out["cls"])


def test_bad_inputs(tiny, tmp_path):
    with pytest.raises(ValueError, match="Unknown pooling"):
        F.features(tiny, TEXTS, "average", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="out of range"):
        F.features(tiny, TEXTS, "cls", layers=99, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="last layer"):
        F.features(tiny, TEXTS, "pooler", layers=0, cache_dir=tmp_path)
    assert F.clear_cache(tmp_path) >= 0
