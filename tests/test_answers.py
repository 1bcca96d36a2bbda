"""Notebook 09, the answers: every verdict follows its numbers (fake results that point each way, and the shipped
ones), every check says right, wrong and "not answered yet", the live evidence runs on a tiny model, the NSP head
opened by hand gives the head's own probabilities, the core functions moved for 09 stay one definition, and every
evidence link of the notebook points at a heading that exists."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
import torch

from helpers.core import geometry, position_twins, sweep_report
from helpers.core.linear import ProbeResult
from helpers.lessons import the_answers as A

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "09_the_answers.ipynb"
READOUTS = ("cls", "mean", "max", "first", "pos2", "last", "sep", "cls_end")


# ----------------------------------------------------------------------------- fake results that point each way


def _cmp(diff: float, half: float = 0.01) -> dict:
    lo, hi = diff - half, diff + half
    outcome = "higher" if lo > 0 else "lower" if hi < 0 else "indistinguishable"
    return {"diff": diff, "lo": lo, "hi": hi, "outcome": outcome, "verdict": f"{outcome} by {diff:+.3f}"}


def _bits(acc: float, n: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    return "".join("1" if r else "0" for r in rng.random(n) < acc)


def fake_sweep(vs_cls: dict[str, float], frozen_acc: dict[str, float] | None = None, n: int = 400) -> dict:
    """A sweep whose fine-tuned heads differ from the [CLS] head by ``vs_cls[readout]`` (interval ± 0.01)."""
    frozen_acc = frozen_acc or {}
    table, frozen = {}, {}
    for i, k in enumerate(READOUTS):
        fr = frozen_acc.get(k, 0.70)
        row = {"label": k if k != "cls" else "[CLS] at position 0 (the usual)", "frozen": fr,
               "fine_tuned": 0.85 + vs_cls.get(k, 0.0), "gain": _cmp(0.15), "per_seed": [0.85, 0.85, 0.85],
               "late_gain": 0.0}
        if k != "cls":
            row["vs_cls"] = _cmp(vs_cls.get(k, 0.0))
        table[k] = row
        frozen[k] = {"C": 0.1, "correct": _bits(fr, n, 100 + i)}
    return {"provenance": {"model": "embedded", "budget": {"train_layers": 3, "steps": 400}, "readouts": list(READOUTS),
                           "n_test": n, "seeds": [0, 1, 2]},
            "results": {"table": table, "frozen": frozen}}


def fake_twins(acc: dict[str, float], n: int = 600) -> dict:
    runs, correct = [], {}
    for j, (layout, a) in enumerate(acc.items()):
        for seed in (0, 1, 2):
            evals = [{"step": 1000, "seconds": 10.0, "nsp_acc": a, "mlm_acc": 0.8}]
            runs.append({"layout": layout, "seed": seed, "evals": evals, "final": evals[-1]})
        correct[layout] = [_bits(a, n, 10 * j + s) for s in (0, 1, 2)]
    return {"provenance": {"layouts": list(acc)}, "results": {"runs": runs, "level": 0.9, "correct": correct}}


def _probe(acc: float, n: int = 400, seed: int = 0, chance: float = 0.5) -> ProbeResult:
    rng = np.random.default_rng(seed)
    correct = (rng.random((2, n)) < acc).astype(float)
    return ProbeResult(correct.mean(1), f"probe {seed}", chance=chance, n_train=n - n // 5, n_test=n, correct=correct)


def _rows(shares) -> list[geometry.MassiveCoordinate]:
    return [geometry.MassiveCoordinate(i, 7, 1.0, 2.0, s, 0.1, 0.99, 0.9, 0.01) for i, s in enumerate(shares)]


def fake_frozen(name="m", cls0=0.5, cls=0.70, mean=0.70, shares=(0.9, 0.99, 0.8)) -> A.FrozenEvidence:
    last = len(shares) - 1
    probes = {"cls": {0: _probe(cls0, seed=1), last: _probe(cls, seed=2)}, "mean": {last: _probe(mean, seed=3)}}
    return A.FrozenEvidence(name, probes, _rows(shares), 400)


SAME_TWINS = {"start": 0.93, "last": 0.93, "middle": 0.93, "none": 0.93}
WORSE_TWINS = {"start": 0.95, "last": 0.80, "middle": 0.75, "none": 0.70}
_DIFFS: dict = {}


def twin_diffs(acc: dict[str, float]) -> dict:
    """The answers' view of the twins: each layout against the start (computed once per set of accuracies)."""
    key = tuple(acc.items())
    if key not in _DIFFS:
        _DIFFS[key] = position_twins.layout_differences(fake_twins(acc))
    return _DIFFS[key]


# ----------------------------------------------------------------------------- the questions follow the numbers


def test_question_1_is_worded_from_the_intervals():
    a = A.answer_aggregate(fake_frozen(cls=0.60, mean=0.80), fake_sweep({"mean": 0.0}))
    assert a.numbers == {"live": "lower", "gain": "higher", "mean_head": "indistinguishable"}
    assert "lower than the mean of all tokens" in a.finding and "then the mean does as well" in a.finding
    assert "embedded" in a.finding and "(loaded here" in a.finding  # every number says its model
    b = A.answer_aggregate(fake_frozen(cls=0.70, mean=0.70), fake_sweep({"mean": -0.05}))
    assert b.numbers["mean_head"] == "lower" and "beats the mean" in b.finding


def test_question_2_tells_a_convention_from_a_winning_place():
    same = A.answer_why_first(twin_diffs(SAME_TWINS), fake_sweep({"cls_end": 0.0}))
    assert same.headline == "A convention, not a discovery" and "convention" in same.finding
    moved = A.answer_why_first(twin_diffs(SAME_TWINS), fake_sweep({"cls_end": -0.04}))
    assert moved.headline.endswith("keep [CLS] where it was pretrained")
    worse = A.answer_why_first(twin_diffs(WORSE_TWINS), fake_sweep({}))
    assert worse.headline.startswith("Pretraining favoured the start") and "learned NSP less well" in worse.finding


def test_question_3_uses_the_patching_summaries_and_the_parking_coordinate():
    written = {"embedded-cls-tuned": {"model": "embedded-cls-tuned", "move_layer": 6},
               "minilm-nsp": {"model": "minilm-nsp", "move_layer": None}}
    sentences = {k: f"Patched {k}." for k in written}
    base = fake_frozen("embedded", shares=(0.9, 0.99, 0.8))
    lower = {"minilm-nsp": fake_frozen("minilm-nsp", shares=(0.9, 0.99, 0.5)),
             "embedded-cls-tuned": fake_frozen("embedded-cls-tuned", shares=(0.9, 0.99, 0.4))}
    a = A.answer_how_learned(fake_sweep({}), written, sentences, base, lower)
    assert "Patched embedded-cls-tuned." in a.finding and "Patched minilm-nsp." in a.finding
    assert "lets go" in a.finding and "hidden states 0-2" in a.finding and "80%" in a.finding
    assert a.numbers["move_layer"] == {"embedded-cls-tuned": 6, "minilm-nsp": None}
    same = {"minilm-nsp": fake_frozen("minilm-nsp", shares=(0.9, 0.99, 0.9))}
    assert "did not move it" in A.answer_how_learned(fake_sweep({}), {}, {}, base, same).finding


def _study(cls, base):
    from helpers.core.inversion import SplitStudy
    from helpers.core.stats import Estimate

    f1 = {"cls": {6: Estimate(cls)}, "mean": {6: Estimate([v + 0.05 for v in cls])}}
    return SplitStudy([0, 1, 2], {"f1": f1, "precision": f1, "recall": f1}, {"f1": Estimate(base)}, [100] * 3, 90, 30)


def test_question_4_reads_the_probe_against_the_baseline_and_the_search():
    nearest = {"cls": {0.0: 1.0, 1.0: 0.9, 4.0: 0.3}, "mean": {0.0: 1.0, 1.0: 0.9, 4.0: 0.3}}
    a = A.answer_recover(A.RecoveryEvidence("m", _study([0.40, 0.42, 0.41], [0.12, 0.14, 0.12]), nearest, 120, 6))
    assert a.numbers == {"probe": "higher", "exact": 1.0}
    assert a.headline == "Part of its words from the vector alone; the whole sentence by search"
    assert "90% with noise of 1 times" in a.finding and "no one-way hash" in a.finding
    weak = {"cls": {0.0: 0.4, 1.0: 0.1}, "mean": {0.0: 0.4, 1.0: 0.1}}
    blind = A.answer_recover(A.RecoveryEvidence("m", _study([0.12, 0.14, 0.12], [0.12, 0.14, 0.12]), weak, 120, 6))
    assert blind.headline == "Few words from the vector alone" and "recover little" in blind.finding


def test_question_5_lists_the_readouts_that_fall_short():
    a = A.answer_average(fake_sweep({"pos2": -0.04, "cls_end": -0.03}), fake_frozen())
    assert a.headline == "The average does as well; not every token does"
    assert a.numbers["lower"] == ["pos2", "cls_end"]
    b = A.answer_average(fake_sweep({"mean": 0.05}), fake_frozen())
    assert b.headline == "The average does better; so does every other token"


def test_question_6_compares_the_nsp_trained_cls_with_the_model_before():
    metrics = {"heldout": {"heldout_docs": {"accuracy": 0.9}, "heldout_genres": {"accuracy": 0.85}}}
    before = fake_frozen("embedded", cls=0.60, mean=0.75)
    better = A.answer_nsp_embedding(before, fake_frozen("minilm-nsp", cls=0.78, mean=0.78), metrics)
    assert better.numbers["vs_cls"] == "higher" and better.headline.startswith("NSP made [CLS] a sentence vector")
    same = A.answer_nsp_embedding(before, fake_frozen("minilm-nsp", cls=0.60, mean=0.75), metrics)
    assert same.numbers["vs_cls"] == "indistinguishable" and "does not make it one" in same.headline
    assert "0.900" in same.finding and "0.850" in same.finding


def test_question_7_reads_the_identity_of_the_input():
    ident = {"input_max_distance": 0.0, "output_min_distance": 3.0, "output_norm": 7.0, "n": 4, "model": "m"}
    a = A.answer_name(ident, fake_frozen(), fake_sweep({}), twin_diffs(SAME_TWINS))
    assert a.headline == "Right about the name, wrong as a reason" and a.numbers["same_input"]
    moved = dict(ident, input_max_distance=1.0)
    assert not A.answer_name(moved, fake_frozen(), fake_sweep({}), twin_diffs(SAME_TWINS)).numbers["same_input"]


# ----------------------------------------------------------------------------- the claims follow the numbers


def test_claim_verdicts_turn_with_the_numbers():
    assert A.claim_any_token(fake_sweep({})).verdict == "right"
    assert A.claim_any_token(fake_sweep({k: -0.05 for k in READOUTS})).verdict == "wrong"
    some = A.claim_any_token(fake_sweep({"pos2": -0.05}))
    assert some.verdict == "right only for some readouts" and "token at position 2 falls short" in some.finding

    assert A.claim_pooling_scheme(twin_diffs(SAME_TWINS), fake_sweep({})).verdict == "wrong"
    assert A.claim_pooling_scheme(twin_diffs(WORSE_TWINS), fake_sweep({})).verdict == "right only for pretraining"
    assert A.claim_pooling_scheme(twin_diffs(WORSE_TWINS), fake_sweep({"mean": -0.05})).verdict == "right"

    assert A.claim_arbitrary(twin_diffs(SAME_TWINS), fake_sweep({})).verdict == "right"
    assert A.claim_arbitrary(twin_diffs(SAME_TWINS), fake_sweep({"cls_end": -0.04})).verdict == \
        "right for the design, not once pretrained"
    assert A.claim_arbitrary(twin_diffs(WORSE_TWINS), fake_sweep({})).verdict == "wrong"

    assert A.claim_average(fake_sweep({}), fake_frozen(), twin_diffs(SAME_TWINS)).verdict == "right"
    assert A.claim_average(fake_sweep({}), fake_frozen(), twin_diffs(WORSE_TWINS)).verdict == "right for classification"
    assert A.claim_average(fake_sweep({"mean": -0.06}), fake_frozen(), twin_diffs(SAME_TWINS)).verdict == "wrong"


def test_claim_on_word_slots_reads_frozen_and_fine_tuned():
    none_worse = A.claim_word_representation(fake_sweep({}, {k: 0.70 for k in READOUTS}, n=2000))
    assert none_worse.verdict == "wrong"
    all_worse = A.claim_word_representation(fake_sweep({k: -0.05 for k in READOUTS},
                                                       {"cls": 0.80, "first": 0.55, "pos2": 0.55, "last": 0.55}, n=2000))
    assert all_worse.verdict == "right"
    some = A.claim_word_representation(fake_sweep({"pos2": -0.05}, {"cls": 0.75, "pos2": 0.55}, n=2000))
    assert some.verdict == "right only for some readouts" and "(frozen and fine-tuned)" in some.finding


def test_claims_on_the_nsp_probability_and_the_fixed_input():
    hand = {"model": "minilm-nsp", "width": 384, "pairs": 8, "max_gap": 1e-7, "head_accuracy": 0.75}
    c = A.claim_probability(hand, "embedded", False)
    assert c.verdict == "wrong as worded" and "384 numbers" in c.finding and "has no NSP head" in c.finding
    assert "has no NSP head" not in A.claim_probability(hand, "mini-bert", True).finding
    ident = {"input_max_distance": 0.0, "output_min_distance": 3.0, "output_norm": 7.0, "n": 4, "model": "m"}
    assert A.claim_fixed_embedding(ident, fake_frozen(cls0=0.5, cls=0.8)).verdict == "right"
    assert A.claim_fixed_embedding(ident, fake_frozen(cls0=0.5, cls=0.5)).verdict == "right"  # the outputs still differ
    partly = A.claim_fixed_embedding(dict(ident, input_max_distance=2.0), fake_frozen(cls0=0.5, cls=0.5))
    assert partly.verdict == "partly right" and "not one vector" in partly.finding
    assert A.claim_fixed_embedding(dict(ident, input_max_distance=2.0, output_min_distance=0.0),
                                   fake_frozen(cls0=0.9, cls=0.5)).verdict == "wrong"


# ----------------------------------------------------------------------------- the shipped results


@pytest.fixture(scope="module")
def shipped():
    return sweep_report.load_sweep(), position_twins.load_twins()


def test_the_shipped_verdicts_quote_the_shipped_intervals(shipped):
    sweep, twins = shipped
    t = sweep["results"]["table"]
    any_token = A.claim_any_token(sweep)
    for k in sweep_report.readouts_of(sweep):
        if k != "cls":
            assert f"{t[k]['vs_cls']['diff']:+.3f} [{t[k]['vs_cls']['lo']:+.3f}, {t[k]['vs_cls']['hi']:+.3f}]" in any_token.finding
    lower = {k for k, r in t.items() if r.get("vs_cls", {}).get("outcome") == "lower"}
    assert set(any_token.numbers["lower"]) == lower
    diffs = position_twins.layout_differences(twins)
    why = A.answer_why_first(diffs, sweep)
    assert why.numbers["none"] == diffs["none"].outcome
    assert sweep["provenance"]["model"] in why.finding  # the sweep's model is named


def test_frozen_difference_is_the_paired_frozen_column(shipped):
    sweep, _ = shipped
    d = sweep_report.frozen_difference(sweep, "pos2")
    a, b = sweep_report.shipped_frozen(sweep, "pos2"), sweep_report.shipped_frozen(sweep, "cls")
    assert d.diff == pytest.approx(a.mean() - b.mean()) and d.n == len(a)
    assert d.b == "[CLS] at position 0 (the usual)"


# ----------------------------------------------------------------------------- the checks


def test_check_first_word_right_wrong_and_unanswered():
    sweep = fake_sweep({"first": 0.0, "pos2": -0.05})
    assert A.check_first_word(..., sweep).ok is None
    assert A.check_first_word(True, sweep).ok is True
    assert A.check_first_word(False, sweep).ok is False
    assert A.check_first_word("yes", sweep).ok is False
    assert A.check_first_word(False, sweep, readout="pos2").ok is True


def test_check_lower_readouts_right_wrong_and_unanswered():
    sweep = fake_sweep({"pos2": -0.05, "cls_end": -0.04})
    assert A.check_lower_readouts(..., sweep).ok is None
    assert A.check_lower_readouts({"pos2", "cls_end"}, sweep).ok is True
    assert A.check_lower_readouts(["cls_end", "pos2"], sweep).ok is True
    assert A.check_lower_readouts({"pos2"}, sweep).ok is False
    assert A.check_lower_readouts(set(), sweep).ok is False
    assert A.check_lower_readouts({"pos2", "cls_end", "avg"}, sweep).ok is False
    assert A.check_lower_readouts("pos2", sweep).ok is False
    assert A.check_lower_readouts(set(), fake_sweep({})).ok is True


# ----------------------------------------------------------------------------- live evidence on the tiny model


TEXTS = [f"the film was {w} and the {x} was {y}" for w in ("good", "bad", "long", "fun", "boring")
         for x in ("plot", "music", "ending", "acting") for y in ("great", "awful", "short")]


def test_frozen_and_recovery_evidence_on_a_tiny_model(tiny, tmp_path):
    from helpers.core.features import FeatureCache

    cache = FeatureCache(tmp_path)
    labels = np.array([("good" in t or "fun" in t) for t in TEXTS], dtype=int)
    ev = A.frozen_evidence(tiny, TEXTS, labels, seeds=(0,), cache=cache)
    assert len(ev.rows) == tiny.num_layers + 1 and ev.last == tiny.num_layers
    assert set(ev.probes) == {"cls", "mean"} and set(ev.probes["cls"]) == {0, ev.last}
    assert ev.probes["cls"][0].correct.shape == (1, len(TEXTS))
    assert ev.rows[0].specific == pytest.approx(0.0, abs=1e-6)  # one [CLS] input vector for every sentence
    bare = A.frozen_evidence(tiny, TEXTS, labels, probes=False, cache=cache)
    assert bare.probes == {} and bare.last == ev.last
    rec = A.recovery_evidence(tiny, TEXTS, seeds=(0, 1), min_count=2, cache=cache)
    assert rec.layer == tiny.num_layers and rec.nearest["cls"][0.0] <= 1.0
    assert set(rec.splits.f1) == {"cls", "mean"} and rec.splits.layers == [rec.layer]
    with pytest.raises(ValueError, match="at least 20"):
        A.frozen_evidence(tiny, TEXTS[:5], labels[:5], cache=cache)


def test_input_identity_and_cls_identity(tiny):
    ident = A.input_identity(tiny)
    assert ident["input_max_distance"] < 1e-5 and ident["output_min_distance"] > 0 and ident["model"] == tiny.name
    with pytest.raises(ValueError, match="Cube"):
        geometry.cls_identity("not a cube")


def test_the_nsp_head_by_hand_is_the_head(tiny):
    pairs = A.nsp_sample_pairs(6)
    assert [p[2] for p in pairs] == [0, 1, 0, 1, 0, 1]
    assert A.nsp_model_for(tiny) is tiny  # a BertForPreTraining: its NSP head reads position 0
    parts = A.nsp_parts(tiny, pairs)
    probs = A.nsp_head_by_hand(parts)
    assert torch.allclose(probs, parts["head_probs"].float(), atol=1e-5)
    summary = A.by_hand_summary(parts, probs)
    assert summary["width"] == tiny.hidden_size and summary["max_gap"] < 1e-5 and summary["pairs"] == 6
    pooled = torch.tanh(parts["pooler_dense"](parts["cls_vec"]))  # the notebook's solution, outside inference mode
    mine = torch.softmax(parts["nsp_layer"](pooled), -1)[:, 0].detach()
    assert A.check_p_is_next(mine, parts).ok is True
    assert A.check_p_is_next(probs, parts).ok is True  # the (B,2) softmax counts too
    assert A.check_p_is_next(torch.sigmoid(parts["cls_vec"][:, 0]), parts).ok is False
    assert A.check_p_is_next(..., parts).ok is None
    assert A.check_p_is_next([0.5], parts).ok is False
    assert A.check_p_is_next("high", parts).ok is False


# ----------------------------------------------------------------------------- the core moved for 09


def test_parked_layers_and_layer_ranges():
    rows = _rows((0.2, 0.9, 0.95, 0.4, 0.7))
    assert geometry.parked_layers(rows) == [1, 2, 4]
    assert geometry.layer_ranges([1, 2, 4]) == "1-2 and 4" and geometry.layer_ranges([]) == "none"
    assert geometry.layer_ranges([0, 1, 2, 3]) == "0-3" and geometry.layer_ranges([1, 3, 5]) == "1, 3 and 5"


def test_lessons_02_and_07_use_the_core_definitions():
    from helpers.core import inversion
    from helpers.lessons import position_of_cls, recovering_the_sentence

    assert position_of_cls.cls_identity is geometry.cls_identity
    for name in ("content_words", "fit_inversion_probe", "inversion_over_splits", "split_verdict",
                 "nearest_neighbour_recovery", "SplitStudy"):
        assert getattr(recovering_the_sentence, name) is getattr(inversion, name)


# ----------------------------------------------------------------------------- views


def test_cards_and_table_escape_and_show_the_headline():
    a = A.Answer("q", "Is <b> safe?", "Yes & no", "because 1 < 2", "right")
    card = A.answer_card(a)
    html = card._repr_html_()
    assert "Yes &amp; no" in html and "1 &lt; 2" in html and "#1b7837" in html
    assert repr(card) == "Yes & no\nbecause 1 < 2"
    table = A.answers_table([a, A.Answer("c", "claim", "Wrong", "x", "wrong")])
    assert "Is &lt;b&gt; safe?" in table._repr_html_() and "->  Wrong" in repr(table)
    with pytest.raises(ValueError):
        A.answer_card("not an answer")
    with pytest.raises(ValueError):
        A.answers_table([])


# ----------------------------------------------------------------------------- the notebook's links


LINK = re.compile(r"\]\((\d\d_[a-z_]+\.ipynb)#([^)\s]+)\)")


def _heading_ids(path: Path) -> set[str]:
    """JupyterLab's ids of a notebook's headings: the heading's text (no markdown marks), spaces -> '-'."""
    ids = set()
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for line in "".join(cell["source"]).splitlines():
            if line.startswith("#"):
                text = re.sub(r"[`*]", "", line.lstrip("#").strip())
                ids.add(text.replace(" ", "-"))
    return ids


def test_every_evidence_link_points_at_a_heading():
    nb = json.loads(NOTEBOOK.read_text())
    links = [m.groups() for c in nb["cells"] if c["cell_type"] == "markdown" for m in LINK.finditer("".join(c["source"]))]
    assert len(links) >= 7
    missing = [f"{f}#{a}" for f, a in links if unquote(a) not in _heading_ids(ROOT / "notebooks" / f)]
    assert not missing, f"links to headings that do not exist: {missing}"
    sections = [c for c in nb["cells"] if c["cell_type"] == "markdown" and "".join(c["source"]).startswith("## ")]
    numbered = [c for c in sections if re.match(r"## \d · ", "".join(c["source"]))]
    assert len(numbered) == 7  # one slide per question
