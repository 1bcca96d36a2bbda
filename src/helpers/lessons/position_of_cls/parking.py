"""Cosine says "identical", a probe reads the sentence: [CLS]'s parking coordinate (compute only).

At the input and through the middle layers of a trained BERT-style encoder, [CLS] can point the same
way for every sentence (mean cosine ~1) because one coordinate, shared by every sentence, holds almost all
of its length. Cosine measures direction only, so that shared coordinate makes every sentence look
alike. A linear probe standardises every coordinate first (minus its mean over the training sentences,
divided by its spread), so the shared coordinate becomes as small as any other and the small
sentence-specific part is what the probe reads. This module puts both measurements side by side.
Shapes: L+1 = hidden states (0 = embeddings), N = sentences, H = width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ...core.geometry import (PARKING_SHARE, SAME_DIRECTION_ABOVE, MassiveCoordinate, layer_ranges,
                              massive_by_layer, parked_layers)
from ...core.linear import ProbeResult, linear_probe
from ...core.stats import as_numpy, noise_margin


def clearly_above_chance(probe: ProbeResult) -> bool:
    """True when the probe's accuracy exceeds its chance level by more than the noise (core.stats.noise_margin)."""
    return bool(probe.mean - probe.chance > noise_margin(probe, probe))


@dataclass
class ParkingStudy:
    """[CLS]'s largest coordinate and a sentiment probe, at every hidden state.

    Attributes:
        rows: per hidden state, :class:`helpers.core.geometry.MassiveCoordinate` of the test sentences' [CLS].
        probes: per hidden state, a linear probe on [CLS] (train -> test), mean ± std over the seeds.
        n_train / n_test: sentences in the two sets.
        model_name: the model the vectors came from.
    """

    rows: list[MassiveCoordinate]
    probes: list[ProbeResult]
    n_train: int
    n_test: int
    model_name: str = ""

    @property
    def num_layers(self) -> int:
        return len(self.rows) - 1

    def parked_layers(self, share: float = PARKING_SHARE) -> list[int]:
        """The hidden states where [CLS]'s largest coordinate holds more than ``share`` of its L2 norm
        (:func:`helpers.core.geometry.parked_layers`)."""
        return parked_layers(self.rows, share)

    def above_chance(self, layer: int) -> bool:
        """Does the probe at hidden state ``layer`` read the label clearly above chance?"""
        if not isinstance(layer, (int, np.integer)) or not -len(self.probes) <= layer < len(self.probes):
            raise ValueError(f"layer must be an integer from 0 (embeddings) to {self.num_layers}, got {layer!r}.")
        return clearly_above_chance(self.probes[int(layer)])


def parking_study(
    train_vectors,
    train_labels,
    test_vectors,
    test_labels,
    *,
    seeds: Sequence[int] = (0, 1),
    C: float = 0.1,
    model_name: str = "",
) -> ParkingStudy:
    """Measure [CLS]'s largest coordinate (on the test vectors) and probe [CLS] at every hidden state.

    Args:
        train_vectors / test_vectors: (L+1,N,H) [CLS] vectors at every hidden state, e.g.
            ``FeatureCache().features(lm, texts, "cls", layers="all")``.
        train_labels / test_labels: (N,) labels.
        seeds: one probe per seed (each on its own 90% of the training rows).
        C: the probes' inverse regularisation (as in the position study).
    """
    tr, te = as_numpy(train_vectors, np.float32), as_numpy(test_vectors, np.float32)
    if tr.ndim != 3 or te.ndim != 3 or tr.shape[0] != te.shape[0] or tr.shape[2] != te.shape[2]:
        raise ValueError(f"Give (L+1,N,H) vectors with the same layers and width for train and test, got "
                         f"{tr.shape} and {te.shape} (FeatureCache().features(lm, texts, 'cls', layers='all')).")
    rows = massive_by_layer(te)
    probes = [linear_probe(tr[layer], train_labels, te[layer], test_labels, seeds=tuple(seeds), C=C,
                           name=f"[CLS], hidden state {layer}") for layer in range(tr.shape[0])]
    return ParkingStudy(rows, probes, tr.shape[1], te.shape[1], model_name)


def parking_table(study: ParkingStudy) -> str:
    """A plain-text table: per hidden state, the largest coordinate, what cosine says, what the probe reads."""
    lines = [
        "layer   dim  mean value  L2 norm  share | mean cosine  without dim  specific | probe accuracy",
        "-" * 92,
    ]
    for r, p in zip(study.rows, study.probes):
        lines.append(f"{r.layer:>5}  {r.dim:>4}  {r.value:>10.3f}  {r.norm:>7.2f}  {r.share:>5.2f} | "
                     f"{r.alike:>11.5f}  {r.alike_without:>11.5f}  {r.specific:>8.4f} | "
                     f"{p.mean:.3f} ± {p.std:.3f}")
    chance = study.probes[0].chance
    lines.append(
        f"(layer = hidden state, 0 = embeddings; dim = [CLS]'s largest coordinate, its mean value and share = mean "
        f"|x[dim]| / L2 norm; mean cosine between different sentences' [CLS], with that coordinate and without it "
        f"(set to 0); specific = mean L2 distance from the mean [CLS] / mean L2 norm, the part that differs from "
        f"sentence to sentence; probe: sentiment, {study.n_train} train / {study.n_test} test reviews, "
        f"chance {chance:.3f})")
    return "\n".join(lines)


def parking_finding(study: ParkingStudy, share: float = PARKING_SHARE, same: float = SAME_DIRECTION_ABOVE) -> str:
    """"With this model we found: ...": the parking coordinate and the cosine/probe contrast, from the numbers."""
    rows, probes = study.rows, study.probes
    parked = [r for r in rows if r.layer in study.parked_layers(share)]
    out = ["With this model we found:"]
    if parked:
        dims = sorted({r.dim for r in parked})
        lo, hi = min(r.share for r in parked), max(r.share for r in parked)
        dim_text = f"dim {dims[0]}" if len(dims) == 1 else "dims " + ", ".join(map(str, dims))
        out.append(f"in hidden states {layer_ranges([r.layer for r in parked])} one coordinate ({dim_text}) holds "
                   f"{lo:.0%}-{hi:.0%} of [CLS]'s L2 norm: [CLS] is parked on it.")
    else:
        top = max(rows, key=lambda r: r.share)
        out.append(f"no coordinate holds more than {share:.0%} of [CLS]'s L2 norm in any hidden state (the largest "
                   f"share is {top.share:.0%}, dim {top.dim} at layer {top.layer}): there is no parking coordinate.")
    # the apparent contradiction: cosine says "the same direction", the probe reads the sentence anyway
    hidden = [(r, p) for r, p in zip(rows[1:], probes[1:]) if r.alike > same and clearly_above_chance(p)]
    if hidden:
        r, p = hidden[0]
        out.append(f"At layer {r.layer} different reviews' [CLS] have mean cosine {r.alike:.5f} (cosine calls that the "
                   f"same direction) and the sentence-specific part is only {r.specific:.2%} of the length, yet a "
                   f"standardised probe reads sentiment from it at {p.mean:.3f} ± {p.std:.3f} (chance "
                   f"{p.chance:.3f}): cosine sees the shared direction, the probe rescales every coordinate and reads "
                   "the small part that differs.")
        if r.alike_without > same:
            out.append(f"Zeroing dim {r.dim} alone leaves the mean cosine at {r.alike_without:.5f}: the rest of [CLS] "
                       "is shared as well, and only the rescaling brings out what differs.")
    else:
        agree = [r.layer for r, p in zip(rows[1:], probes[1:]) if r.alike > same]
        if agree:
            out.append(f"Where cosine calls [CLS] the same direction (layers {layer_ranges(agree)}), the probe does not read "
                       "sentiment clearly above chance either: here cosine and the probe agree.")
        else:
            out.append(f"From layer 1 on, different sentences' [CLS] are below mean cosine {same} everywhere: cosine "
                       "already tells them apart, so there is no contradiction to resolve.")
    last_r, last_p = rows[-1], probes[-1]
    out.append(f"At the last layer ({last_r.layer}) the largest coordinate holds {last_r.share:.0%} of the length, the "
               f"mean cosine is {last_r.alike:.3f} and the probe reads {last_p.mean:.3f} ± {last_p.std:.3f}.")
    return " ".join(out)
