"""Attention flow (Abnar & Zuidema 2020): the most attention mass that can flow from an input token to [CLS].

The layer graph has one node per (layer, token); an edge from token i after layer k down to token j
after layer k-1 has the capacity of the residual-augmented attention weight (as in rollout). The flow
into [CLS] from token j is the maximum flow from [CLS] at the top to j at the input, found here with
Dinic's algorithm on a dense capacity matrix (no graph library needed).
"""

from __future__ import annotations

import numpy as np

from typing import Mapping, Sequence

from .attention import _check_square, residual_attention, rollout
from .stats import as_numpy as _np
from .stats import spearman

_EPS = 1e-12


def max_flow(capacity: np.ndarray, source: int, sink: int) -> tuple[float, np.ndarray]:
    """Maximum flow from ``source`` to ``sink`` (Dinic's algorithm on a dense capacity matrix).

    Args:
        capacity: (V,V) non-negative capacities, capacity[u, v] for the edge u -> v.
        source / sink: node indices.

    Returns:
        (value, flow): the flow value and the (V,V) flow on each edge.
    """
    cap = _np(capacity)
    if cap.ndim != 2 or cap.shape[0] != cap.shape[1]:
        raise ValueError(f"capacity must be a square (V,V) matrix, got shape {cap.shape}.")
    if (cap < 0).any():
        raise ValueError("capacity holds negative values; capacities must be >= 0.")
    v = cap.shape[0]
    if not (0 <= source < v and 0 <= sink < v) or source == sink:
        raise ValueError(f"source and sink must be two different nodes in 0..{v - 1}, got {source} and {sink}.")
    res = cap.copy()
    total = 0.0
    while True:
        level = _levels(res, source)
        if level[sink] < 0:
            break
        total += _blocking_flow(res, level, source, sink)
    return total, np.clip(cap - res, 0.0, None)


def _levels(res: np.ndarray, source: int) -> np.ndarray:
    """BFS distance of every node from ``source`` in the residual graph (-1 if unreachable)."""
    level = np.full(res.shape[0], -1)
    level[source] = 0
    frontier = np.array([source])
    depth = 0
    while frontier.size:
        depth += 1
        nxt = np.flatnonzero((res[frontier] > _EPS).any(0) & (level < 0))
        level[nxt] = depth
        frontier = nxt
    return level


def _blocking_flow(res: np.ndarray, level: np.ndarray, source: int, sink: int) -> float:
    """Push a blocking flow along the level graph (current-arc DFS); updates ``res`` in place."""
    stop = level[sink]
    useful = (level >= 0) & (level < stop)
    adj: dict[int, list[int]] = {}
    for u in np.flatnonzero(useful):
        nb = np.flatnonzero((res[u] > _EPS) & (level == level[u] + 1))
        adj[int(u)] = nb.tolist()
    ptr = dict.fromkeys(adj, 0)
    pushed = 0.0
    path = [source]
    while True:
        u = path[-1]
        if u == sink:
            b = min(res[path[i], path[i + 1]] for i in range(len(path) - 1))
            for i in range(len(path) - 1):
                res[path[i], path[i + 1]] -= b
                res[path[i + 1], path[i]] += b
            pushed += b
            path = [source]
            continue
        nbrs = adj.get(u, ())
        p = ptr.get(u, 0)
        while p < len(nbrs) and res[u, nbrs[p]] <= _EPS:
            p += 1
        ptr[u] = p
        if p < len(nbrs):
            path.append(nbrs[p])
            continue
        if u == source:
            return pushed
        path.pop()  # dead end: never try u again in this phase
        ptr[path[-1]] += 1


def layer_graph(mats: np.ndarray, top: int | None = None) -> np.ndarray:
    """(V,V) capacities of the layer graph: node k*n + i is token i after layer k (k=0: the inputs).

    An edge runs from (k, i) down to (k-1, j) with capacity mats[k-1][i, j], for k = 1..top.
    """
    n_layers, n, _ = mats.shape
    top = n_layers if top is None else top
    if not 1 <= top <= n_layers:
        raise ValueError(f"layer must be between 1 and {n_layers}, got {top}.")
    cap = np.zeros(((top + 1) * n, (top + 1) * n))
    for k in range(1, top + 1):
        cap[k * n : (k + 1) * n, (k - 1) * n : k * n] = mats[k - 1]
    return cap


def attention_flow(
    att: np.ndarray, layer: int | None = None, query: int = 0, head_axis: bool = True, residual: bool = True
) -> np.ndarray:
    """Attention flow (Abnar & Zuidema 2020): (n,) max-flow from token ``query`` after ``layer`` to each input.

    The layer graph's capacities are the residual-augmented attention (as in rollout). Each value is at
    most 1, the total mass of one rollout row, and at least the rollout value (rollout is one feasible flow).

    Args:
        att: (L,A,n,n) one example's attention (or (L,n,n) with ``head_axis=False``).
        layer: 1-based top layer (default: the last).
        query: the token whose inputs are traced (0 = [CLS]).
    """
    if residual:
        mats = residual_attention(att, head_axis)
    else:
        a = _check_square(_np(att))
        mats = a.mean(1) if head_axis else a
    n_layers, n, _ = mats.shape
    top = n_layers if layer is None else int(layer)
    if not 0 <= query < n:
        raise ValueError(f"query {query} is out of range 0..{n - 1}.")
    cap = layer_graph(mats, top)
    # nodes below the top that the source cannot reach do not matter; the top row's other tokens neither
    source = top * n + query
    keep = np.r_[np.arange(top * n), source]
    sub = cap[np.ix_(keep, keep)]
    src = len(keep) - 1
    return np.array([max_flow(sub, src, j)[0] for j in range(n)])


class FlowCache:
    """attention_flow() per layer for one example, computed once per layer (for a layer slider)."""

    def __init__(self, att: np.ndarray, query: int = 0):
        self.att = _check_square(_np(att))
        self.query = query
        self._store: dict[int, np.ndarray] = {}

    def __call__(self, layer: int) -> np.ndarray:
        """(n,) flow into ``query`` after ``layer`` (1-based)."""
        if layer not in self._store:
            self._store[layer] = attention_flow(self.att, layer, self.query)
        return self._store[layer]


# ----------------------------------------------------------------------------- attention as an explanation


def explanation_scores(att: np.ndarray, layer: int | None = None, flow: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """(n,) scores of every input token for [CLS] after ``layer`` (default last): raw attention, rollout, flow.

    raw: the head-averaged [CLS] row of that layer; rollout: row 0 of the rollout; flow: attention_flow
    (pass a precomputed one to skip the max-flow).

    Args:
        att: (L,A,n,n) one example's attention.
    """
    att = _check_square(_np(att))
    if att.ndim != 4:
        raise ValueError(f"att must be one example's attention (L,A,n,n), got shape {att.shape}; use cube_example().")
    top = att.shape[0] if layer is None else int(layer)
    if not 1 <= top <= att.shape[0]:
        raise ValueError(f"layer must be 1..{att.shape[0]}, got {layer}.")
    return {
        "raw attention": att[top - 1].mean(0)[0],
        "rollout": rollout(att)[top - 1][0],
        "flow": attention_flow(att, top) if flow is None else np.asarray(flow),
    }


def rank_agreement(scores: Mapping[str, np.ndarray], attribution: np.ndarray, kinds: Sequence[str]) -> dict[str, float]:
    """Spearman correlation of each score with |attribution| over the word and punctuation tokens only."""
    kinds = np.asarray(kinds, dtype=object)
    sel = np.isin(kinds, ["word", "punct"])
    if sel.sum() < 3:
        raise ValueError("Need at least 3 non-special tokens to rank; use a longer sentence.")
    target = np.abs(np.asarray(attribution))[sel]
    return {name: spearman(v[sel], target) for name, v in scores.items()}
