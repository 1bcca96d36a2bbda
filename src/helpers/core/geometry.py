"""The shape of the vectors: massive coordinates, norms, and what cosine sees with and without them.

A vector can be nearly the same direction for every sentence (cosine close to 1) and still carry the
sentence in its small coordinates: one huge coordinate shared by every sentence dominates the cosine,
while a standardised probe rescales every coordinate and reads the rest. These functions measure that.
Shapes: L+1 = hidden states (0 = embeddings), N = sentences, H = width.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .stats import alikeness, as_numpy

#: A coordinate "parks" the vector when it holds more than this share of the vector's length
#: (|x[dim]| / ||x||). For a vector of width H with no preferred direction the largest of H coordinates
#: holds about sqrt(2 ln H / H) of the length: 0.18 at H = 384, 0.14 at H = 768. Over half the length in
#: one coordinate is far outside that: the vector is that one coordinate plus a small rest.
PARKING_SHARE: float = 0.5

#: Mean cosine between different sentences above which cosine calls the vectors "the same direction"
#: (below it, the vectors are "sentence-specific": the same line seen from both sides).
SAME_DIRECTION_ABOVE: float = 0.99


@dataclass
class MassiveCoordinate:
    """The largest coordinate of a set of vectors (e.g. every sentence's [CLS] at one layer).

    Attributes:
        layer: the hidden-state index (0 = embeddings).
        dim: the coordinate with the largest mean absolute value over the sentences.
        value: its mean value (signed) over the sentences.
        norm: the vectors' mean length.
        share: mean of |x[dim]| / ||x||: how much of the length that one coordinate holds (1 = all of it).
        next_largest: the mean absolute value of the second-largest coordinate, for scale.
        alike: mean cosine between different sentences' vectors (:func:`helpers.core.stats.alikeness`).
        alike_without: the same with that one coordinate set to 0.
        specific: mean ||x - mean x|| / mean ||x||: the part of a vector that differs from sentence to
            sentence, relative to its length (what a standardised probe can still read when cosine is ~1).
    """

    layer: int
    dim: int
    value: float
    norm: float
    share: float
    next_largest: float
    alike: float
    alike_without: float
    specific: float


def massive_coordinate(vectors, layer: int = -1) -> MassiveCoordinate:
    """The largest coordinate of (N,H) vectors, how much of their length it holds, and cosine with and without it."""
    x = as_numpy(vectors)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"Give (N,H) vectors of at least 2 sentences, got shape {x.shape}.")
    mean_abs = np.abs(x).mean(0)
    order = np.argsort(-mean_abs, kind="stable")
    dim = int(order[0])
    norms = np.linalg.norm(x, axis=1)
    share = float(np.mean(np.abs(x[:, dim]) / np.maximum(norms, 1e-12)))
    without = x.copy()
    without[:, dim] = 0.0
    specific = float(np.linalg.norm(x - x.mean(0), axis=1).mean() / max(norms.mean(), 1e-12))
    return MassiveCoordinate(layer, dim, float(x[:, dim].mean()), float(norms.mean()), share,
                             float(mean_abs[order[1]]) if len(order) > 1 else 0.0, alikeness(x), alikeness(without),
                             specific)


def massive_by_layer(hidden_states, position: int = 0) -> list[MassiveCoordinate]:
    """:func:`massive_coordinate` of the vectors at ``position`` (0 = [CLS]) in every hidden state.

    Args:
        hidden_states: (L+1,N,T,H) a Cube's ``hidden_states`` (or (L+1,N,H) vectors already picked).
        position: the token position to read in every row.
    """
    hs = as_numpy(hidden_states, np.float32)
    if hs.ndim == 4:
        hs = hs[:, :, position, :]
    if hs.ndim != 3:
        raise ValueError(f"hidden_states must be (L+1,N,T,H) or (L+1,N,H), got shape {hs.shape}.")
    return [massive_coordinate(hs[layer], layer) for layer in range(hs.shape[0])]


def parked_layers(rows, share: float = PARKING_SHARE) -> list[int]:
    """The hidden states (of :func:`massive_by_layer` rows) where the largest coordinate holds more than ``share`` of
    the vector's L2 norm: where the vector is "parked" on one coordinate (notebooks 02 and 09)."""
    return [r.layer for r in rows if r.share > share]


def layer_ranges(layers) -> str:
    """[1, 2, 3, 5] -> "1-3 and 5"; [] -> "none"."""
    layers = list(layers)
    if not layers:
        return "none"
    runs, start = [], layers[0]
    for a, b in zip(layers, layers[1:] + [None]):
        if b != a + 1:
            runs.append(str(start) if start == a else f"{start}-{a}")
            start = b
    return runs[0] if len(runs) == 1 else ", ".join(runs[:-1]) + " and " + runs[-1]


def cls_identity(cube) -> dict[str, float]:
    """How different the [CLS] vectors of different sentences are at the input and at the output.

    Args:
        cube: a :class:`helpers.core.cube.Cube` of at least two different sentences, with hidden states.

    Returns:
        dict with ``input_max_distance`` (largest L2 distance between two sentences' [CLS] input
        embeddings, hidden_states[0][:, 0]), ``output_min_distance`` / ``output_mean_distance``
        (between their last-layer [CLS] outputs), ``output_norm`` (mean norm of an output) and ``n``.
    """
    import torch

    from .cube import Cube

    if not isinstance(cube, Cube):
        raise ValueError(f"Expected a Cube from helpers.encode(), got {type(cube).__name__}.")
    if cube.hidden_states is None:
        raise ValueError("This cube has no hidden states: encode with hidden_states=True.")
    if len(cube) < 2:
        raise ValueError("cls_identity needs at least two sentences.")
    inp = cube.cls(0).double()
    out = cube.cls(-1).double()
    d_in = torch.cdist(inp, inp)
    d_out = torch.cdist(out, out)
    off = ~torch.eye(len(cube), dtype=torch.bool)
    return {
        "input_max_distance": float(d_in[off].max()),
        "output_min_distance": float(d_out[off].min()),
        "output_mean_distance": float(d_out[off].mean()),
        "output_norm": float(out.norm(dim=1).mean()),
        "n": len(cube),
    }
