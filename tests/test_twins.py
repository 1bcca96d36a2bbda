"""The mini-BERT's position twins: pair layouts, where the pair head reads, short reruns, and the shipped twins."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import helpers
from helpers.core import position_twins as T
from helpers.core.config import MINI_BERT_DIR
from helpers.lessons import nsp_pretraining as P
from helpers.lessons.nsp_pretraining import twins
from helpers.lessons.nsp_pretraining.corpus import make_corpus
from helpers.lessons.nsp_pretraining.pairs import Pair, collate, encode_pairs
from helpers.lessons.nsp_pretraining.training import layout_of, pair_logits


@pytest.fixture(scope="module")
def corpus():
    return make_corpus(300, 40, seed=0)


@pytest.fixture(scope="module")
def tok(corpus):
    return P.train_tokenizer(corpus.texts("train"))


def _pair(a, b):
    return Pair(a, b, 0, "", "", "", "")


@pytest.mark.parametrize("layout", list(T.PAIR_LAYOUTS))
def test_each_layout_puts_cls_where_it_says(tok, layout):
    row = encode_pairs(tok, [_pair("the baker opened the shop.", "she lit the oven.")], layout=layout)[0]
    tokens = tok.convert_ids_to_tokens(row["input_ids"])
    assert tokens.count("[SEP]") == 2
    if layout == "none":
        assert "[CLS]" not in tokens and row["summary_pos"] == -1
    else:
        assert tokens.count("[CLS]") == 1 and tokens[row["summary_pos"]] == "[CLS]"
    where = {"start": 0, "last": len(tokens) - 1, "middle": tokens.index("[SEP]") + 1}
    if layout in where:
        assert row["summary_pos"] == where[layout]
    # segment 0 is A and its [SEP]; segment 1 the rest
    first_sep = tokens.index("[SEP]")
    assert set(row["token_type_ids"][: first_sep + 1]) == {0} and set(row["token_type_ids"][first_sep + 1 :]) == {1}


def test_long_pairs_are_cut_to_max_length_keeping_the_specials(tok):
    long = " ".join(["the baker opened the shop"] * 20)
    for layout in T.PAIR_LAYOUTS:
        row = encode_pairs(tok, [_pair(long, long + " again")], max_length=40, layout=layout)[0]
        assert len(row["input_ids"]) == 40
        tokens = tok.convert_ids_to_tokens(row["input_ids"])
        assert tokens.count("[SEP]") == 2 and (layout == "none" or tokens[row["summary_pos"]] == "[CLS]")
    with pytest.raises(ValueError, match="layout must be one of"):
        encode_pairs(tok, [_pair("a", "b")], layout="end")


def test_the_start_layout_is_transformers_own_nsp_path_and_others_read_their_place(tok):
    rows_in = [_pair("the baker opened the shop.", "she lit the oven."), _pair("a dog ran.", "the match began at noon.")]
    start = P.new_model(tok, seed=0, layers=1, width=16, heads=2, intermediate=32)
    batch = collate(encode_pairs(tok, rows_in), tok.pad_token_id)
    out = start.bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                     token_type_ids=batch["token_type_ids"])
    own = start(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                token_type_ids=batch["token_type_ids"]).seq_relationship_logits
    assert torch.allclose(pair_logits(start, out, batch), own)
    last = P.new_model(tok, seed=0, layout="last", layers=1, width=16, heads=2, intermediate=32)
    assert layout_of(last) == "last" and layout_of(start) == "start"
    b2 = collate(encode_pairs(tok, rows_in, layout="last"), tok.pad_token_id)
    out2 = last.bert(input_ids=b2["input_ids"], attention_mask=b2["attention_mask"], token_type_ids=b2["token_type_ids"])
    v = out2.last_hidden_state[torch.arange(2), b2["summary_pos"]]
    want = last.cls.seq_relationship(torch.tanh(last.bert.pooler.dense(v)))
    assert torch.allclose(pair_logits(last, out2, b2), want)
    none = P.new_model(tok, seed=0, layout="none", layers=1, width=16, heads=2, intermediate=32)
    b3 = collate(encode_pairs(tok, rows_in, layout="none"), tok.pad_token_id)
    out3 = none.bert(input_ids=b3["input_ids"], attention_mask=b3["attention_mask"], token_type_ids=b3["token_type_ids"])
    n0 = int(b3["attention_mask"][0].sum())
    mean0 = out3.last_hidden_state[0, :n0].mean(0)
    want0 = none.cls.seq_relationship(torch.tanh(none.bert.pooler.dense(mean0)))
    assert torch.allclose(pair_logits(none, out3, b3)[0], want0, atol=1e-6)


def test_a_short_run_is_the_start_of_the_long_one_in_every_layout(corpus, tok):
    for layout in ("start", "last"):
        model = P.new_model(tok, seed=0, layout=layout, layers=1, width=16, heads=2, intermediate=32)
        long = P.pretrain(corpus, tok, model, steps=8, batch_size=8, eval_every=4, eval_pairs=32, progress=False)
        model = P.new_model(tok, seed=0, layout=layout, layers=1, width=16, heads=2, intermediate=32)
        short = P.pretrain(corpus, tok, model, steps=8, batch_size=8, eval_every=4, eval_pairs=32, progress=False,
                           stop_after=4)
        untimed = [[{k: v for k, v in e.items() if k != "seconds"} for e in run.evals] for run in (short, long)]
        assert [e["step"] for e in short.evals] == [0, 4] and untimed[0] == untimed[1][:2]
        assert short.settings.get("layout", "start") == layout


def test_saved_twins_load_with_their_layout_and_score_the_same(corpus, tok, tmp_path):
    model = P.new_model(tok, seed=0, layout="middle", layers=1, width=16, heads=2, intermediate=32)
    res = P.pretrain(corpus, tok, model, steps=4, batch_size=8, eval_every=4, eval_pairs=32, progress=False)
    folder = P.save_checkpoint(res, tmp_path / "middle")
    lm = helpers.load_model(str(folder), device="cpu")
    assert lm.has_nsp and layout_of(lm.model) == "middle"
    mem = P.wrap(res.model, tok)
    a, b = "the baker opened the shop.", "she lit the oven."
    assert P.p_is_next(lm, a, b) == pytest.approx(P.p_is_next(mem, a, b), abs=1e-6)


def _fake_results(finals: dict[str, float], n: int = 400) -> dict:
    rng = np.random.default_rng(0)
    runs, correct = [], {}
    for layout, acc in finals.items():
        for seed in (0, 1):
            evals = [{"step": s, "seconds": s / 10, "nsp_acc": min(acc, 0.5 + s / 2000), "mlm_acc": 0.8}
                     for s in range(0, 1001, 250)]
            runs.append({"layout": layout, "seed": seed, "evals": evals, "final": evals[-1]})
        correct[layout] = ["".join("1" if r else "0" for r in rng.random(n) < acc) for _ in (0, 1)]
    return {"provenance": {"layouts": list(finals)}, "results": {"runs": runs, "level": 0.9, "correct": correct}}


def test_the_twin_table_and_finding_follow_the_numbers():
    same = _fake_results({"start": 0.95, "last": 0.95, "middle": 0.95, "none": 0.95})
    table = T.twin_table(same)
    assert table["start"]["mean"] == pytest.approx(0.95) and table["start"]["to_level"][0]["step"] == 1000
    assert "convention" in T.twin_finding(same) or "indistinguishable" in T.twin_finding(same)
    worse = _fake_results({"start": 0.95, "last": 0.94, "middle": 0.60, "none": 0.70})
    text = T.twin_finding(worse)
    assert "lower with" in text and "A [SEP] [CLS] B [SEP]" in text and "never reached" in text
    d = T.layout_differences(worse)
    assert d["middle"].outcome == "lower" and set(d) == {"last", "middle", "none"}
    assert "steps to 0.90" in T.format_twin_table(table)
    assert T.time_to_level([{"step": 0, "seconds": 0, "nsp_acc": 0.5}]) is None


# ----------------------------------------------------------------------------- the shipped twins


@pytest.fixture(scope="module")
def shipped():
    return T.load_twins()


def test_the_shipped_twins_cover_every_layout_and_seed_with_one_budget(shipped):
    prov = shipped["provenance"]
    assert prov["layouts"] == list(T.PAIR_LAYOUTS) and prov["seeds"] == list(T.TWIN_SEEDS)
    assert prov["budget"]["steps"] == P.RECIPE["steps"]
    runs = {(r["layout"], r["seed"]) for r in shipped["results"]["runs"]}
    assert runs == {(l, s) for l in T.PAIR_LAYOUTS for s in T.TWIN_SEEDS}
    assert all(r["final"]["step"] == P.RECIPE["steps"] for r in shipped["results"]["runs"])
    corpus, _ = twins.corpus_and_tokenizer()
    assert prov["data_hash"] == twins.story_corpus_hash(corpus)


def test_the_start_twin_is_the_shipped_mini_bert_retrained(shipped):
    metrics = json.loads((MINI_BERT_DIR / "metrics.json").read_text())
    start0 = next(r for r in shipped["results"]["runs"] if r["layout"] == "start" and r["seed"] == 0)
    assert start0["final"]["nsp_acc"] == metrics["nsp_acc"] and start0["final"]["mlm_acc"] == metrics["mlm_acc"]


@pytest.mark.parametrize("layout", list(T.PAIR_LAYOUTS))
def test_each_shipped_twin_loads_by_name_and_its_weights_give_its_numbers(shipped, layout):
    name = T.PAIR_LAYOUTS[layout][1]
    lm = helpers.load_model(name, device="cpu")
    assert lm.has_nsp and layout_of(lm.model) == layout
    bits = twins.heldout_correct(lm, 0)
    shipped_bits = shipped["results"]["correct"][layout][0]  # seed 0: the twin that ships
    same = np.mean(T.bits_array(bits) == T.bits_array(shipped_bits))
    assert same >= 0.995, f"{name}: {same:.3f} of the held-out pairs judged as shipped"
    run = next(r for r in shipped["results"]["runs"] if r["layout"] == layout and r["seed"] == 0)
    assert T.bits_array(bits).mean() == pytest.approx(run["final"]["nsp_acc"], abs=2 / len(bits))
    if layout != "start":
        m = json.loads((twins.twin_dir(layout) / "metrics.json").read_text())
        assert m["nsp_acc"] == run["final"]["nsp_acc"] and m["layout"] == layout
