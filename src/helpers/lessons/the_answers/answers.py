"""Notebook 09 · the answers: one :class:`Answer` per question the seeds ask and per answer people gave, each a pure
function of the numbers (shipped results and this run's measurements), so every sentence stays true whatever they show.

Every answer says which model its numbers come from: the fine-tuning sweep is the embedded MiniLM's (its provenance
names it), the position twins are the course's mini-BERT, ``minilm-nsp`` is the embedded model after continued NSP
pretraining, and the live measurements are the loaded model's. A comparison is worded from its paired 95% interval
("higher", "lower", "indistinguishable"), never from two bare means.

``twins`` is always :func:`helpers.core.position_twins.layout_differences` of the shipped twins (computed once: each
layout against [CLS] at the start, seeds and pairs resampled).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from ...core.geometry import layer_ranges, parked_layers
from ...core.inversion import split_verdict
from ...core.position_twins import PAIR_LAYOUTS
from ...core.readouts import get_readout
from ...core.stats import PairedDifference, difference, noise_margin
from ...core.sweep_report import NON_INFERIORITY_MARGIN, frozen_difference, readouts_of
from .evidence import FrozenEvidence, RecoveryEvidence

#: Two [CLS] input vectors closer than this fraction of an output vector's length count as the same vector.
SAME_INPUT_BELOW = 1e-5
#: The readouts the "a word's slot holds that word" claim is about: the first word, a fixed position, the last word.
WORD_READOUTS = ("first", "pos2", "last")


@dataclass
class Answer:
    """One answer of the closing notebook.

    Attributes:
        key: a short id ("q1".."q7", or a claim's name).
        asked: the question or the claim, in the asker's words.
        headline: the verdict, short enough for a slide (generated from the numbers).
        finding: the sentences behind it, each number from this run or a shipped result, each model named.
        verdict: for a claim: "right", "wrong" or "right only ..."; empty for a question.
        numbers: the figures the sentences were made of (for tests and curious readers).
    """

    key: str
    asked: str
    headline: str
    finding: str
    verdict: str = ""
    numbers: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.headline}\n{self.finding}"


# ----------------------------------------------------------------------------- small wording helpers


def _iv(diff: float, lo: float, hi: float) -> str:
    return f"{diff:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def _of(d) -> tuple[str, str]:
    """(outcome, "diff [lo, hi]") of a PairedDifference or a shipped "vs_cls"/"gain" dict."""
    if isinstance(d, Mapping):
        return d["outcome"], _iv(d["diff"], d["lo"], d["hi"])
    return d.outcome, _iv(d.diff, d.lo, d.hi)


def _as(outcome: str, than: str) -> str:
    """"higher than X" / "lower than X" / "indistinguishable from X"."""
    return f"indistinguishable from {than}" if outcome == "indistinguishable" else f"{outcome} than {than}"


def _names(keys: Sequence[str]) -> str:
    labels = [get_readout(k).label for k in keys]
    if not labels:
        return "none"
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sweep_model(sweep: dict) -> str:
    p = sweep["provenance"]
    return f"the sweep's model ({p['model']}, its top {p['budget']['train_layers']} layers fine-tuned)"


def _twins_about(twins: Mapping[str, PairedDifference]) -> str:
    seeds = max(d.seeds for d in twins.values())
    return f"the mini-BERT's position twins (pretrained from scratch, {seeds} seeds, NSP on held-out stories)"


def _probe(p) -> str:
    return f"{p.mean:.3f}"


def _above_chance(p) -> bool:
    return bool(p.mean - p.chance > noise_margin(p, p))


# ----------------------------------------------------------------------------- the seven questions


def answer_aggregate(frozen: FrozenEvidence, sweep: dict) -> Answer:
    """Question 1: is the output for [CLS] an aggregate representation of the sequence?"""
    last = frozen.last
    c0, cl, ml = frozen.probes["cls"][0], frozen.probes["cls"][last], frozen.probes["mean"][last]
    live_o, live_iv = _of(difference(cl, ml))
    t = sweep["results"]["table"]
    c, m = t["cls"], t["mean"]["vs_cls"]
    gain_o, gain_iv = _of(c["gain"])
    m_o, m_iv = _of(m)
    headline = ("An aggregate once a loss reads it, not by construction" if gain_o == "higher" else
                "Not an aggregate by itself, and fine-tuning did not make it one here")
    live = (f"With {frozen.model} (loaded here; frozen, {frozen.n} reviews, cross-fitted probes): at hidden state 0 "
            f"[CLS] reads sentiment at {_probe(c0)} (chance {c0.chance:.3f}), the same vector for every review; at the "
            f"last layer it reads {_probe(cl)}, {_as(live_o, f'the mean of all tokens at {_probe(ml)}')} "
            f"({live_iv}).")
    tuned = (f"With {_sweep_model(sweep)}: a head on [CLS] reaches {c['fine_tuned']:.3f}, {gain_o} than its frozen "
             f"probe ({c['frozen']:.3f}) by {gain_iv}, and the mean head is {_as(m_o, 'it')} ({m_iv}).")
    if gain_o == "higher" and m_o == "indistinguishable":
        so = ("So [CLS] is the vector BERT's authors chose to read, and it becomes the sentence's aggregate when a loss "
              "reads it; then the mean does as well.")
    elif gain_o == "higher" and m_o == "lower":
        so = ("So [CLS] becomes the sentence's aggregate when a loss reads it, and here it then beats the mean.")
    elif gain_o == "higher":
        so = ("So a loss that reads [CLS] makes it an aggregate, yet here the mean, read by its own head, holds more.")
    else:
        so = "So on this budget no training turned [CLS] into the sentence's aggregate."
    return Answer("q1", "Why only the output for [CLS]? Is it an aggregate representation of the sequence?", headline,
                  " ".join([live, tuned, so]),
                  numbers={"live": live_o, "gain": gain_o, "mean_head": m_o})


def answer_why_first(twins: Mapping[str, PairedDifference], sweep: dict) -> Answer:
    """Question 2: why the first token, not the second, third or last; trial and error?"""
    d = twins
    t = sweep["results"]["table"]
    end_ft_o, end_ft_iv = _of(t["cls_end"]["vs_cls"])
    end_fr_o, end_fr_iv = _of(frozen_difference(sweep, "cls_end"))
    pos2_o, pos2_iv = _of(t["pos2"]["vs_cls"])
    moved = [l for l in ("last", "middle") if l in d]
    fine = [l for l in moved if d[l].outcome != "lower"]
    if len(fine) == len(moved):
        head = "A convention, not a discovery"
    elif fine:
        head = "Partly a convention"
    else:
        head = "Pretraining favoured the start"
    head += ("; but keep [CLS] where it was pretrained" if end_ft_o == "lower" else "")
    parts = [f"{PAIR_LAYOUTS[l][0]} {_as(d[l].outcome, 'the start')} ({_of(d[l])[1]})" for l in moved]
    if "none" in d:
        parts.append(f"no [CLS] at all (NSP read from the mean) {_as(d['none'].outcome, 'the start')} "
                     f"({_of(d['none'])[1]})")
    pre = f"With {_twins_about(twins)}, against [CLS] at the start: " + "; ".join(parts) + "."
    post = (f"With {_sweep_model(sweep)}, pretrained with [CLS] at position 0: moved to the end, a frozen probe is "
            f"{_as(end_fr_o, '[CLS] at 0')} ({end_fr_iv}) and a fine-tuned head {_as(end_ft_o, 'the [CLS] head')} "
            f"({end_ft_iv}); a head on the token at position 2 is {_as(pos2_o, 'the [CLS] head')} ({pos2_iv}).")
    if len(fine) == len(moved):
        so = ("So the first position is a convention: in a bidirectional encoder every position reads every token, and "
              "index 0 is the one place that is always a real token, whatever the length and the padding.")
    else:
        so = ("So in this pretraining the place of the summary token mattered: "
              f"{_names_layouts([l for l in moved if l not in fine])} learned NSP less well than the start.")
    if end_ft_o == "lower":
        so += " What costs accuracy is moving [CLS] away from the place the model was pretrained with."
    return Answer("q2", "Why is it the first token, not the second, third or last: trial and error?", head,
                  " ".join([pre, post, so]), numbers={l: d[l].outcome for l in d} | {"cls_end": end_ft_o})


def _names_layouts(layouts: Sequence[str]) -> str:
    names = [PAIR_LAYOUTS[l][0] for l in layouts]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def answer_how_learned(sweep: dict, written: Mapping[str, dict], sentences: Mapping[str, str],
                       base: FrozenEvidence, trained: Mapping[str, FrozenEvidence] | None = None) -> Answer:
    """Question 3: how does [CLS] learn the representation, if it is trained like every other token?

    Args:
        written: model name -> :func:`helpers.core.patching.where_written` summary (notebook 08's patching).
        sentences: model name -> :func:`helpers.core.patching.where_written_sentence` of it.
        base: :class:`~.evidence.FrozenEvidence` of a model where no loss read [CLS] on its own (the embedded MiniLM,
            trained with mean pooling).
        trained: model name -> FrozenEvidence of models built on ``base`` whose [CLS] a loss reads.
    """
    t = sweep["results"]["table"]
    keys = readouts_of(sweep)
    gains = {k: t[k]["gain"] for k in keys}
    up = [k for k, g in gains.items() if g["outcome"] == "higher"]
    lo, hi = min(g["diff"] for g in gains.values()), max(g["diff"] for g in gains.values())
    head = ("Like every token: the loss that reads it makes the difference" if len(up) == len(keys) else
            "Like every token, and only where a loss reads it")
    sweep_txt = (f"The same weights process every position; what differs is which output the loss reads. With "
                 f"{_sweep_model(sweep)}, fine-tuning a head on a readout raised that readout above its frozen probe for "
                 f"{len(up)} of the {len(keys)} readouts ({lo:+.3f} to {hi:+.3f}; [CLS] {gains['cls']['diff']:+.3f}): "
                 "whichever vector the loss reads learns to summarise.")
    patch = [sentences[name] for name in written]
    parked = parked_layers(base.rows)
    top = base.rows[-1]
    park_txt = (f"In {base.model}, where no loss read [CLS] on its own, one coordinate (dim {top.dim}) holds over half of [CLS]'s "
                f"length in hidden states {layer_ranges(parked)}, and {top.share:.0%} at the last one"
                if parked else
                f"In {base.model}, where no loss read [CLS] on its own, its largest coordinate holds {top.share:.0%} of its length "
                "at the last hidden state")
    trained = dict(trained or {})
    if trained:
        shares = {name: ev.rows[-1].share for name, ev in trained.items()}
        park_txt += "; " + ", ".join(f"{share:.0%} in {name}" for name, share in shares.items())
        park_txt += (": where a loss reads [CLS], its last layer lets go of the constant it was parked on." if
                     all(v < top.share for v in shares.values()) else
                     ": reading [CLS] did not move it off that coordinate in every model.")
    else:
        park_txt += "."
    moved = {name: s.get("move_layer") for name, s in written.items()}
    return Answer("q3", "How does it learn the representation, if it is trained like every other token?", head,
                  " ".join([sweep_txt, *patch, park_txt]),
                  numbers={"gains_higher": len(up), "readouts": len(keys), "move_layer": moved, "parked": parked})


def answer_recover(rec: RecoveryEvidence) -> Answer:
    """Question 4: can the original sequence be recovered from [CLS]?"""
    layer = rec.layer
    cls, mean, base = rec.splits.f1["cls"][layer], rec.splits.f1["mean"][layer], rec.splits.baseline["f1"]
    v = split_verdict(cls, base)
    vm = split_verdict(mean, cls)
    nn = rec.nearest["cls"]
    exact = nn[min(nn)]
    held = [lvl for lvl in sorted(nn) if nn[lvl] >= 0.5]
    strongest = max(held) if held else None
    words = {"higher": "Part of its words from the vector alone", "indistinguishable": "Few words from the vector alone",
             "lower": "Few words from the vector alone"}[v]
    head = words + ("; the whole sentence by search" if exact >= 0.99 else "")
    probe = (f"With {rec.model} (loaded here; last layer, {rec.n} reviews, {len(rec.splits.seeds)} train/test splits): a "
             f"linear bag-of-words probe reads content words from [CLS] at F1 {cls.mean:.3f} ± {cls.std:.3f}, "
             f"{_as(v, f'a frequent-words baseline at {base.mean:.3f}')}; the mean of all tokens scores {mean.mean:.3f}, "
             f"{_as(vm, '[CLS]')}.")
    search = (f"An attacker who can run the model on candidate sentences finds the exact one as the nearest [CLS] for "
              f"{exact:.0%} of the sentences")
    search += (f", and still for {nn[strongest]:.0%} with noise of {strongest:g} times each unit's spread." if strongest
               else ", and for under half once any noise is added.")
    so = ("So a [CLS] vector is no one-way hash: it gives back part of its sentence's words, and the whole sentence to "
          "anyone who can guess candidates; the published attacks printed above, trained for it, rebuild far more."
          if v == "higher" and exact >= 0.99 else
          "So a [CLS] vector is no one-way hash; the published attacks printed above, trained for it, rebuild far more."
          if v == "higher" or exact >= 0.99 else
          "So a linear probe and a search recover little here; the published attacks printed above, trained for it, "
          "rebuild far more.")
    return Answer("q4", "Can the original sequence be recovered from [CLS]?", head, " ".join([probe, search, so]),
                  numbers={"probe": v, "exact": exact})


def answer_average(sweep: dict, frozen: FrozenEvidence) -> Answer:
    """Question 5: would an average (GlobalPooling1D) or any other token do as well?"""
    t = sweep["results"]["table"]
    others = [k for k in readouts_of(sweep) if k != "cls"]
    by = {o: [k for k in others if t[k]["vs_cls"]["outcome"] == o] for o in ("indistinguishable", "lower", "higher")}
    m_o, m_iv = _of(t["mean"]["vs_cls"])
    last = frozen.last
    fr_o, fr_iv = _of(difference(frozen.probes["mean"][last], frozen.probes["cls"][last]))
    mean_word = {"indistinguishable": "The average does as well", "higher": "The average does better",
                 "lower": "The average does worse"}[m_o]
    head = mean_word + ("; so does every other token" if not by["lower"] else "; not every token does")
    tuned = (f"With {_sweep_model(sweep)}, every head trained with the same budget, seeds and reviews: the mean head "
             f"(GlobalPooling1D) is {_as(m_o, 'the [CLS] head')} ({m_iv}). Of the {len(others)} other readouts, "
             f"indistinguishable from [CLS]: {_names(by['indistinguishable'])}; lower: {_names(by['lower'])}; higher: "
             f"{_names(by['higher'])}.")
    live = (f"Frozen, with {frozen.model} (loaded here), the mean is {_as(fr_o, '[CLS]')} ({fr_iv}) at the last layer: "
            "before fine-tuning, what a readout already holds depends on how the model was trained.")
    return Answer("q5", "Would an average (GlobalPooling1D) or any other token do as well?", head, " ".join([tuned, live]),
                  numbers={"mean_head": m_o, "lower": by["lower"], "frozen": fr_o})


def answer_nsp_embedding(before: FrozenEvidence, after: FrozenEvidence, nsp_metrics: dict) -> Answer:
    """Question 6: how can [CLS] be a sentence embedding if it was only trained for next-sentence prediction?"""
    last_b, last_a = before.last, after.last
    cls_b, mean_b = before.probes["cls"][last_b], before.probes["mean"][last_b]
    cls_a, mean_a = after.probes["cls"][last_a], after.probes["mean"][last_a]
    vs_cls_o, vs_cls_iv = _of(difference(cls_a, cls_b))
    vs_mean_o, vs_mean_iv = _of(difference(cls_a, mean_b))
    own_o, own_iv = _of(difference(cls_a, mean_a))
    h = nsp_metrics["heldout"]
    if vs_cls_o == "higher" and vs_mean_o != "lower":
        head = "NSP made [CLS] a sentence vector as good as the mean"
    elif vs_cls_o == "higher":
        head = "NSP made [CLS] a better sentence vector, not the best one"
    elif vs_cls_o == "indistinguishable":
        head = "NSP alone does not make it one; training that reads it as one does"
    else:
        head = "NSP made it a worse sentence vector"
    nsp = (f"{after.model} judges held-out pairs at {h['heldout_docs']['accuracy']:.3f} (unseen documents) and "
           f"{h['heldout_genres']['accuracy']:.3f} (unseen genres): NSP gave its [CLS] a pair-relation job.")
    probe = (f"On single reviews, a task NSP never saw ({after.n} reviews, frozen, cross-fitted), a probe reads sentiment "
             f"from its last-layer [CLS] at {_probe(cls_a)}: {_as(vs_cls_o, f'the [CLS] of {before.model} before NSP at {_probe(cls_b)}')} "
             f"({vs_cls_iv}), {_as(vs_mean_o, f'the mean of {before.model} at {_probe(mean_b)}')} ({vs_mean_iv}), and "
             f"{_as(own_o, f'its own mean at {_probe(mean_a)}')} ({own_iv}).")
    rb, ra = before.rows[-1], after.rows[-1]
    park = (f"At the last layer, [CLS]'s largest coordinate holds {rb.share:.0%} of its length in {before.model} and "
            f"{ra.share:.0%} in {after.model}.")
    so = ("So [CLS] is a sentence embedding to the extent a loss has made it one: NSP asks what each sentence is about "
          "only as far as that tells whether B follows A; BERT's authors warn the vector is no sentence representation "
          "without fine-tuning, and the sentence encoders built on [CLS] train it for that job (both printed above).")
    return Answer("q6", "How can [CLS] be a sentence embedding if it was only trained for next-sentence prediction?", head,
                  " ".join([nsp, probe, park, so]), numbers={"vs_cls": vs_cls_o, "vs_mean": vs_mean_o, "own": own_o})


def _same_input(identity: dict) -> bool:
    return identity["input_max_distance"] < SAME_INPUT_BELOW * max(identity["output_norm"], 1e-12)


def answer_name(identity: dict, frozen: FrozenEvidence, sweep: dict, twins: Mapping[str, PairedDifference]) -> Answer:
    """Question 7: is "CLS stands for classification, so it represents the sentence" right?"""
    c0 = frozen.probes["cls"][0]
    same = _same_input(identity)
    t = sweep["results"]["table"]
    g_o, g_iv = _of(t["cls"]["gain"])
    f_o, f_iv = _of(t["first"]["vs_cls"])
    d = twins
    n_o, n_iv = _of(d["none"]) if "none" in d else ("", "")
    head = ("Right about the name, wrong as a reason" if same else "Right about the name; the input is not even fixed here")
    name = ("The name is BERT's own: a special classification token (printed above). It names the job, not the content: "
            f"with {identity['model']} (loaded here) the [CLS] input vectors of {identity['n']} different sentences "
            f"differ by at most {identity['input_max_distance']:.1e} (their outputs by at least "
            f"{identity['output_min_distance']:.2f}), and a probe on hidden state 0 reads {_probe(c0)} (chance "
            f"{c0.chance:.3f}).")
    job = (f"What makes the output represent the sentence is training that reads it: with {_sweep_model(sweep)}, the "
           f"[CLS] head is {g_o} than its frozen probe by {g_iv}, and a head on the first word, a token not called "
           f"[CLS], is {_as(f_o, 'it')} ({f_iv})")
    if n_o:
        job += (f"; in {_twins_about(twins)}, NSP read from the mean with no [CLS] at all is {_as(n_o, '[CLS] at the start')} "
                f"({n_iv})")
    job += "."
    return Answer("q7", "Is the answer \"CLS stands for classification, so it represents the sentence\" right?", head,
                  " ".join([name, job]), numbers={"same_input": same, "first": f_o})


# ----------------------------------------------------------------------------- the answers people gave


def _verdict(n_true: int, n: int, some: str) -> str:
    return "right" if n_true == n else "wrong" if n_true == 0 else some


def claim_pooling_scheme(twins: Mapping[str, PairedDifference], sweep: dict) -> Answer:
    """"The tag was introduced to make BERT's pooling scheme work." """
    d = twins
    none_o, none_iv = _of(d["none"])
    mean_o, mean_iv = _of(sweep["results"]["table"]["mean"]["vs_cls"])
    needs_pre, needs_ft = none_o == "lower", mean_o == "lower"
    verdict = ("right" if needs_pre and needs_ft else "wrong" if not (needs_pre or needs_ft) else
               "right only for pretraining" if needs_pre else "right only for fine-tuning")
    finding = (f"BERT's pooler (dense + tanh) and its NSP layer read one vector, the output at position 0, so a token of "
               f"its own there gives them a slot no word occupies. In {_twins_about(twins)}, NSP through the same pooler "
               f"read from the mean, with no [CLS], is {_as(none_o, 'reading [CLS] at the start')} ({none_iv}); with "
               f"{_sweep_model(sweep)}, a classification head on the mean is {_as(mean_o, 'one on [CLS]')} ({mean_iv}).")
    finding += {"right": " So the tag is what lets that pooling work, in pretraining and after it.",
                "wrong": " So the pooling works as well without the tag, in pretraining and after it.",
                "right only for pretraining": (" So the tag helped the pretraining head here, while a classifier "
                                               "fine-tuned on the mean does not need it."),
                "right only for fine-tuning": (" So the tag mattered for the fine-tuned classifier here, not for the "
                                               "pretraining head.")}[verdict]
    return Answer("pooling", "\"The tag was introduced to make BERT's pooling scheme work.\"", _cap(verdict), finding,
                  verdict, {"none": none_o, "mean": mean_o})


def claim_word_representation(sweep: dict, readouts: Sequence[str] = WORD_READOUTS) -> Answer:
    """"They can't take any other word from the input, because its output is that word's representation." """
    t = sweep["results"]["table"]
    frozen = {k: _of(frozen_difference(sweep, k)) for k in readouts}
    tuned = {k: _of(t[k]["vs_cls"]) for k in readouts}
    worse = [("frozen", k) for k in readouts if frozen[k][0] == "lower"] + \
            [("fine-tuned", k) for k in readouts if tuned[k][0] == "lower"]
    n = 2 * len(readouts)
    verdict = _verdict(len(worse), n, "right only for some readouts")
    fr = "; ".join(f"the {get_readout(k).label} is {_as(frozen[k][0], '[CLS]')} ({frozen[k][1]})" for k in readouts)
    ft = "; ".join(f"{get_readout(k).label} {_as(tuned[k][0], '[CLS]')} ({tuned[k][1]})" for k in readouts)
    finding = (f"With {_sweep_model(sweep)}, the same reviews for every readout. Frozen: {fr}. Fine-tuned: {ft}.")
    if verdict == "right only for some readouts":
        short = {k: [how for how, kk in worse if kk == k] for k in readouts if any(kk == k for _, kk in worse)}
        finding += (" So a word's slot can be read as the sentence where its interval says so; it falls short for "
                    + "; ".join(f"the {get_readout(k).label} ({' and '.join(hows)})" for k, hows in short.items()) + ".")
    elif verdict == "wrong":
        finding += " So none of these word slots falls short of [CLS]: a word's output holds more than its word."
    else:
        finding += " So every word slot tried here falls short of [CLS]."
    return Answer("word", "\"They can't take any other word from the input, because its output is that word's "
                          "representation.\"", _cap(verdict), finding, verdict,
                  {"frozen": {k: v[0] for k, v in frozen.items()}, "tuned": {k: v[0] for k, v in tuned.items()}})


def claim_probability(by_hand: dict, loaded_name: str, loaded_has_nsp: bool, nsp_metrics: dict | None = None) -> Answer:
    """"You can think of the output of [CLS] as the probability that the second sentence follows." """
    width, gap = by_hand["width"], by_hand["max_gap"]
    verdict = "wrong as worded" if width > 1 else "right"
    finding = (f"The [CLS] output is a vector of {width} numbers, not one probability. In {by_hand['model']}, "
               f"P(IsNext) = softmax(NSP layer(tanh(pooler dense([CLS])))): computed by hand from the [CLS] vectors of "
               f"{by_hand['pairs']} held-out pairs it matches the head's own output to {gap:.1e}, and the head is right on "
               f"{by_hand['head_accuracy']:.0%} of them")
    if nsp_metrics is not None and by_hand["model"] == "minilm-nsp":
        finding += f" ({nsp_metrics['heldout']['heldout_docs']['accuracy']:.3f} on all held-out pairs of unseen documents)"
    finding += ". The probability is two trained layers away from [CLS], and only for a model pretrained with NSP"
    finding += ("." if loaded_has_nsp else f": {loaded_name}, loaded here, has no NSP head at all.")
    return Answer("probability", "\"You can think of the output of [CLS] as the probability that the second sentence "
                                 "follows.\"", _cap(verdict), finding, verdict, {"width": width, "max_gap": gap})


def claim_fixed_embedding(identity: dict, frozen: FrozenEvidence) -> Answer:
    """"[CLS] has a fixed embedding and position, so it carries no information itself; its output is inferred from all
    the other words." Right when the input vectors are one vector, a probe of hidden state 0 reads nothing, and the
    outputs still differ from sentence to sentence (so what differs came from the other tokens)."""
    same = _same_input(identity)
    differs = identity["output_min_distance"] > SAME_INPUT_BELOW * max(identity["output_norm"], 1e-12)
    c0, cl = frozen.probes["cls"][0], frozen.probes["cls"][frozen.last]
    blind, reads = not _above_chance(c0), _above_chance(cl)
    verdict = _verdict(int(same) + int(blind) + int(differs), 3, "partly right")
    finding = (f"With {identity['model']} (loaded here): the [CLS] input vectors of {identity['n']} different sentences "
               f"differ by at most {identity['input_max_distance']:.1e} (token, position 0 and segment A, nothing else) "
               f"while their outputs differ by at least {identity['output_min_distance']:.2f}; a probe on hidden state 0 "
               f"reads sentiment at {_probe(c0)} (chance {c0.chance:.3f}), and at the last layer {_probe(cl)} "
               f"({'clearly above' if reads else 'not clearly above'} chance).")
    if verdict == "right":
        finding += (" So everything in [CLS]'s output came from the other tokens, through attention: the other tokens are "
                    "what it reads, and what it keeps of them is what training made it keep.")
    else:
        failed = [text for ok, text in ((same, "the input vectors are not one vector"),
                                        (blind, "a probe reads something at hidden state 0"),
                                        (differs, "the outputs do not differ")) if not ok]
        finding += " But here " + " and ".join(failed) + "."
    return Answer("fixed", "\"[CLS] has a fixed embedding and position, so it carries no information itself; its output "
                           "is inferred from all the other words.\"", _cap(verdict), finding, verdict,
                  {"same_input": same, "blind_at_0": blind, "outputs_differ": differs, "reads_at_last": reads})


def claim_average(sweep: dict, frozen: FrozenEvidence, twins: Mapping[str, PairedDifference]) -> Answer:
    """"Of course you may use an average vector, it makes sense too"; "GlobalPooling1D is not inferior to [CLS]"."""
    m = sweep["results"]["table"]["mean"]["vs_cls"]
    m_o, m_iv = _of(m)
    not_inferior = m["lo"] > -NON_INFERIORITY_MARGIN
    last = frozen.last
    fr_o, fr_iv = _of(difference(frozen.probes["mean"][last], frozen.probes["cls"][last]))
    none_o, none_iv = _of(twins["none"])
    if not_inferior and none_o != "lower":
        verdict = "right"
    elif not_inferior:
        verdict = "right for classification"
    else:
        verdict = "wrong" if m["hi"] < -NON_INFERIORITY_MARGIN else "not settled here"
    finding = (f"With {_sweep_model(sweep)}, the mean head (GlobalPooling1D) is {_as(m_o, 'the [CLS] head')} ({m_iv}): "
               f"{'at worst' if not_inferior else 'down to'} {m['lo']:+.3f}, "
               f"{'inside' if not_inferior else 'beyond'} the margin of {NON_INFERIORITY_MARGIN} the sweep was built to "
               f"resolve. Frozen, with {frozen.model} (loaded here), the mean is {_as(fr_o, '[CLS]')} ({fr_iv}). In "
               f"{_twins_about(twins)}, NSP read from the mean is {_as(none_o, 'from [CLS] at the start')} ({none_iv}).")
    if verdict == "right for classification":
        finding += " So an average is a sound sentence classifier's input; a pretraining pair head did better with its own token."
    return Answer("average", "\"Of course you may use an average vector, it makes sense too\"; \"GlobalPooling1D is not "
                             "inferior to [CLS]\".", _cap(verdict), finding, verdict,
                  {"not_inferior": not_inferior, "frozen": fr_o, "none": none_o})


def claim_arbitrary(twins: Mapping[str, PairedDifference], sweep: dict) -> Answer:
    """"The first token was chosen arbitrarily, for convenience." """
    d = twins
    moved = [l for l in ("last", "middle") if l in d]
    fine = [l for l in moved if d[l].outcome != "lower"]
    end_o, end_iv = _of(sweep["results"]["table"]["cls_end"]["vs_cls"])
    design = len(fine) == len(moved)
    if design and end_o != "lower":
        verdict = "right"
    elif design:
        verdict = "right for the design, not once pretrained"
    elif fine:
        verdict = "partly right"
    else:
        verdict = "wrong"
    parts = "; ".join(f"{PAIR_LAYOUTS[l][0]} {_as(d[l].outcome, 'the start')} ({_of(d[l])[1]})" for l in moved)
    finding = (f"In {_twins_about(twins)}: {parts}. With {_sweep_model(sweep)}, pretrained with [CLS] at 0, a head on "
               f"[CLS] moved to the end is {_as(end_o, 'one at position 0')} ({end_iv}).")
    finding += {"right": " So any fixed place would have done, before and after pretraining.",
                "right for the design, not once pretrained": (" So the place was a free choice when BERT was designed, "
                                                              "and a binding one once the model was pretrained with it."),
                "partly right": " So only some other places do as well as the start.",
                "wrong": " So the start did better than the other places tried."}[verdict]
    return Answer("arbitrary", "\"The first token was chosen arbitrarily, for convenience.\"", _cap(verdict), finding,
                  verdict, {"twins": {l: d[l].outcome for l in moved}, "cls_end": end_o})


def claim_any_token(sweep: dict) -> Answer:
    """"If you fine-tune any token, it can perform as well as [CLS]." """
    t = sweep["results"]["table"]
    others = [k for k in readouts_of(sweep) if k != "cls"]
    lower = [k for k in others if t[k]["vs_cls"]["outcome"] == "lower"]
    verdict = _verdict(len(others) - len(lower), len(others), "right only for some readouts")
    rows = "; ".join(f"{get_readout(k).label} {_as(t[k]['vs_cls']['outcome'], '[CLS]')} ({_of(t[k]['vs_cls'])[1]})"
                     for k in others)
    finding = f"With {_sweep_model(sweep)}, fine-tuned heads against the [CLS] head: {rows}."
    if lower:
        finding += f" So not any token: {_names(lower)} {'falls' if len(lower) == 1 else 'fall'} short."
    return Answer("any_token", "\"If you fine-tune any token, it can perform as well as [CLS].\"", _cap(verdict), finding,
                  verdict, {"lower": lower})
