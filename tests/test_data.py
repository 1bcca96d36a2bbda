"""The course's datasets and loaders, including the SST-2 TSV format."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import load_reviews, load_sst2, load_topics


def test_reviews_are_many_balanced_and_split():
    allr = load_reviews()
    assert len(allr) >= 1000
    assert (allr.labels == 1).sum() == (allr.labels == 0).sum()
    assert len({t.lower() for t in allr.texts}) == len(allr), "no duplicate texts"
    train, test = load_reviews("train"), load_reviews("test")
    assert len(train) + len(test) == len(allr) and len(test) >= 150
    assert not set(train.texts) & set(test.texts)
    for part in (train, test):
        assert (part.labels == 1).sum() == (part.labels == 0).sum()
    kinds = set(allr.columns["kind"])
    assert {"negation", "sarcasm", "mixed"} <= kinds
    assert set(test.columns["kind"]) == kinds
    lengths = [len(t.split()) for t in allr.texts]
    assert min(lengths) <= 3 and max(lengths) >= 35


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
