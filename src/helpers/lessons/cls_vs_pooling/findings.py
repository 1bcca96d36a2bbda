"""The "With this model we found: ..." sentences of notebook 06, built from this run's numbers (pure functions).

The notebook's "What to look for" stays general (true for the embedded MiniLM, the mini-BERT, bert-base-uncased);
these functions say what this run shows. Every "within the noise" is the course's rule
(:func:`helpers.core.stats.compare_estimates` for probe accuracies, :func:`.experiments.within_noise` for
means over sentences).
"""

from __future__ import annotations

from typing import Sequence

from ...core.cube import POOLING_LABELS
from ...core.stats import Estimate, compare_estimates, difference, noise_margin
from .experiments import best_frozen, within_noise


def _label(pooling: str) -> str:
    return POOLING_LABELS.get(pooling, pooling)


def _the(pooling: str) -> str:
    """"[CLS]", "the pooler", "the masked mean", ...: a pooling's name as it reads in a sentence."""
    return _label(pooling) if _label(pooling).startswith("[") else f"the {_label(pooling)}"


def _where(pooling: str, layer: int) -> str:
    return _the(pooling) if pooling == "pooler" else f"{_the(pooling)} at layer {layer}"


def _list(items: Sequence[str], most: int = 4) -> str:
    items = list(items)
    if len(items) > most:
        return ", ".join(items[:most]) + f" and {len(items) - most} more"
    return ", ".join(items)


def probe_findings(probe: dict, pooler: dict | None = None) -> str:
    """What the probes per layer show: layer 0, whether [CLS] catches up with the mean, the best frozen feature,
    the last layer's winners and what the pooler's score teaches.

    Args:
        probe: probe_by_layer()'s result (pooling -> {layer: ProbeResult}), with "cls" and "mean" at every layer.
        pooler: ``core.models.pooler_stats(lm)`` (None without a pooler).
    """
    if "cls" not in probe or "mean" not in probe:
        raise ValueError("probe_findings needs the 'cls' and 'mean' probes: probe those poolings.")
    cls, mean = probe["cls"], probe["mean"]
    top = max(cls)
    out = []
    if 0 in cls and 0 in mean:
        chance = Estimate([cls[0].chance], "chance")
        at = compare_estimates(cls[0], chance, n_test=cls[0].n_test)
        c0 = "at chance" if at == "about the same" else f"{at} than chance"
        m_at = compare_estimates(mean[0], chance, n_test=mean[0].n_test)
        m0 = (f"already scores {mean[0].mean:.3f}, above chance" if m_at == "higher"
              else f"scores {mean[0].mean:.3f}, {'at' if m_at == 'about the same' else 'below'} chance too")
        out.append(f"at layer 0 (the embeddings) [CLS] scores {cls[0].mean:.3f}, {c0} ({cls[0].chance:.3f}), "
                   f"while the mean of the word embeddings {m0}")
    up = [layer for layer in sorted(cls) if layer > 0 and layer in mean]
    caught = [layer for layer in up if compare_estimates(cls[layer], mean[layer]) != "lower"]
    if caught:
        out.append(f"going up, [CLS] is indistinguishable from the mean or above it (paired) at layer(s) "
                   f"{', '.join(map(str, caught))} of {up[0]}-{up[-1]}")
    elif up:
        out.append(f"going up, [CLS] stays below the mean (paired 95% intervals below 0) at every layer {up[0]}-{up[-1]}")
    p, layer, best, ties = best_frozen(probe)
    tie_text = (f"; indistinguishable from it (paired 95% intervals containing 0): "
                f"{_list([_where(q, m) for q, m in ties])}" if ties else "; every other feature is below it, paired")
    out.append(f"the best frozen feature is {_where(p, layer)} ({best.mean:.3f} ± {best.std:.3f}){tie_text}")
    last = {q: per[top] for q, per in probe.items() if top in per}
    winner = max(last, key=lambda q: last[q].mean)
    close = [q for q in last if q != winner and compare_estimates(last[winner], last[q]) == "about the same"]
    pair = difference(last["mean"], last["cls"]) if "mean" in last and "cls" in last else None
    out.append(f"at the last layer ({top}) the best is {_the(winner)} ({last[winner].mean:.3f})"
               + (f", with {_list([_the(q) for q in close])} indistinguishable from it" if close else ""))
    if pair is not None:
        out.append(f"at the last layer, on the same reviews: {pair.verdict()}")
    if "pooler" in last:
        pooled = last["pooler"]
        near = winner == "pooler" or "pooler" in close
        if bool(pooler and pooler["untrained"]):
            rank = "the best" if winner == "pooler" else ("indistinguishable from the best" if near else "below the best")
            if near:
                lesson = ("so a linear probe reads through a random projection and tanh: a probe score says what a "
                          "vector holds in a linearly readable form, not that a layer was trained to put it there")
            else:
                lesson = ("so here the random projection and tanh lose part of what the probe reads in [CLS] under it")
            out.append(f"the pooler, never trained (its bias is exactly 0), scores {pooled.mean:.3f}: {rank} at the "
                       f"last layer, {lesson}")
        elif pooler is not None:
            vs = compare_estimates(pooled, last["cls"])
            out.append(f"the pooler, trained (its bias is not 0), scores {pooled.mean:.3f}: "
                       f"{'about the same as' if vs == 'about the same' else vs + ' than'} the [CLS] under it "
                       f"({last['cls'].mean:.3f})")
    return "With this model we found: " + "; ".join(out) + "."


def retrieval_findings(rows: dict, shapes: dict, k: int = 5) -> str:
    """What cosine retrieval and the vectors' shape show, for [CLS] against the mean.

    Args:
        rows: pooling -> retrieval_scores() of its vectors, plus "centred precision@k".
        shapes: pooling -> anisotropy() of the same vectors.
    """
    if not {"cls", "mean"} <= set(rows) or not {"cls", "mean"} <= set(shapes):
        raise ValueError("retrieval_findings needs 'cls' and 'mean' in both rows and shapes.")
    key, se = f"precision@{k}", f"precision@{k} se"
    c, m = rows["cls"], rows["mean"]
    if within_noise(c[key], m[key], c.get(se, 0.0), m.get(se, 0.0)):
        first = (f"[CLS] and mean vectors retrieve about as well (precision@{k} {c[key]:.3f} and {m[key]:.3f}, "
                 "within the noise)")
    else:
        better, worse = ("mean", "cls") if m[key] > c[key] else ("cls", "mean")
        first = (f"{_label(better)} vectors retrieve better by cosine: precision@{k} {rows[better][key]:.3f} against "
                 f"{rows[worse][key]:.3f} for {_label(worse)}")
    sc, sm = shapes["cls"]["raw"], shapes["mean"]["raw"]
    every = "every pair has a positive cosine" if sc["lowest"] > 0 else f"pairs range from {sc['lowest']:.3f}"
    second = (f"raw [CLS] vectors are alike for any two sentences: mean cosine {sc['mean cosine']:.3f}, and {every} "
              f"(the least alike {sc['lowest']:.3f}); mean vectors: {sm['mean cosine']:.3f}, the least alike pair "
              f"{sm['lowest']:.3f}")
    cc = shapes["cls"]["centred"]
    third = (f"a same-topic pair stands {sc['separation']:.2f} standard deviations above the others with raw [CLS], "
             f"{cc['separation']:.2f} after centring, {sm['separation']:.2f} with the mean")
    centred = rows["cls"].get(f"centred {key}")
    if centred is not None:
        third += f"; centring moves [CLS]'s precision@{k} from {c[key]:.3f} to {centred:.3f}"
    big = shapes["cls"]["massive"]
    fourth = (f"one coordinate of [CLS] (dim {big.dim}) holds {big.share:.0%} of its length on average; "
              f"without it the mean cosine is {big.alike_without:.3f}")
    high = sc["mean cosine"] > sm["mean cosine"]
    advice = ("so for retrieval do not trust raw [CLS] cosine: a shared direction lifts every pair, and what ranks "
              "neighbours is how far same-topic pairs stand out; centre the vectors (subtract their average) or use "
              "vectors trained for similarity" if high else
              "so here [CLS] does not share more of one direction than the mean does")
    return f"With this model we found: {first}; {second}; {third}; {fourth}; {advice}."


def map_findings(agreement: dict, layer: int, layer0_alike: float | None = None, k: int = 5) -> str:
    """What the 2-D maps show: the layer-0 [CLS] collapse and how well each map keeps labels together.

    Args:
        agreement: (data set, pooling) -> map_agreement() of that map at ``layer``.
        layer: the layer the maps were drawn at.
        layer0_alike: the mean cosine between layer-0 [CLS] vectors (1.0 = one point for every sentence).
    """
    parts = []
    if layer0_alike is not None:
        if layer0_alike > 1 - 1e-6:
            parts.append(f"at layer 0 every sentence has the same [CLS] vector (mean cosine {layer0_alike:.3f}), "
                         "so the [CLS] map has nothing to show (every point is the same vector)")
        else:
            parts.append(f"at layer 0 the [CLS] vectors already differ (mean cosine {layer0_alike:.3f})")
    for name in dict.fromkeys(d for d, _ in agreement):
        cls, mean = agreement.get((name, "cls")), agreement.get((name, "mean"))
        if cls is None or mean is None:
            continue
        if within_noise(cls["agreement"], mean["agreement"], cls["se"], mean["se"]):
            how = "about as cleanly as the mean (within the noise)"
        else:
            how = "less cleanly than the mean" if cls["agreement"] < mean["agreement"] else "more cleanly than the mean"
        parts.append(f"in the layer-{layer} maps coloured by {name}, a point's {k} nearest points share its {name} "
                     f"{cls['agreement']:.0%} of the time with [CLS] and {mean['agreement']:.0%} with the mean "
                     f"(a random neighbour: {cls['chance']:.0%}): [CLS] separates {name} {how}")
    return "With this model we found: " + "; ".join(parts) + "."
