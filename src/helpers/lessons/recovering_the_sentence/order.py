"""Notebook 07 · compute: does a sentence vector know the word order? Shuffled sentences against their originals.

Each sentence's words are shuffled (its final punctuation stays at the end, so the shuffle is not given away
by a full stop in the middle); then two measurements per pooling and hidden state:

* geometry: how far shuffling moves a vector, relative to how far apart two different sentences are, and the
  raw cosine between a sentence and its shuffle next to the raw cosine between different sentences;
* a linear probe (the course's one pipeline, :func:`helpers.core.linear.linear_probe`) trained to tell an
  original from a shuffle, on the sentences of a training part, tested on the others (a sentence and its
  shuffle are always on the same side, so the probe cannot learn sentences instead of order).

The course's models are uncased, so a capital moved into the middle gives nothing away.
Shapes: L+1 = hidden states (0 = embeddings), N = sentences, H = width.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ...core.linear import ProbeResult, linear_probe
from ...core.stats import Estimate, alikeness, as_numpy, compare_estimates, unit_rows
from ...core.linear import one_blas_thread

_END = re.compile(r"[.!?\u2026]+$")

#: The order probe's inverse regularisation: as notebook 02's probes of [CLS] per layer. A stronger penalty than
#: the default C = 1 also makes the logistic regression converge in a fraction of the time on these few hundred
#: rows of a few hundred coordinates.
ORDER_PROBE_C: float = 0.1

#: A sentence needs at least this many different words to have an order worth testing (with 3 words,
#: some shuffles read just as well as the original).
MIN_DISTINCT_WORDS: int = 4


def shuffle_words(text: str, rng: np.random.Generator) -> str:
    """``text`` with its words (whitespace-separated) in a random order that differs from the original.

    A final run of sentence punctuation (".", "!", "?") stays at the end of the shuffled sentence.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__} ({text!r}).")
    words = text.split()
    if len(set(words)) < 2:
        raise ValueError(f"{text!r} has fewer than two different words: there is no order to shuffle.")
    end = ""
    match = _END.search(words[-1])
    if match and match.start() > 0:
        words[-1], end = words[-1][: match.start()], match.group(0)
    for _ in range(100):
        shuffled = [words[i] for i in rng.permutation(len(words))]
        if shuffled != words:
            break
    return " ".join(shuffled) + end


def order_sentences(texts: Sequence[str], n: int | None = None, seed: int = 0) -> np.ndarray:
    """Indices of up to ``n`` sentences (random, sorted) with at least :data:`MIN_DISTINCT_WORDS` different words."""
    ok = [i for i, t in enumerate(texts) if len(set(t.split())) >= MIN_DISTINCT_WORDS]
    if len(ok) < 8:
        raise ValueError(f"Only {len(ok)} sentences have {MIN_DISTINCT_WORDS}+ different words: the order test "
                         "needs at least 8.")
    rng = np.random.default_rng(seed)
    pick = rng.permutation(ok)[: n or len(ok)]
    return np.sort(pick)


def shuffled_texts(texts: Sequence[str], seed: int = 0) -> list[str]:
    """Every text word-shuffled (:func:`shuffle_words`), with one generator seeded by ``seed``."""
    rng = np.random.default_rng(seed)
    return [shuffle_words(t, rng) for t in texts]


def moved_by_shuffling(original, shuffled) -> float:
    """Mean L2 distance from each sentence's vector to its shuffle's, over the mean distance between two sentences.

    0: shuffling does not move the vector at all; 1: it moves it as far as swapping in another sentence.
    A shared direction (a coordinate every sentence has) cancels in both distances, so this is not fooled
    by it the way cosine is.
    """
    a, b = as_numpy(original), as_numpy(shuffled)
    if a.shape != b.shape or a.ndim != 2 or len(a) < 2:
        raise ValueError(f"Give (N,H) originals and shuffles of the same shape, N >= 2; got {a.shape} and {b.shape}.")
    own = float(np.linalg.norm(a - b, axis=1).mean())
    sq = np.square(a).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * a @ a.T, 0.0)
    off = ~np.eye(len(a), dtype=bool)
    between = float(np.sqrt(d2[off]).mean())
    return own / between if between > 0 else (0.0 if own == 0 else float("inf"))


@dataclass
class OrderTest:
    """Original against word-shuffled sentences, per pooling and hidden state.

    Attributes:
        probe: pooling -> layer -> ProbeResult: test accuracy of telling an original from its shuffle
            (chance 0.5: every test sentence comes in both versions).
        moved: pooling -> layer -> :func:`moved_by_shuffling` over all the sentences.
        cos_own: pooling -> layer -> mean raw cosine between a sentence and its own shuffle.
        cos_other: pooling -> layer -> mean raw cosine between different (original) sentences.
        n_sentences / n_train / n_test: sentences in all, in the probe's training part and in its test part.
    """

    probe: dict[str, dict[int, ProbeResult]]
    moved: dict[str, dict[int, float]]
    cos_own: dict[str, dict[int, float]]
    cos_other: dict[str, dict[int, float]]
    n_sentences: int
    n_train: int
    n_test: int

    @property
    def layers(self) -> list[int]:
        return sorted(next(iter(self.probe.values())))

    @property
    def poolings(self) -> list[str]:
        return list(self.probe)

    def _get(self, pooling: str, layer: int | None) -> tuple[ProbeResult, int]:
        if pooling not in self.probe:
            raise ValueError(f"pooling {pooling!r} was not tested; the test holds {self.poolings}.")
        layer = self.layers[-1] if layer is None else layer
        if layer not in self.probe[pooling]:
            raise ValueError(f"layer {layer!r} was not tested; the test holds layers {self.layers}.")
        return self.probe[pooling][layer], layer

    def tells(self, pooling: str = "cls", layer: int | None = None) -> bool:
        """Does ``pooling`` at ``layer`` (default: the last) tell originals from shuffles clearly above chance?

        "Clearly" is the course's noise rule (:func:`helpers.core.stats.compare_estimates` against chance,
        with the test set's size).
        """
        probe, _ = self._get(pooling, layer)
        return compare_estimates(probe, Estimate([probe.chance]), n_test=probe.n_test) == "higher"


def word_order_test(original: dict, shuffled: dict, train: Sequence[int], test: Sequence[int], *,
                    seeds: Sequence[int] = (0, 1, 2), C: float = ORDER_PROBE_C, poolings: Sequence[str] = ("cls", "mean"),
                    layers: Sequence[int] | None = None) -> OrderTest:
    """Measure, per pooling and hidden state, whether the vectors tell a sentence from its word shuffle.

    Args:
        original / shuffled: pooling -> (L+1,N,H) vectors of the N sentences and of their shuffles (same order).
        train / test: indices into the N sentences for the probe's two parts (disjoint).
        seeds: one probe fit per seed, each on its own 90% of the training rows (the error bar).
        C: the probe's inverse regularisation.
    """
    train, test = np.asarray(train, int), np.asarray(test, int)
    if len(train) < 4 or len(test) < 2 or np.intersect1d(train, test).size:
        raise ValueError("train and test must be disjoint index lists (at least 4 and 2 sentences): a sentence and "
                         "its shuffle belong to one side only.")
    probe: dict = {}
    moved: dict = {}
    cos_own: dict = {}
    cos_other: dict = {}
    n = None
    for p in poolings:
        if p not in original or p not in shuffled:
            raise ValueError(f"Pooling {p!r} is missing; original has {list(original)}, shuffled {list(shuffled)}.")
        xo, xs = as_numpy(original[p], np.float32), as_numpy(shuffled[p], np.float32)
        if xo.shape != xs.shape or xo.ndim != 3:
            raise ValueError(f"original[{p!r}] {xo.shape} and shuffled[{p!r}] {xs.shape} must both be (L+1,N,H).")
        n = xo.shape[1]
        if max(train.max(), test.max()) >= n:
            raise ValueError(f"train/test indices go up to {max(train.max(), test.max())} but there are {n} sentences.")
        todo = range(xo.shape[0]) if layers is None else layers
        probe[p], moved[p], cos_own[p], cos_other[p] = {}, {}, {}, {}
        for layer in todo:
            a, b = xo[layer].astype(np.float64), xs[layer].astype(np.float64)
            moved[p][layer] = moved_by_shuffling(a, b)
            cos_own[p][layer] = float((unit_rows(a) * unit_rows(b)).sum(1).mean())
            cos_other[p][layer] = alikeness(a)
            x_train = np.concatenate([a[train], b[train]])
            y_train = np.r_[np.zeros(len(train), int), np.ones(len(train), int)]
            x_test = np.concatenate([a[test], b[test]])
            y_test = np.r_[np.zeros(len(test), int), np.ones(len(test), int)]
            with one_blas_thread():
                probe[p][layer] = linear_probe(x_train, y_train, x_test, y_test, seeds=tuple(seeds), C=C,
                                               name=f"{p} original vs shuffled, layer {layer}")
    return OrderTest(probe, moved, cos_own, cos_other, int(n), len(train), len(test))


def format_order_table(result: OrderTest) -> str:
    """A plain-text table: per hidden state and pooling, the probe's accuracy, how far shuffling moves the vector,
    and the two raw cosines."""
    head = " | ".join(f"{p + ': probe acc, moved, cos own / other':^44}" for p in result.poolings)
    lines = [f"{'layer':>5} | {head}"]
    for layer in result.layers:
        cells = []
        for p in result.poolings:
            e = result.probe[p][layer]
            cells.append(f"{e.mean:.3f} ± {e.std:.3f}  {result.moved[p][layer]:>5.3f}  "
                         f"{result.cos_own[p][layer]:.4f} / {result.cos_other[p][layer]:.4f}".center(44))
        lines.append(f"{layer:>5} | " + " | ".join(cells))
    chance = next(iter(next(iter(result.probe.values())).values())).chance
    lines.append(f"(probe: original vs shuffled, {result.n_train} training / {result.n_test} test sentences, each in both "
                 f"versions, chance {chance:.3f}; moved: distance to its own shuffle / distance to another sentence, "
                 f"over {result.n_sentences} sentences; cos own: raw cosine with its own shuffle, other: with a "
                 "different sentence)")
    return "\n".join(lines)
