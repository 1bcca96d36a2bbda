"""Pretraining pieces behind notebook 04: corpus, pairs, masking, losses, checkpoints, explorer, checks."""

from __future__ import annotations

import ast
import json
import runpy
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers.core.attention import how_much_others_read_cls, uniform_share
from helpers.core.config import mini_bert_dir
from helpers.core.cube import encode
from helpers.lessons import nsp_pretraining as P
from helpers.lessons.nsp_pretraining.corpus import TOPICS, make_corpus

LESSON = Path(P.__file__).parent


@pytest.fixture(scope="module")
def corpus():
    return make_corpus(400, 60, seed=0)


@pytest.fixture(scope="module")
def tok(corpus):
    return P.train_tokenizer(corpus.texts("train"))


@pytest.fixture(scope="module")
def small(corpus, tok):
    """A 2-layer width-32 model after a few steps of MLM + NSP."""
    model = P.new_model(tok, seed=0, layers=2, width=32, heads=2, intermediate=64, max_positions=128)
    return P.pretrain(corpus, tok, model, objective="nsp", steps=6, batch_size=16, eval_every=3, eval_pairs=64,
                      progress=False)


# ----------------------------------------------------------------------------- corpus


def test_corpus_is_deterministic_and_seeded():
    a, b, c = make_corpus(30, 8, seed=0), make_corpus(30, 8, seed=0), make_corpus(30, 8, seed=1)
    assert a.train == b.train and a.heldout == b.heldout
    assert a.train != c.train


def test_heldout_documents_are_not_training_documents(corpus):
    train = {d.sentences for d in corpus.train}
    assert corpus.heldout and not any(d.sentences in train for d in corpus.heldout)
    assert not {d.doc_id for d in corpus.train} & {d.doc_id for d in corpus.heldout}


def test_documents_follow_their_script(corpus):
    counts = Counter(d.topic for d in corpus.train)
    assert set(counts) == set(TOPICS) and max(counts.values()) - min(counts.values()) <= 1
    for d in corpus.train[:50]:
        assert d.stages[0] == 0 and list(d.stages) == sorted(set(d.stages))
        assert 4 <= len(d.sentences) == len(d.stages) <= 7
        assert all(s.endswith(".") and s[0].isupper() for s in d.sentences)


def test_tokenizer_is_deterministic_and_specials_come_first(corpus, tok):
    again = P.train_tokenizer(corpus.texts("train"))
    assert again.get_vocab() == tok.get_vocab()
    assert [tok.convert_ids_to_tokens(i) for i in range(5)] == list(P.SPECIAL_TOKENS)
    assert tok.unk_token_id not in tok("She shapes the loaves by hand.")["input_ids"]
    pieces = tok.tokenize("Mira bakes breadsticks.")  # an unseen word is spelled from pieces, never [UNK]
    assert "[UNK]" not in pieces and any(p.startswith("##") for p in pieces)
    with pytest.raises(ValueError, match="vocab_size"):
        P.train_tokenizer(corpus.texts("train"), vocab_size=100)


# ----------------------------------------------------------------------------- pairs


def test_nsp_pairs_are_balanced_and_labelled_right(corpus):
    pairs = P.make_pairs(corpus.train, "nsp", seed=3)
    share = np.mean([p.label == P.NOT_NEXT for p in pairs])
    assert abs(share - 0.5) < 0.04
    docs = {d.doc_id: d for d in corpus.train}
    for p in pairs[:400]:
        s = docs[p.doc_a].sentences
        i = s.index(p.a)
        if p.label == P.IS_NEXT:
            assert p.doc_b == p.doc_a and s[i + 1] == p.b
        else:
            assert p.doc_b != p.doc_a and p.b in docs[p.doc_b].sentences


def test_sop_pairs_are_true_neighbours_in_order_or_swapped(corpus):
    pairs = P.make_pairs(corpus.train, "sop", seed=0)
    assert abs(np.mean([p.label for p in pairs]) - 0.5) < 0.04
    docs = {d.doc_id: d for d in corpus.train}
    for p in pairs[:400]:
        s = docs[p.doc_a].sentences
        assert p.doc_a == p.doc_b
        first, second = (p.a, p.b) if p.label == 0 else (p.b, p.a)
        assert s.index(second) == s.index(first) + 1


def test_mlm_pairs_have_no_pair_label_and_new_epochs_give_new_pairs(corpus):
    assert {p.label for p in P.make_pairs(corpus.train, "mlm")} == {P.IGNORE}
    e0, e1 = P.make_pairs(corpus.train, "nsp", seed=0), P.make_pairs(corpus.train, "nsp", seed=1)
    assert [p.b for p in e0] != [p.b for p in e1]
    assert [p.b for p in e0] == [p.b for p in P.make_pairs(corpus.train, "nsp", seed=0)]


def test_topic_pairs_are_half_same_topic(corpus):
    pairs = P.topic_pairs(corpus.heldout, 200)
    assert sum(p.same_topic for p in pairs) == 100
    assert all(p.doc_a != p.doc_b for p in pairs)


def test_pair_encoding_has_segments(tok):
    row = P.encode_pairs(tok, [P.Pair("Tom bakes bread.", "He sells it.", 0, "x", "x", "d", "d")])[0]
    tokens = tok.convert_ids_to_tokens(row["input_ids"])
    first_sep = tokens.index("[SEP]")
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    assert row["token_type_ids"] == [0] * (first_sep + 1) + [1] * (len(tokens) - first_sep - 1)


def test_bad_input_raises(corpus):
    with pytest.raises(ValueError, match="objective"):
        P.make_pairs(corpus.train, "xyz")
    with pytest.raises(ValueError, match="two documents"):
        P.make_pairs(corpus.train[:1])
    with pytest.raises(ValueError, match="split"):
        corpus.texts("test")


# ----------------------------------------------------------------------------- masking


def _batch(tok, corpus, n=600):
    rows = P.encode_pairs(tok, P.make_pairs(corpus.train, "nsp")[:n])
    return P.collate(rows, tok.pad_token_id)


def test_masking_rates_80_10_10_and_no_special_token_touched(corpus, tok):
    batch = _batch(tok, corpus)
    ids = batch["input_ids"]
    specials = P.special_ids(tok)
    gen = torch.Generator().manual_seed(0)
    masked, labels = P.mask_tokens(ids, specials, tok.mask_token_id, len(tok), gen)
    is_special = torch.isin(ids, torch.tensor(specials))
    picked = labels != P.IGNORE
    assert not (picked & is_special).any(), "a special token or padding was picked"
    assert torch.equal(masked[is_special], ids[is_special]), "a special token or padding was changed"
    assert torch.equal(labels[picked], ids[picked])
    rate = picked.sum().item() / (~is_special).sum().item()
    assert abs(rate - 0.15) < 0.01
    n = picked.sum().item()
    to_mask = (masked == tok.mask_token_id) & picked
    changed = (masked != ids) & picked & ~to_mask
    assert abs(to_mask.sum().item() / n - 0.8) < 0.03
    assert abs(changed.sum().item() / n - 0.1) < 0.03  # random replacements (a few hit the same token)
    assert not torch.isin(masked[changed], torch.tensor(specials)).any()
    assert not ((masked != ids) & ~picked).any(), "only picked tokens may change"


def test_masking_is_dynamic_but_seeded(corpus, tok):
    ids = _batch(tok, corpus, 100)["input_ids"]
    args = (ids, P.special_ids(tok), tok.mask_token_id, len(tok))
    gen = torch.Generator().manual_seed(5)
    first, _ = P.mask_tokens(*args, gen)
    second, _ = P.mask_tokens(*args, gen)
    again, _ = P.mask_tokens(*args, torch.Generator().manual_seed(5))
    assert not torch.equal(first, second) and torch.equal(first, again)
    with pytest.raises(ValueError, match="rate"):
        P.mask_tokens(*args, rate=1.5)


# ----------------------------------------------------------------------------- losses


def _masked_batch(tok, corpus, n=24, seed=0):
    batch = _batch(tok, corpus, n)
    ids, labels = P.mask_tokens(batch["input_ids"], P.special_ids(tok), tok.mask_token_id, len(tok),
                                torch.Generator().manual_seed(seed))
    batch["input_ids"] = ids
    return batch, labels


def test_fast_loss_equals_transformers_loss(corpus, tok, small):
    model = small.model.eval()
    batch, labels = _masked_batch(tok, corpus)
    with torch.no_grad():
        ours = P.pretraining_losses(model, batch, labels, "nsp")
        ref = model(**batch, labels=labels)
    assert torch.allclose(ours["loss"], ref.loss, atol=1e-5)


def test_loss_is_unchanged_when_padding_is_added(corpus, tok, small):
    model = small.model.eval()
    rows = P.encode_pairs(tok, P.make_pairs(corpus.train, "nsp")[:24])
    tight = P.collate(rows, tok.pad_token_id)
    wide = P.collate(rows, tok.pad_token_id, width=tight["input_ids"].shape[1] + 17)
    gen_args = (P.special_ids(tok), tok.mask_token_id, len(tok))
    ids, labels = P.mask_tokens(tight["input_ids"], *gen_args, torch.Generator().manual_seed(1))
    pad = wide["input_ids"].shape[1] - ids.shape[1]
    wide["input_ids"] = torch.nn.functional.pad(ids, (0, pad), value=tok.pad_token_id)
    wide_labels = torch.nn.functional.pad(labels, (0, pad), value=P.IGNORE)
    tight["input_ids"] = ids
    with torch.no_grad():
        a = P.pretraining_losses(model, tight, labels, "nsp")
        b = P.pretraining_losses(model, wide, wide_labels, "nsp")
    assert int(a["mlm_count"]) == int(b["mlm_count"])
    assert torch.allclose(a["mlm_loss"], b["mlm_loss"], atol=1e-5)
    assert torch.allclose(a["pair_loss"], b["pair_loss"], atol=1e-5)


def test_mlm_only_objective_has_no_pair_loss(corpus, tok, small):
    batch, labels = _masked_batch(tok, corpus)
    with torch.no_grad():
        r = P.pretraining_losses(small.model.eval(), batch, labels, "mlm")
    assert "pair_loss" not in r and torch.equal(r["loss"], r["mlm_loss"])


# ----------------------------------------------------------------------------- training and checkpoints


def test_pretrain_logs_history_evaluations_and_calls_back(corpus, tok):
    calls = []
    model = P.new_model(tok, seed=0, layers=1, width=16, heads=2, intermediate=32, max_positions=64)
    res = P.pretrain(corpus, tok, model, objective="sop", steps=4, batch_size=8, eval_every=2, eval_pairs=32,
                     progress=False, callback=lambda r: calls.append(len(r.evals)))
    assert [e["step"] for e in res.evals] == [0, 2, 4] and calls == [1, 2, 3]
    assert len(res.history) == 4 and res.history[-1]["tokens"] > 0
    assert {"mlm_loss", "mlm_acc", "sop_loss", "sop_acc"} <= set(res.final)
    fig = P.draw_history(res)
    assert len(fig.axes) == 2


def test_figures_are_built_without_pyplot(corpus, tok, small):
    from matplotlib.figure import Figure

    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = P.draw_history(small)
    assert isinstance(fig, Figure) and plt.get_fignums() == before
    from helpers.core.stats import Estimate

    rows = {"a": (Estimate([0.6, 0.65, 0.7]), Estimate([0.5, 0.55, 0.6]))}
    assert len(P.draw_probes(rows).axes) == 1
    assert len(P.draw_others_read_cls({"a": [0.1, 0.2]}, 0.05).axes) == 1
    assert len(P.draw_cls_row({"a": {"entropy": [0.9, 0.8], "words": [0.7, 0.6], "alike": 0.5}}).axes) == 3
    assert plt.get_fignums() == before, "a draw_* function registered a figure with pyplot"
    with pytest.raises(ValueError, match="empty"):
        P.draw_probes({})
    with pytest.raises(ValueError, match="empty"):
        P.draw_others_read_cls({}, 0.1)
    with pytest.raises(ValueError, match="empty"):
        P.draw_cls_row({})


def test_live_plot_redraws_after_every_evaluation(small):
    live = P.LivePlot()
    live(small)
    live(small)
    assert live.calls == 2


def test_training_is_reproducible_with_the_same_seed(corpus, tok):
    def run():
        model = P.new_model(tok, seed=0, layers=1, width=16, heads=2, intermediate=32, max_positions=64)
        return P.pretrain(corpus, tok, model, steps=3, batch_size=8, eval_every=3, eval_pairs=32, progress=False)

    a, b = run(), run()
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_checkpoint_round_trip_is_bit_exact(small, tmp_path):
    from helpers import load_model

    folder = P.save_checkpoint(small, tmp_path / "ckpt", {"note": "test"})
    assert (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()
    assert json.loads((folder / "metrics.json").read_text())["note"] == "test"
    assert json.loads((folder / "train_log.json").read_text())["evals"] == small.evals
    lm = load_model(str(folder), device="cpu")
    assert lm.has_nsp and lm.has_mlm and lm.architecture == "BertForPreTraining"
    ours, theirs = small.model.state_dict(), lm.model.state_dict()
    assert set(ours) == set(theirs)
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert lm.tokenizer.get_vocab() == small.tokenizer.get_vocab()
    mem = P.wrap(small.model, small.tokenizer)
    assert P.p_is_next(lm, "Tom bakes bread.", "He sells it.") == P.p_is_next(mem, "Tom bakes bread.", "He sells it.")


def test_pair_head_helpers(corpus, small):
    lm = P.wrap(small.model, small.tokenizer)
    p = P.p_is_next(lm, "Mira runs a bakery.", "She bakes bread.")
    assert 0.0 <= p <= 1.0
    table = P.order_table({"NSP": lm}, corpus.heldout, n=50)
    assert set(table["NSP"]) == {"NSP pairs", "SOP pairs"}
    split = P.intro_split({"NSP": lm}, corpus.heldout, n=200)["NSP"]
    assert split["n with"] + split["n without"] == 200 and 0 <= split["without intro"] <= 1
    with pytest.raises(ValueError, match="empty"):
        P.p_is_next(lm, "", "She bakes bread.")


def test_how_much_others_read_cls_of_a_pair_uses_the_core_definition(small):
    """What notebook 04 plots: per layer, the weight the other real tokens put on [CLS] (heads averaged)."""
    lm = P.wrap(small.model, small.tokenizer)
    a, b = ["Mira runs a bakery."] * 2, ["She bakes bread.", "The sea is calm."]
    cube = encode(lm, a, pairs=b, hidden_states=False, attentions=True)
    share = how_much_others_read_cls(cube, lm).mean(-1)
    assert share.shape == (lm.num_layers,) and ((share > 0) & (share < 1)).all()
    # by hand: column 0 of every real row but [CLS]'s own, averaged over rows, pairs and heads
    att, mask = cube.attentions.numpy(), cube.attention_mask.numpy()
    rows = [att[:, k, :, 1 : int(mask[k].sum()), 0] for k in range(len(a))]  # (L,A,n-1) each
    by_hand = np.concatenate(rows, axis=-1).mean(axis=(1, 2))
    assert np.allclose(share, by_hand, atol=1e-6)
    uniform = uniform_share(cube.attention_mask)
    assert uniform == pytest.approx(float(np.mean(1.0 / mask.sum(1))))
    assert not hasattr(P, "cls_attention_share"), "the core's definition is the only one"


# ----------------------------------------------------------------------------- what [CLS] reads (its row)


def test_cls_row_stats_are_the_core_quantities_of_the_cls_row(tiny):
    """What [CLS] reads (its row), how much others read it (its column), how alike pairs' [CLS] are."""
    from helpers.core.attention import what_cls_reads
    from helpers.core.stats import alikeness

    a = ["the film was good .", "it was a bad movie", "i love this story"]
    b = ["very fun .", "the ending was awful", "two hours , never again"]
    cube = encode(tiny, a, pairs=b, hidden_states=False, attentions=True)
    r = P.cls_row_stats(cube, tiny)
    assert set(r) == {"entropy", "words", "others", "alike", "uniform"}
    assert r["entropy"].shape == r["words"].shape == r["others"].shape == (tiny.num_layers,)
    # by hand: the entropy of [CLS]'s row (query 0) over its real tokens, divided by ln n, heads and pairs averaged
    att, mask = cube.attentions.numpy(), cube.attention_mask.numpy()
    by_hand = []
    for k in range(len(a)):
        n = int(mask[k].sum())
        row = att[:, k, :, 0, :n]  # (L,A,n)
        assert np.allclose(row.sum(-1), 1.0, atol=1e-5)
        by_hand.append((-(row * np.log(row)).sum(-1) / np.log(n)).mean(-1))
    assert np.allclose(r["entropy"], np.mean(by_hand, axis=0), atol=1e-5)
    assert ((r["entropy"] > 0) & (r["entropy"] <= 1 + 1e-6)).all()
    assert np.allclose(r["words"], what_cls_reads(cube, tiny)["word"].mean(-1))
    assert np.allclose(r["others"], how_much_others_read_cls(cube, tiny).mean(-1))
    assert r["alike"] == pytest.approx(alikeness(cube.cls(-1)))
    assert r["uniform"] == pytest.approx(uniform_share(cube.attention_mask))
    with pytest.raises(ValueError, match="attentions"):
        P.cls_row_stats(encode(tiny, a, pairs=b, attentions=False), tiny)


def test_cls_attention_rows_encodes_every_model_on_the_same_pairs(corpus, small):
    lm = P.wrap(small.model, small.tokenizer)
    pairs = P.make_pairs(corpus.heldout, "nsp", seed=7)[:12]
    rows = P.cls_attention_rows({"x": lm, "y": lm}, pairs)
    assert list(rows) == ["x", "y"] and np.allclose(rows["x"]["entropy"], rows["y"]["entropy"])
    assert -1.0 <= rows["x"]["alike"] <= 1.0
    with pytest.raises(ValueError, match="two pairs"):
        P.cls_attention_rows({"x": lm}, pairs[:1])
    with pytest.raises(ValueError, match="empty"):
        P.cls_attention_rows({}, pairs)


@pytest.fixture(scope="module")
def shipped_rows():
    """What notebook 04 measures on the four checkpoints (random init, MLM only, MLM + NSP, MLM + SOP)."""
    from helpers import load_model

    nsp = load_model("mini-bert", device="cpu")
    recipe = json.loads((mini_bert_dir("nsp") / "metrics.json").read_text())["recipe"]
    corpus = make_corpus(recipe["n_train_docs"], recipe["n_heldout_docs"], seed=recipe["seed"])
    models = {"init": P.wrap(P.new_model(nsp.tokenizer, seed=recipe["seed"]), nsp.tokenizer, "init"),
              "MLM only": load_model(str(mini_bert_dir("mlm")), device="cpu"), "MLM + NSP": nsp,
              "MLM + SOP": load_model(str(mini_bert_dir("sop")), device="cpu")}
    return P.cls_attention_rows(models, P.make_pairs(corpus.heldout, "nsp", seed=7)[:60])


def test_a_pair_objective_trains_what_cls_reads_not_how_much_others_read_it(shipped_rows):
    """The fact notebook 04 teaches: the pair objectives make [CLS]'s query selective and its output pair-specific."""
    rows = shipped_rows
    assert np.all(rows["init"]["entropy"] > 0.99) and rows["init"]["alike"] > 0.99  # random: uniform rows, one direction
    mlm = rows["MLM only"]
    for pair in ("MLM + NSP", "MLM + SOP"):
        assert np.all(mlm["entropy"] - rows[pair]["entropy"] >= P.SELECTIVE_DROP), pair
        assert mlm["alike"] - rows[pair]["alike"] >= P.SPECIFIC_DROP, pair
        gap = np.abs(rows[pair]["others"] - mlm["others"]).max()
        assert gap < P.COLUMN_TOLERANCE * mlm["uniform"], f"{pair}: how much others read [CLS] moved by {gap}"
    text = P.cls_row_finding(rows)
    assert text.startswith("With this model we found: ")
    assert "MLM + NSP and MLM + SOP made the [CLS] query more selective" in text
    assert "about the same in MLM + NSP, MLM + SOP and MLM only" in text


def test_cls_row_finding_follows_the_numbers():
    def row(ent, alike, others=(0.01, 0.01)):
        return {"entropy": np.array(ent), "words": np.array([0.8, 0.8]), "others": np.array(others),
                "alike": alike, "uniform": 0.04}

    selective = {"init": row([1.0, 1.0], 1.0), "MLM only": row([0.9, 0.9], 0.7), "MLM + NSP": row([0.5, 0.6], 0.3)}
    text = P.cls_row_finding(selective)
    assert "0.50/0.60" in text and "MLM + NSP made the [CLS] query more selective" in text
    assert "about the same in MLM + NSP and MLM only" in text
    flat = {"MLM only": row([0.9, 0.9], 0.7), "MLM + NSP": row([0.88, 0.7], 0.65, others=(0.05, 0.01))}
    text = P.cls_row_finding(flat)
    assert "more selective (" not in text and "neither more selective nor more pair-specific" in text
    assert "different in MLM + NSP and MLM only" in text
    half = {"MLM only": row([0.9, 0.9], 0.7), "MLM + SOP": row([0.9, 0.9], 0.4)}
    assert "MLM + SOP made [CLS] more pair-specific than MLM only" in P.cls_row_finding(half)
    with pytest.raises(ValueError, match="MLM-only"):
        P.cls_row_finding({"MLM + NSP": row([0.5, 0.5], 0.3)})
    with pytest.raises(ValueError, match="pair-trained"):
        P.cls_row_finding({"MLM only": row([0.5, 0.5], 0.3)})
    table = P.format_cls_rows(selective)
    assert table.splitlines()[0].split() == ["entropy", "L1", "entropy", "L2", "words", "L1", "words", "L2", "alike"]
    assert len(table.splitlines()) == 4 and "0.30" in table.splitlines()[-1]


# ----------------------------------------------------------------------------- the other findings


def _probe(values, chance=0.5, n_test=75):
    from helpers.core.linear import ProbeResult

    return ProbeResult(np.array(values), "x", chance=chance, n_train=225, n_test=n_test)


def test_probe_finding_says_a_random_cls_is_within_the_noise_or_not():
    noisy = {"init": (_probe([0.50, 0.55, 0.59], chance=0.51), _probe([0.5, 0.5, 0.5])),
             "MLM + NSP": (_probe([0.96, 0.97, 0.95]), _probe([0.87, 0.88, 0.86])),
             "MLM only": (_probe([0.65, 0.6, 0.7]), _probe([0.55, 0.5, 0.6]))}
    text = P.probe_finding(noisy)
    assert text.startswith("With this model we found: ") and "within the noise margin" in text
    assert "carries nothing we can measure" in text and "higher than" in text
    clear = dict(noisy, init=(_probe([0.80, 0.81, 0.79], chance=0.5, n_test=400), _probe([0.5, 0.5, 0.5])))
    text = P.probe_finding(clear)
    assert "carries nothing" not in text and "higher than chance" in text
    same = dict(noisy, **{"MLM only": (_probe([0.96, 0.95, 0.97]), _probe([0.87, 0.88, 0.86]))})
    assert "about the same as" in P.probe_finding(same)
    with pytest.raises(ValueError, match="lacks"):
        P.probe_finding({"init": noisy["init"]})


def test_training_finding_says_which_objective_moved_first():
    def evals(mlm, acc):
        return [{"step": 100 * i, "mlm_loss": m, "nsp_acc": a} for i, (m, a) in enumerate(zip(mlm, acc))]

    slow = evals([6.9, 5.0, 4.0, 3.5], [0.50, 0.49, 0.51, 0.50])
    text = P.training_finding({"a short run": (slow, 256)})
    assert text.startswith("With this model we found: in a short run (300 steps)")
    assert "stayed within the noise of chance" in text and "MLM moved first" in text
    late = evals([6.9, 3.0, 2.0, 1.8, 1.7], [0.50, 0.51, 0.60, 0.80, 0.95])
    text = P.training_finding({"a long run": (late, 1024)})
    assert "first rose beyond chance at step 200" in text and "half of its rise by step 300" in text
    assert "half of that fall by step 100" in text and "MLM moved first" in text
    early = evals([6.9, 6.8, 6.0, 3.0], [0.50, 0.95, 0.96, 0.96])
    assert "NSP moved no later than MLM" in P.training_finding({"x": (early, 1024)})
    with pytest.raises(ValueError, match="lack"):
        P.training_finding({"x": ([{"step": 0, "mlm_loss": 1.0}], 10)})
    with pytest.raises(ValueError, match="empty"):
        P.training_finding({})


def test_topic_finding_compares_cls_with_its_twin_and_the_mean():
    res = {"MLM + NSP [CLS]": _probe([0.95, 0.94, 0.95], chance=0.06, n_test=450),
           "MLM + NSP masked mean": _probe([0.95, 0.95, 0.94], chance=0.06, n_test=450),
           "MLM only [CLS]": _probe([0.80, 0.79, 0.81], chance=0.06, n_test=450)}
    text = P.topic_finding(res, n_topics=16)
    assert text.startswith("With this model we found: ") and "16 topics" in text
    assert "higher than 0.800" in text and "about the same as 0.947" in text
    res["MLM only [CLS]"] = _probe([0.95, 0.95, 0.95], chance=0.06, n_test=450)
    res["MLM + NSP masked mean"] = _probe([0.99, 0.99, 0.99], chance=0.06, n_test=450)
    text = P.topic_finding(res)
    assert "about the same as 0.950" in text and "lower than 0.990" in text
    with pytest.raises(ValueError, match="lacks"):
        P.topic_finding({"MLM + NSP [CLS]": res["MLM + NSP [CLS]"]})


def test_intro_finding_names_the_introduction_cue():
    split = {"NSP-trained": {"with intro": 1.0, "without intro": 0.72, "n with": 111, "n without": 389},
             "SOP-trained": {"with intro": 0.95, "without intro": 0.53, "n with": 111, "n without": 389}}
    text = P.intro_finding(split)
    assert "NSP-trained is right on 1.000" in text and "it knows order beyond the introduction cue" in text
    assert "its order knowledge is the introduction cue alone" in text
    with pytest.raises(ValueError, match="empty"):
        P.intro_finding({})


def test_albert_finding_says_whether_the_run_can_test_the_claim():
    table = {"NSP-trained": {"NSP pairs": 0.97, "SOP pairs": 0.78}, "SOP-trained": {"NSP pairs": 0.50, "SOP pairs": 0.61}}
    flat = [{"step": s, "sop_acc": a} for s, a in [(0, 0.5), (1000, 0.6), (2000, 0.63), (3000, 0.61)]]
    text = P.albert_finding(table, 0.865, flat, 1024)
    assert text.startswith("With this model we found: ") and "cannot test ALBERT's claim" in text
    assert "modest accuracy" in text and "each story follows a script" in text and "was no longer rising" in text
    assert "not just more steps" in text and "retraining" in text
    good = {"NSP-trained": {"NSP pairs": 0.95, "SOP pairs": 0.52}, "SOP-trained": {"NSP pairs": 0.79, "SOP pairs": 0.90}}
    text = P.albert_finding(good, 0.865)
    assert "can test ALBERT's claim" in text and "cannot" not in text
    only_script = {"NSP-trained": {"NSP pairs": 0.95, "SOP pairs": 0.80}, "SOP-trained": {"NSP pairs": 0.79,
                                                                                          "SOP pairs": 0.90}}
    text = P.albert_finding(only_script, 0.865)
    assert "cannot test" in text and "modest" not in text and "script" in text
    with pytest.raises(ValueError, match="fraction"):
        P.albert_finding(table, 86.5)
    with pytest.raises(ValueError, match="lacks"):
        P.albert_finding({"NSP-trained": table["NSP-trained"]}, 0.865)


# ----------------------------------------------------------------------------- the topic of a story sentence


def test_topic_split_keeps_every_story_on_one_side_and_every_topic_on_both(corpus):
    docs = corpus.heldout[:48]
    train_x, train_y, test_x, test_y = P.topic_split(docs)
    assert len(train_x) == len(train_y) and len(test_x) == len(test_y)
    assert len(train_x) + len(test_x) == sum(len(d.sentences) for d in docs)
    assert set(train_y) == set(test_y) == {d.topic for d in docs}
    train_text, test_text = "\n".join(train_x) + "\n", "\n".join(test_x) + "\n"
    sides = [("\n".join(d.sentences) + "\n" in train_text, "\n".join(d.sentences) + "\n" in test_text) for d in docs]
    assert all(a != b for a, b in sides), "every story lies, whole, on exactly one side"
    per_topic = Counter(d.topic for d in docs).values()
    assert sum(a for a, _ in sides) == sum((n + 1) // 2 for n in per_topic)  # a topic's documents alternate
    with pytest.raises(ValueError, match="two documents"):
        P.topic_split(corpus.heldout[:16])  # one document per topic


def test_topic_probe_reads_cls_and_the_mean_on_the_same_sentences(corpus, small):
    lm = P.wrap(small.model, small.tokenizer)
    res = P.topic_probe({"m": lm}, corpus.heldout[:48], seeds=(0, 1))
    assert list(res) == ["m [CLS]", "m masked mean"]
    n_test = len(P.topic_split(corpus.heldout[:48])[2])
    for r in res.values():
        assert r.n == 2 and r.n_test == n_test and 0.0 <= r.mean <= 1.0 and r.chance < 0.2
    with pytest.raises(ValueError, match="poolings"):
        P.topic_probe({"m": lm}, corpus.heldout[:48], poolings=("max",))


def test_the_stories_are_in_domain_for_the_mini_bert_and_the_reviews_are_not():
    """What notebook 04 prints beside its topic task (``core.token_kinds.word_piece_stats``)."""
    from helpers import load_model, load_reviews
    from helpers.core.token_kinds import word_piece_stats

    lm = load_model("mini-bert", device="cpu")
    recipe = json.loads((mini_bert_dir("nsp") / "metrics.json").read_text())["recipe"]
    corpus = make_corpus(recipe["n_train_docs"], recipe["n_heldout_docs"], seed=recipe["seed"])
    stories = word_piece_stats(lm, corpus.texts("heldout")[:300])
    reviews = word_piece_stats(lm, load_reviews(limit=200).texts)
    assert stories["pieces_per_word"] == 1.0 and stories["over_limit"] == 0.0
    assert reviews["pieces_per_word"] > 2.0 and reviews["single_char_share"] > 0.5


def test_pair_helpers_refuse_a_model_without_nsp_head(embedded):
    with pytest.raises(ValueError, match="no next-sentence head"):
        P.p_is_next(embedded, "a", "b")
    with pytest.raises(ValueError, match="no NSP head"):
        P.build_nsp_explorer(embedded)


# ----------------------------------------------------------------------------- widget and checks


def test_nsp_explorer_updates_headless(small):
    from helpers.ui.explorer import Explorer

    lm = P.wrap(small.model, small.tokenizer)
    ex = P.build_nsp_explorer(lm, "Mira runs a bakery.", "She bakes bread.")
    assert isinstance(ex, Explorer) and set(ex.controls) == {"a", "b"} and set(ex.views) == {"result"}
    out = ex.views["result"]
    before = out.value
    assert "P(IsNext)" in before and "error" not in ex.state
    assert ex.state["p_is_next"] == pytest.approx(P.p_is_next(lm, "Mira runs a bakery.", "She bakes bread."))
    state = ex.set(b="The striker scores a goal.")
    assert out.value != before and "P(IsNext)" in out.value
    assert state["p_is_next"] == pytest.approx(P.p_is_next(lm, "Mira runs a bakery.", "The striker scores a goal."))
    assert state["label"] == ("IsNext" if state["p_is_next"] >= 0.5 else "NotNext")


def test_nsp_explorer_shows_an_empty_sentence_as_an_error(small):
    lm = P.wrap(small.model, small.tokenizer)
    ex = P.build_nsp_explorer(lm, "Mira runs a bakery.", "She bakes bread.")
    state = ex.set(a="   ")  # must not raise
    assert "empty" in state["error"] and "empty" in ex.status.value
    assert "P(IsNext)" not in ex.views["result"].value, "a stale verdict must not stay on screen"
    state = ex.set(a="Mira runs a bakery.")
    assert "error" not in state and "P(IsNext)" in ex.views["result"].value


def test_transfer_word_and_its_level():
    assert 0.5 < P.TRANSFER_LEVEL < 1.0  # above chance, below what a head gets on its own task
    assert P.transfer_word(P.TRANSFER_LEVEL + 0.01) == "transfers"
    assert P.transfer_word(P.TRANSFER_LEVEL) == "barely transfers"
    assert P.transfer_word(0.5) == "barely transfers"
    with pytest.raises(ValueError, match="between 0 and 1"):
        P.transfer_word(78)


def test_published_figures_come_from_the_registry():
    from helpers import references

    assert not hasattr(P, "REFERENCE_FIGURES")
    for key in P.REFERENCE_KEYS:
        assert references.cite(key)


NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_nsp_pretraining.ipynb"


def test_notebook_uses_the_lesson_and_types_no_figure():
    nb = json.loads(NOTEBOOK.read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    prose = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "pyplot" not in code and "plt." not in code
    assert "from helpers.lessons import nsp_pretraining" in code
    assert "references.value(\"albert_order_table\"" in code
    for typed in ("0.52", "0.79", "0.65", "52%", "3.5 points", "REFERENCE_FIGURES", "variant_dir"):
        assert typed not in code + prose, f"notebook 04 types {typed!r}"
    for typed in ("0.545", "0.57", "0.66", "0.25", "0.608", "0.774", "3.6 pieces", "86%", "already carries a little",
                  "attention into [CLS]", "Attention into [CLS]"):
        assert typed not in prose, f"notebook 04's prose types {typed!r}"


def test_every_what_to_look_for_is_followed_by_a_finding_from_this_run():
    nb = json.loads(NOTEBOOK.read_text())
    cells = nb["cells"]
    looks = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and "What to look for" in "".join(c["source"])]
    assert len(looks) >= 5
    for i in looks:
        nxt = cells[i + 1]
        assert nxt["cell_type"] == "code" and "_finding(" in "".join(nxt["source"]), \
            f"cell {i}: a 'What to look for' needs a 'With this model we found' cell right under it"
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    for name in ("cls_attention_rows", "cls_row_finding", "topic_probe", "topic_finding", "albert_finding",
                 "word_piece_stats", "bert_cls_footnote"):
        assert name in code, f"notebook 04 does not call {name}"


def test_lesson_imports_only_core_ui_and_itself():
    for path in sorted(LESSON.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1 or (node.level == 3 and node.module.split(".")[0] in ("core", "ui")), \
                    f"{path.name} imports {'.' * node.level}{node.module}: a lesson imports core and ui only"
        assert "pyplot" not in path.read_text(), f"{path.name} uses pyplot; build figures with ui.figures.new_figure"


def test_the_rebuild_command_is_the_package(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["python -m helpers.lessons.nsp_pretraining", "--help"])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module("helpers.lessons.nsp_pretraining", run_name="__main__")
    assert exit_.value.code == 0 and "--out" in capsys.readouterr().out


def test_check_masked_count():
    assert P.check_masked_count(None, 40).ok is None
    assert P.check_masked_count(..., 40).ok is None
    right = P.check_masked_count(6, 40)
    assert right.ok is True and "15%" in right.message
    assert P.check_masked_count(10, 40).ok is False
    assert P.check_masked_count("six", 40).ok is False


def test_check_order_guess():
    assert P.check_order_guess(None, 0.55).ok is None
    assert P.check_order_guess(0.5, 0.55).ok is True
    assert P.check_order_guess(0.95, 0.55).ok is False
    wrong = P.check_order_guess(7, 0.55)
    assert wrong.ok is False and "not an accuracy" in wrong.message


# ----------------------------------------------------------------------------- the shipped checkpoint


def test_shipped_mini_bert_loads_with_both_heads_and_its_metrics_are_true():
    from helpers import load_model

    lm = load_model("mini-bert", device="cpu")
    assert lm.has_nsp and lm.has_mlm and lm.architecture == "BertForPreTraining"
    folder = mini_bert_dir("nsp")
    total = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    assert total <= 25e6, "data/mini-bert must stay within 25 MB"
    metrics = json.loads((folder / "metrics.json").read_text())
    recipe = metrics["recipe"]
    corpus = make_corpus(recipe["n_train_docs"], recipe["n_heldout_docs"], seed=recipe["seed"])
    held = P.make_pairs(corpus.heldout, "nsp", seed=recipe["seed"])[: recipe["eval_pairs"]]
    again = P.EvalSet(lm.tokenizer, held, "nsp").evaluate(lm.model)
    for key in ("nsp_acc", "mlm_acc"):
        assert abs(again[key] - metrics[key]) < 0.005, f"metrics.json {key} does not match the checkpoint"
    assert metrics["nsp_acc"] > 0.6, "NSP is learned above chance (0.5)"
    assert metrics["mlm_acc"] > 0.3, "MLM is far above chance (1/V)"


@pytest.mark.parametrize("kind", ["sop", "mlm"])
def test_shipped_variants_load(kind):
    from helpers import load_model

    lm = load_model(str(mini_bert_dir(kind)), device="cpu")
    assert lm.has_mlm and lm.vocab_size == load_model("mini-bert", device="cpu").vocab_size
