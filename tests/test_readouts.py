"""Readouts: the layouts that move [CLS], and the vector each readout reads, by hand on small tensors."""

import numpy as np
import pytest
import torch

from helpers import encode_ids
from helpers.core import readouts as R


def test_layout_rows_put_cls_where_they_say():
    w = [11, 12, 13, 14]
    assert R.layout_row(w, "standard", 1, 2) == ([1, 11, 12, 13, 14, 2], 0)
    assert R.layout_row(w, "cls_end", 1, 2) == ([11, 12, 13, 14, 2, 1], 5)
    assert R.layout_row(w, "cls_middle", 1, 2) == ([11, 12, 1, 13, 14, 2], 2)
    assert R.layout_row(w, "no_cls", 1, 2) == ([11, 12, 13, 14, 2], None)
    with pytest.raises(ValueError, match="Unknown layout"):
        R.layout_row(w, "cls_first_and_last", 1, 2)


def _hidden():
    # two rows: lengths 5 and 4 (padding at the end of row 1); value = 10 * row + position in every unit
    h = torch.zeros(2, 5, 3)
    for b in range(2):
        for t in range(5):
            h[b, t] = 10 * b + t
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])
    h[1, 4] = 0
    return h, mask


@pytest.mark.parametrize("key, expected", [
    ("cls", [0, 10]), ("first", [1, 11]), ("pos2", [2, 12]), ("last", [3, 12]), ("sep", [4, 13]),
    ("mean", [2.0, 11.5]), ("max", [4, 13]),
])
def test_read_standard_layout(key, expected):
    h, mask = _hidden()
    out = R.read(h, mask, key)
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out[:, 0].numpy(), expected)


def test_read_moved_cls_uses_its_position():
    h, mask = _hidden()
    out = R.read(h, mask, "cls_end", cls_pos=[4, 3])
    np.testing.assert_allclose(out[:, 0].numpy(), [4, 13])
    np.testing.assert_allclose(R.read(h, mask, R.Readout("x", "cls_end", "sep", ""))[:, 0].numpy(), [3, 12])
    np.testing.assert_allclose(R.read(h, mask, R.Readout("x", "cls_end", "last", ""))[:, 0].numpy(), [2, 11])
    with pytest.raises(ValueError, match="cls_pos"):
        R.read(h, mask, "cls_end")
    with pytest.raises(ValueError, match="Unknown readout"):
        R.read(h, mask, "average")
    stacked = R.read(torch.stack([h, 2 * h]), mask, "first")
    np.testing.assert_allclose(stacked[1, :, 0].numpy(), [2, 22])


def test_layout_rows_on_a_model_and_reading_cls_at_the_end(tiny):
    rows, pos = R.layout_rows(tiny, ["the film", "a very good film"], "cls_end")
    cube = encode_ids(tiny, rows)
    assert [cube.tokens[i][p] for i, p in enumerate(pos)] == ["[CLS]", "[CLS]"]
    np.testing.assert_allclose(R.read(cube.last_hidden, cube.attention_mask, "cls_end", pos).numpy(),
                               torch.stack([cube.last_hidden[i, p] for i, p in enumerate(pos)]).numpy())
    with pytest.raises(ValueError, match="non-empty strings"):
        R.layout_rows(tiny, ["fine", ""], "standard")


def test_a_position_number_is_a_readout():
    from helpers.core.readouts import READOUTS, get_readout

    r = get_readout(3)
    assert (r.key, r.layout, r.what) == ("pos3", "standard", 3) and get_readout("pos3") == r
    assert get_readout(0) is READOUTS["cls"] and get_readout(2) is READOUTS["pos2"]
    with pytest.raises(ValueError, match="0 or more"):
        get_readout(-1)
    with pytest.raises(ValueError, match="int position"):
        get_readout("middle")
