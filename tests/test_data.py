"""The course's datasets and loaders, including the SST-2 TSV format."""

from __future__ import annotations

import re

import numpy as np
import pytest

from helpers import load_reviews, load_sst2, load_topics


def test_reviews_are_many_balanced_and_split():
    allr = load_reviews()
    assert len(allr) >= 1000
    assert abs((allr.labels == 1).sum() - (allr.labels == 0).sum()) <= 0.01 * len(allr)
    assert len({t.lower() for t in allr.texts}) == len(allr), "no duplicate texts"
    train, test = load_reviews("train"), load_reviews("test")
    assert len(train) + len(test) == len(allr) and len(test) >= 150
    assert not set(train.texts) & set(test.texts)
    for part in (train, test):
        assert abs((part.labels == 1).sum() - (part.labels == 0).sum()) <= 0.01 * len(part)
    kinds = set(allr.columns["kind"])
    assert {"negation", "sarcasm", "mixed"} <= kinds
    assert set(test.columns["kind"]) == kinds
    lengths = [len(t.split()) for t in allr.texts]
    assert min(lengths) <= 3 and max(lengths) >= 35


def test_grown_reviews_resolve_small_differences_and_keep_the_original_subset():
    """Issue 12: at least 4,000 rows and 1,000 held out; the original 1,244 rows keep their split as "v1"."""
    allr, test = load_reviews(), load_reviews("test")
    assert len(allr) >= 4000 and len(test) >= 1000
    v1, v1_test = load_reviews(subset="v1"), load_reviews("test", subset="v1")
    assert (len(v1), len(v1_test)) == (1244, 248)
    assert (v1.labels == 1).sum() == 622 and set(v1.columns["subset"]) == {"v1"}
    # a subset alone comes in its original order, so quick-mode samples of it are what they were before the merge
    assert v1.texts[:2] == ["While the dialogue is occasionally on the nose, the performances sell every word.",
                            "So glad the trailer showed every good moment, saved me the trouble of watching the film."]
    v2 = load_reviews(subset="v2")
    assert len(v1) + len(v2) == len(allr) and not {t.lower() for t in v1.texts} & {t.lower() for t in v2.texts}
    for kind in ("plain", "negation", "sarcasm", "mixed", "comparison"):
        rows = [i for i, k in enumerate(v2.columns["kind"]) if k == kind]
        pos = int(v2.labels[rows].sum())
        assert abs(pos - (len(rows) - pos)) <= 0.05 * len(rows), f"v2 {kind} is unbalanced: {pos} of {len(rows)}"
        assert sum(v2.columns["split"][i] == "test" for i in rows) >= 100
    with pytest.raises(ValueError, match="subset must be one of"):
        load_reviews(subset="v3")


def test_topics_cover_many_topics():
    topics = load_topics()
    assert len(topics) >= 300 and len(topics.label_names) >= 8
    counts = np.bincount(topics.labels)
    assert counts.min() >= 30
    assert topics.label_names == sorted(topics.label_names)


def test_sample_is_stratified_and_reproducible():
    a, b = load_reviews(limit=100), load_reviews(limit=100)
    assert a.texts == b.texts and len(a) == 100 and (a.labels == 1).sum() == 50
    assert load_topics(limit=24).labels.tolist() == load_topics(limit=24).labels.tolist()
    with pytest.raises(ValueError, match="split"):
        load_reviews("dev")


def test_sst2_tsv_with_and_without_header(tmp_path):
    with_header = tmp_path / "train.tsv"
    with_header.write_text("sentence\tlabel\na gripping , humane film \t1\ntedious and flat \t0\n", encoding="utf-8")
    data = load_sst2(with_header)
    assert data.texts == ["a gripping , humane film", "tedious and flat"]
    assert data.labels.tolist() == [1, 0] and data.label_names == ["negative", "positive"]
    bare = tmp_path / "bare.tsv"
    bare.write_text("warm and funny\t1\n\ncold\t0\n", encoding="utf-8")
    assert load_sst2(bare).labels.tolist() == [1, 0]


def test_sst2_errors_name_the_line(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("sentence\tlabel\nfine\t1\nbroken\tmaybe\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.tsv:3: label must be 0 or 1"):
        load_sst2(bad)
    notab = tmp_path / "notab.tsv"
    notab.write_text("no tab here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no tab"):
        load_sst2(notab)
    with pytest.raises(FileNotFoundError, match="No SST-2 file"):
        load_sst2(tmp_path / "absent.tsv")


def test_sst2_from_hub_offline_is_a_clear_error(monkeypatch):
    pytest.importorskip("datasets")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConnectionError, match="local TSV"):
        load_sst2()


def test_the_nsp_corpus_is_large_varied_and_clean(capsys):
    """Issue 13's corpus: at least 1,500 documents of at least 4 sentences in at least 20 genres, no repeats."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("check_corpus", root / "tools" / "check_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main([]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    docs, genres = (int(x) for x in re.search(r"(\d+) documents in (\d+) genres", out).groups())
    assert docs >= 1500 and genres >= 20
