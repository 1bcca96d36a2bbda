"""Massive coordinates: found, measured, and what cosine sees with and without them."""

import numpy as np
import pytest
import torch

from helpers import encode
from helpers.core.geometry import massive_by_layer, massive_coordinate


def test_a_planted_massive_coordinate_is_found_and_dominates_cosine():
    rng = np.random.default_rng(0)
    x = rng.normal(scale=0.1, size=(50, 16))
    x[:, 7] += 8.0  # every sentence shares one huge coordinate
    m = massive_coordinate(x, layer=3)
    assert m.dim == 7 and m.layer == 3
    assert m.value == pytest.approx(8.0, abs=0.05)
    assert m.share > 0.99 and m.next_largest < 0.2
    assert m.alike > 0.99 and abs(m.alike_without) < 0.1  # without it, random directions
    assert m.specific == pytest.approx(np.linalg.norm(x - x.mean(0), axis=1).mean() / np.linalg.norm(x, axis=1).mean())
    with pytest.raises(ValueError, match="at least 2"):
        massive_coordinate(x[:1])


def test_by_layer_reads_the_cls_position_of_every_hidden_state(tiny):
    cube = encode(tiny, ["the film was good", "a bad boring story", "i love this movie"], hidden_states=True)
    rows = massive_by_layer(cube.hidden_states)
    assert [r.layer for r in rows] == list(range(tiny.num_layers + 1))
    picked = massive_by_layer(cube.hidden_states[:, :, 0, :])
    assert [r.dim for r in rows] == [r.dim for r in picked]
    top = rows[-1]
    cls = cube.cls(-1).numpy()
    assert top.dim == int(np.argmax(np.abs(cls).mean(0)))
    assert top.norm == pytest.approx(float(np.linalg.norm(cls, axis=1).mean()), rel=1e-5)
    with pytest.raises(ValueError, match="hidden_states must be"):
        massive_by_layer(torch.zeros(3, 4))
