"""Compact fine-tuned checkpoints: the trained top layers and the head, rebuilt over the base model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import helpers
from helpers.core import tuned
from helpers.core.finetune import fine_tune


def test_save_and_load_rebuild_the_same_classifier(tiny, tmp_path, monkeypatch):
    texts = ["the film was good", "a bad film", "good good good", "bad and dull", "fine acting", "dull plot"] * 3
    labels = [1, 0, 1, 0, 1, 0] * 3
    ft = fine_tune(tiny, texts, labels, readout="cls", steps=4, train_layers=1, seed=0, precision="fp32", progress=False)
    folder = tuned.save_tuned(ft, tmp_path / "saved")
    monkeypatch.setitem(tuned.TUNED_MODELS, "tiny-cls-tuned", tmp_path / "installed")
    tuned.install_tuned(folder, "tiny-cls-tuned")
    meta = (tmp_path / "installed" / tuned.META).read_text()
    assert '"trained_layers": [' in meta
    # the base of a tiny model is a folder: point the metadata at it
    import json

    m = json.loads(meta)
    m["base"] = tiny.source
    (tmp_path / "installed" / tuned.META).write_text(json.dumps(m))
    back = helpers.load_model("tiny-cls-tuned", device="cpu")
    assert back.name == "tiny-cls-tuned" and back.head is not None and back.head.readout.key == "cls"
    back.head.precision = "fp32"  # the head predicts in "auto" precision; compare like for like
    assert np.allclose(back.head.logits(texts), ft.logits(texts), atol=1e-5)
    # only the top layer changed: the layers below are the base model's
    base_layer0 = tiny.encoder.encoder.layer[0].state_dict()
    for k, v in back.encoder.encoder.layer[0].state_dict().items():
        assert torch.equal(v, base_layer0[k])
    assert helpers.load_model(tiny.source).head is None


def test_a_missing_tuned_checkpoint_says_how_to_make_it(tmp_path, monkeypatch):
    monkeypatch.setitem(tuned.TUNED_MODELS, "nowhere-tuned", tmp_path / "absent")
    with pytest.raises(helpers.ModelLoadError, match="make experiments"):
        helpers.load_model("nowhere-tuned")
    from helpers.core.models import model_availability

    assert "make experiments" in model_availability("nowhere-tuned")


def test_full_training_cannot_be_stored_compactly(tiny):
    ft = fine_tune(tiny, ["good", "bad", "fine", "dull"], [1, 0, 1, 0], steps=1, train_layers=None, progress=False)
    with pytest.raises(ValueError, match="train_layers"):
        tuned.save_tuned(ft, "/tmp/never-written")
