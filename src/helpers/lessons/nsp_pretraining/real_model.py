"""Before and after NSP: the embedded MiniLM's [CLS] against ``minilm-nsp``'s, on sentences NSP never saw.

    * :func:`before_after` - per model and hidden state: how alike different sentences' [CLS] are (mean cosine),
      the share of [CLS]'s length in its largest coordinate, what [CLS] reads (its attention to itself, to [SEP],
      to words, heads averaged), and a frozen last-layer probe of review sentiment from [CLS] and from the mean,
      cross-fitted over every sentence so that every comparison is paired.
    * :func:`format_before_after` - the per-layer table; :func:`before_after_finding` - the sentence notebook 04 prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ...core.attention import what_cls_reads
from ...core.cube import embed, encode
from ...core.geometry import massive_by_layer
from ...core.linear import ProbeResult, cross_fit_probe
from ...core.stats import PairedDifference, difference


@dataclass
class ModelProfile:
    """One model's [CLS], layer by layer, and its frozen probes.

    Attributes:
        name: the model.
        alike: (L+1,) mean cosine between different sentences' [CLS] at every hidden state (0 = embeddings).
        share: (L+1,) share of [CLS]'s length in its largest coordinate.
        reads: kind ("cls", "sep", "word") -> (L,) share of [CLS]'s attention row on that kind, heads averaged.
        probes: readout ("cls", "mean") -> cross-fitted ProbeResult on the last layer.
    """

    name: str
    alike: np.ndarray
    share: np.ndarray
    reads: dict[str, np.ndarray]
    probes: dict[str, ProbeResult] = field(default_factory=dict)


#: The frozen probes' inverse regularisation: the course's probes of review sentiment use it (notebooks 02, 06, 09).
PROBE_C = 0.1


def profile(lm, texts: Sequence[str], labels, *, n_geometry: int = 200, seeds: Sequence[int] = (0, 1, 2)) -> ModelProfile:
    """:class:`ModelProfile` of one model: geometry and attention on the first ``n_geometry`` texts, probes on all."""
    texts = list(texts)
    cube = encode(lm, texts[:n_geometry], hidden_states=True, attentions=True, progress=False)
    rows = massive_by_layer(cube.hidden_states)
    reads = what_cls_reads(cube, lm)
    y = np.asarray(labels)
    probes = {how: cross_fit_probe(embed(lm, texts, pooling=how, progress=False), y, seeds=tuple(seeds), C=PROBE_C,
                                   name=f"{lm.name} {'[CLS]' if how == 'cls' else 'mean'}")
              for how in ("cls", "mean")}
    return ModelProfile(lm.name, np.array([r.alike for r in rows]), np.array([r.share for r in rows]),
                        {k: np.asarray(reads[k]).mean(-1) for k in ("cls", "sep", "word")}, probes)


def before_after(models: dict, texts: Sequence[str], labels, *, n_geometry: int = 200,
                 seeds: Sequence[int] = (0, 1, 2)) -> dict[str, ModelProfile]:
    """:func:`profile` of every model (label -> LoadedModel) on the same sentences."""
    if len(models) < 2:
        raise ValueError("before_after compares models: give at least two (e.g. embedded and minilm-nsp).")
    return {label: profile(lm, texts, labels, n_geometry=n_geometry, seeds=seeds) for label, lm in models.items()}


def format_before_after(profiles: dict[str, ModelProfile]) -> str:
    """Per hidden state: every model's [CLS] alikeness and largest-coordinate share; per layer what [CLS] reads."""
    names = list(profiles)
    n = len(next(iter(profiles.values())).alike)
    head = "".join(f"{f'alike ({k})':>24}{f'top coord ({k})':>26}" for k in names)
    lines = [f"{'hidden state':<14}{head}"]
    for layer in range(n):
        lines.append(f"{layer:<14}" + "".join(f"{p.alike[layer]:>24.4f}{p.share[layer]:>26.2f}" for p in profiles.values()))
    lines.append("")
    head = "".join(f"{f'{k}: self / [SEP] / words':>38}" for k in names)
    lines.append(f"{'layer':<14}{head}")
    for layer in range(n - 1):
        lines.append(f"{layer + 1:<14}" + "".join(
            f"{p.reads['cls'][layer]:>22.2f} /{p.reads['sep'][layer]:>6.2f} /{p.reads['word'][layer]:>6.2f}"
            for p in profiles.values()))
    lines.append("")
    lines.append("frozen probe of review sentiment (last layer, cross-fitted over every sentence):")
    for p in profiles.values():
        lines.append(f"  {p.name:<22} [CLS] {p.probes['cls'].mean:.3f}   mean {p.probes['mean'].mean:.3f}")
    return "\n".join(lines)


def comparisons(profiles: dict[str, ModelProfile], before: str, after: str) -> dict[str, PairedDifference]:
    """The paired differences the lesson prints: after's [CLS] minus before's [CLS], minus before's mean, and
    minus its own mean (same sentences, seeds pooled)."""
    a, b = profiles[after], profiles[before]
    return {"cls vs before cls": difference(a.probes["cls"], b.probes["cls"]),
            "cls vs before mean": difference(a.probes["cls"], b.probes["mean"]),
            "cls vs own mean": difference(a.probes["cls"], a.probes["mean"])}


def _first_below(values: np.ndarray, level: float) -> int | None:
    below = [i for i, v in enumerate(values) if v < level]
    return below[0] if below else None


def before_after_finding(profiles: dict[str, ModelProfile], before: str, after: str, alike_level: float = 0.99) -> str:
    """"With these models we found: ..." from the profiles and the paired intervals, whatever they show."""
    a, b = profiles[after], profiles[before]
    d = comparisons(profiles, before, after)
    last = len(a.alike) - 1
    wb, wa = _first_below(b.alike, alike_level), _first_below(a.alike, alike_level)

    def wake(w):
        return "never" if w is None else ("already at the embeddings" if w == 0 else f"from hidden state {w}")

    geometry = (f"different sentences' [CLS] stop pointing the same way (mean cosine below {alike_level}) "
                f"{wake(wb)} in {b.name} and {wake(wa)} in {a.name}; at the last layer the mean cosine is "
                f"{b.alike[last]:.3f} before and {a.alike[last]:.3f} after, and [CLS] gives "
                f"{b.reads['cls'][-1]:.2f} then {a.reads['cls'][-1]:.2f} of its last attention row to itself")
    cls = d["cls vs before cls"]
    mean = d["cls vs before mean"]
    own = d["cls vs own mean"]
    probe = (f"a frozen probe of review sentiment, a task NSP never saw, reads {a.probes['cls'].mean:.3f} from "
             f"{a.name}'s [CLS] against {b.probes['cls'].mean:.3f} from {b.name}'s ({cls.diff:+.3f} "
             f"[{cls.lo:+.3f}, {cls.hi:+.3f}], {cls.outcome}); against {b.name}'s mean ({b.probes['mean'].mean:.3f}) "
             f"it is {mean.outcome} ({mean.diff:+.3f} [{mean.lo:+.3f}, {mean.hi:+.3f}]), and against its own mean "
             f"{own.outcome} ({own.diff:+.3f} [{own.lo:+.3f}, {own.hi:+.3f}])")
    if cls.outcome == "higher" and mean.outcome != "lower":
        answer = ("so NSP training turned [CLS] into a sentence vector as good as the mean: to tell whether B follows "
                  "A, [CLS] must carry what each sentence is about, and what a sentence is about is what its "
                  "sentiment and topic are read from")
    elif cls.outcome == "higher":
        answer = ("so NSP training made [CLS] a better sentence vector than it was, but not as good as the mean the "
                  "model was trained to produce: NSP needs what a sentence is about, not every cue a task reads")
    elif cls.outcome == "indistinguishable" and mean.outcome != "lower":
        answer = ("so continued NSP training left the frozen [CLS] as good a sentence vector as it was, and as good "
                  f"as the mean: its last layer gathers the sentence ({a.reads['word'][-1]:.2f} of its last attention "
                  "row on words), and NSP, which asks only whether B follows A, added no sentiment to it")
    elif cls.outcome == "indistinguishable":
        answer = ("so continued NSP training left the frozen [CLS] no better a sentence vector than it was, and "
                  "below the mean: NSP asks only whether B follows A")
    else:
        answer = ("so NSP training made [CLS] a worse sentence vector for this task: it specialised [CLS] in "
                  "topic and coherence at the cost of the rest")
    return f"With these models we found: {geometry}. Then {probe}; {answer}."
