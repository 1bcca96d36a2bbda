"""Shipped results: provenance stamped on write, clear errors on read; the sweep's table from its cells."""

import json

import numpy as np
import pytest

from helpers.core import results, sweep


def test_write_and_load_with_provenance(tiny, tmp_path):
    texts, labels = ["the film", "a bad film"], [1, 0]
    prov = results.provenance(tiny, texts, labels, budget={"steps": 3}, seeds=(0, 1), wall_seconds=1.234)
    for key in ("model", "model_fingerprint", "data_hash", "code_version", "budget", "seeds", "wall_seconds", "machine"):
        assert key in prov
    assert prov["data_hash"] == results.data_hash(texts, labels) != results.data_hash(texts, [0, 1])
    path = results.write_results("demo", {"x": 1}, prov, tmp_path)
    back = results.load_results("demo", tmp_path)
    assert back["results"] == {"x": 1} and back["provenance"]["wall_seconds"] == 1.2
    with pytest.raises(FileNotFoundError, match="make experiments"):
        results.load_results("missing", tmp_path)
    data = json.loads(path.read_text())
    data["provenance"]["format"] = -1
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="another version"):
        results.load_results("demo", tmp_path)


def test_sweep_table_pairs_every_readout_with_cls_and_its_frozen_probe():
    rng = np.random.default_rng(0)
    truth = rng.random(300) < 0.8

    def cell(readout, seed, p_flip):
        flip = rng.random(300) < p_flip
        correct = (truth ^ flip).astype(int)
        curve = [[25 * (i + 1), 0.5 + 0.3 * min(i, 4) / 4] for i in range(12)]  # rises, then flat
        return {"readout": readout, "seed": seed, "correct": "".join(map(str, correct)), "curve": curve}

    cells = [cell("cls", s, 0.0) for s in (0, 1)] + [cell("mean", s, 0.5) for s in (0, 1)]
    bits = sweep._bits
    frozen = {"cls": {"correct": bits(truth * 0), "C": 1.0}, "mean": {"correct": bits(truth), "C": 1.0}}
    table = sweep.summarize(cells, frozen, ("cls", "mean"))
    assert "vs_cls" not in table["cls"] and table["cls"]["fine_tuned"] == pytest.approx(truth.mean())
    assert table["mean"]["vs_cls"]["outcome"] == "lower"
    assert table["cls"]["gain"]["outcome"] == "higher"  # fine-tuned right where the (all-wrong) frozen probe was wrong
    assert len(table["mean"]["per_seed"]) == 2
    assert abs(table["cls"]["late_gain"]) < 1e-12 < sweep.PLATEAU_TOLERANCE


def test_late_gain_tells_a_rising_curve_from_a_plateau():
    flat = [[s, 0.8] for s in range(25, 425, 25)]
    rising = [[s, 0.5 + s / 1000] for s in range(25, 425, 25)]
    assert sweep.late_gain([flat]) == 0.0
    # by hand: 16 points, last 4 are 0.85..0.90 (mean 0.875), the 4 before 0.75..0.80 (mean 0.775)
    assert sweep.late_gain([rising]) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="too short"):
        sweep.late_gain([[[25, 0.5]]])


def test_sweep_data_reads_sst2_from_a_file_or_a_glue_folder(tmp_path):
    rows = "".join(f"{'a fine warm film' if i % 2 else 'a dull cold film'} number {i}\t{i % 2}\n" for i in range(40))
    single = tmp_path / "train.tsv"
    single.write_text("sentence\tlabel\n" + rows, encoding="utf-8")
    train, test = sweep.sweep_data(sst2=str(single))
    assert (len(train), len(test)) == (30, 10) and not set(train.texts) & set(test.texts)
    (tmp_path / "dev.tsv").write_text("sentence\tlabel\ngood\t1\nbad\t0\n", encoding="utf-8")
    train, test = sweep.sweep_data(sst2=str(tmp_path))
    assert len(train) == 40 and test.texts == ["good", "bad"]
    (tmp_path / "dev.tsv").unlink()
    with pytest.raises(FileNotFoundError, match="dev.tsv"):
        sweep.sweep_data(sst2=str(tmp_path))
