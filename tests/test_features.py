"""Feature extraction: the inline [CLS] slice equals the helper, and the disk cache is keyed and reused."""

import numpy as np
import pytest
import torch

import helpers
from helpers.core import features as F
from helpers.core.features import FeatureCache

TEXTS = ["the film was good", "a boring story and a bad ending", "I love this movie"]


def test_inline_cls_slice_equals_helper(any_model, tmp_path):
    # notebook 05 writes this inline once, then uses the helper
    cube = helpers.encode(any_model, TEXTS, attentions=False)
    last_hidden = cube.last_hidden
    inline = last_hidden[:, 0, :]
    cache = FeatureCache(tmp_path)
    helper = cache.features(any_model, TEXTS, "cls")
    assert helper.shape == (len(TEXTS), any_model.hidden_size)
    np.testing.assert_allclose(inline.numpy(), helper, atol=1e-5)
    np.testing.assert_allclose(cube.mean().numpy(), cache.features(any_model, TEXTS, "mean"), atol=1e-5)


def test_second_call_reads_the_cache(tiny, tmp_path):
    cache = FeatureCache(tmp_path)
    first = cache.features(tiny, TEXTS, "mean", layers="all")
    assert cache.last.misses == tiny.num_layers + 1 and cache.last.hits == 0
    second = cache.features(tiny, TEXTS, "mean", layers="all")
    assert cache.last.hits == tiny.num_layers + 1 and cache.last.misses == 0
    np.testing.assert_array_equal(first, second)
    # a layer subset reuses the per-layer files; negative layers mean the same files
    cache.features(tiny, TEXTS, "mean", layers=-1)
    assert cache.last.hits == 1
    # another cache object over the same folder reads the same files; its stats are its own
    other = FeatureCache(tmp_path)
    other.features(tiny, TEXTS, "mean", layers=0)
    assert other.last.hits == 1 and cache.last.hits == 1
    # a disabled cache computes and writes nothing
    off = FeatureCache(tmp_path / "off", enabled=False)
    np.testing.assert_array_equal(off.features(tiny, TEXTS, "mean", layers="all"), first)
    assert off.last.misses == tiny.num_layers + 1 and not (tmp_path / "off").exists()


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
    cache = FeatureCache(tmp_path)
    out = cache.features_multi(tiny, TEXTS, ("cls", "mean", "max", "first", "last", "sep", "pooler"))
    assert out["cls"].shape == (tiny.num_layers + 1, len(TEXTS), tiny.hidden_size)
    assert out["pooler"].shape == (len(TEXTS), tiny.hidden_size)
    for how in ("cls", "mean", "max", "sep"):
        np.testing.assert_allclose(out[how], cache.features(tiny, TEXTS, how, layers="all"), atol=1e-5)
    again = cache.features_multi(tiny, TEXTS, ("cls", "pooler"))
    assert cache.last.misses == 0 and cache.last.hits == tiny.num_layers + 2
    np.testing.assert_array_equal(again["cls"], out["cls"])


def test_bad_inputs(tiny, tmp_path):
    cache = FeatureCache(tmp_path)
    with pytest.raises(ValueError, match="Unknown pooling"):
        cache.features(tiny, TEXTS, "average")
    with pytest.raises(ValueError, match="out of range"):
        cache.features(tiny, TEXTS, "cls", layers=99)
    with pytest.raises(ValueError, match="last layer"):
        cache.features(tiny, TEXTS, "pooler", layers=0)
    cache.features(tiny, TEXTS, "cls")
    assert cache.clear() == 1 and cache.clear() == 0
