"""Fine-tuned checkpoints that ship compactly: only the trained top layers and the head, over a base model.

The fine-tuning sweep saves the [CLS]-head model of its first seed with :func:`save_tuned`; ``make experiments``
installs it under data/models/ (:func:`install_tuned`), and ``load_model("embedded-cls-tuned")`` rebuilds it
(:func:`load_tuned`): the base model is loaded and verified, its top layers are replaced by the trained ones,
and the head comes back as ``lm.head`` (a FineTuned with ``.predict(texts)``). A MiniLM layer is about 7 MB in
float32, so three trained layers and a head stay under the 25 MB the course allows for a checkpoint.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from . import config

WEIGHTS = "tuned.safetensors"
META = "tuned.json"
#: Names load_model() understands for shipped fine-tuned checkpoints -> their folders.
TUNED_MODELS = {"embedded-cls-tuned": config.DATA_DIR / "models" / "embedded-cls-tuned",
                "minilm-nsp": config.DATA_DIR / "models" / "minilm-nsp"}
#: The make target that rebuilds each of them.
MAKE_TARGETS = {"embedded-cls-tuned": "experiments", "minilm-nsp": "minilm-nsp"}


def _layers(encoder) -> list:
    from .finetune import _blocks

    return _blocks(encoder)


def save_tuned(ft, folder: str | Path) -> Path:
    """Write the trained top layers and the head of a FineTuned (from :func:`helpers.core.finetune.fine_tune`)."""
    from safetensors.torch import save_file

    from .features import model_fingerprint

    if ft.train_layers is None:
        raise ValueError("save_tuned stores only the trained top layers: fine-tune with train_layers=n (not None).")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    blocks = _layers(ft.model.encoder)
    first = len(blocks) - ft.train_layers
    tensors = {}
    for i in range(first, len(blocks)):
        for name, value in blocks[i].state_dict().items():
            tensors[f"layer.{i}.{name}"] = value.detach().float().contiguous().cpu()
    for name, value in ft.model.classifier.state_dict().items():
        tensors[f"head.{name}"] = value.detach().float().contiguous().cpu()
    save_file(tensors, str(folder / WEIGHTS))
    meta = {"base": ft.lm.name, "base_fingerprint": model_fingerprint(ft.lm), "readout": ft.readout.key,
            "trained_layers": list(range(first, len(blocks))), "num_labels": int(ft.model.classifier.out_features),
            "seed": ft.seed, "steps": ft.steps, "precision": ft.precision, "max_length": ft.max_length}
    (folder / META).write_text(json.dumps(meta, indent=1) + "\n")
    return folder


def install_tuned(source: str | Path, name: str = "embedded-cls-tuned", base=None) -> Path:
    """Copy a saved checkpoint folder to where load_model(name) finds it (data/models/<name>).

    ``base``: the LoadedModel it was fine-tuned from; its name must match the checkpoint's, and its fingerprint is
    stamped as the checkpoint's base (so a checkpoint saved by an older fingerprint still loads on the same weights).
    """
    from .features import model_fingerprint

    target = TUNED_MODELS[name]
    target.mkdir(parents=True, exist_ok=True)
    meta = json.loads((Path(source) / META).read_text())
    if base is not None:
        if base.name != meta["base"]:
            raise ValueError(f"{source} was fine-tuned from {meta['base']!r}, not {base.name!r}.")
        meta["base_fingerprint"] = model_fingerprint(base)
    shutil.copyfile(Path(source) / WEIGHTS, target / WEIGHTS)
    (target / META).write_text(json.dumps(meta, indent=1) + "\n")
    return target


def install_nsp(model, base, train_layers: int, metrics: dict, name: str = "minilm-nsp") -> Path:
    """Write a continued-pretrained NSP model compactly: its trained top layers, pooler and NSP head, with the base's
    fingerprint, the sha256 of the weights and the run's metrics (:mod:`helpers.core.continued_nsp`)."""
    from safetensors.torch import save_file

    from .features import model_fingerprint
    from .models import sha256_of

    folder = TUNED_MODELS[name]
    folder.mkdir(parents=True, exist_ok=True)
    blocks = list(model.bert.encoder.layer)
    first = len(blocks) - train_layers
    tensors = {f"layer.{i}.{k}": v for i in range(first, len(blocks)) for k, v in blocks[i].state_dict().items()}
    tensors.update({f"pooler.{k}": v for k, v in model.bert.pooler.state_dict().items()})
    tensors.update({f"nsp.{k}": v for k, v in model.cls.state_dict().items()})
    save_file({k: v.detach().float().contiguous().cpu() for k, v in tensors.items()}, str(folder / WEIGHTS))
    meta = {"kind": "nsp", "base": base.name, "base_fingerprint": model_fingerprint(base),
            "trained_layers": list(range(first, len(blocks))), "sha256": sha256_of(folder / WEIGHTS),
            "metrics": metrics}
    (folder / META).write_text(json.dumps(meta, indent=1) + "\n")
    return folder


def _shown(folder: Path) -> str:
    """``folder`` relative to the repository when it is inside it (for messages)."""
    try:
        return str(folder.relative_to(config.REPO_ROOT))
    except ValueError:
        return str(folder)


def _load_nsp(name: str, folder: Path, meta: dict, base, tensors: dict):
    from .continued_nsp import nsp_model_from
    from .models import from_module

    model = nsp_model_from(base)
    for i in meta["trained_layers"]:
        prefix = f"layer.{i}."
        model.bert.encoder.layer[i].load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
    model.bert.pooler.load_state_dict({k[len("pooler."):]: v for k, v in tensors.items() if k.startswith("pooler.")})
    model.cls.load_state_dict({k[len("nsp."):]: v for k, v in tensors.items() if k.startswith("nsp.")})
    m = meta["metrics"]
    return from_module(model.to(base.device), base.tokenizer, name=name, source=str(folder), device=base.device,
                       why="the embedded MiniLM continued-pretrained with next-sentence prediction",
                       note=(f"{meta['base']} with its top {len(meta['trained_layers'])} layers, pooler and a new NSP "
                             f"head trained on the course's NSP corpus ({m['recipe']['steps']} steps; held-out NSP "
                             f"accuracy {m['heldout']['heldout_docs']['accuracy']:.2f} on unseen documents, "
                             f"{m['heldout']['heldout_genres']['accuracy']:.2f} on unseen genres; `make minilm-nsp`)."))


def load_tuned(name: str, device: str | torch.device = "auto"):
    """The LoadedModel of a shipped fine-tuned checkpoint, with its head as ``.head``."""
    import copy

    from safetensors.torch import load_file

    from .features import model_fingerprint
    from .finetune import FineTuned, ReadoutClassifier, resolve_precision
    from .models import ModelLoadError, from_module, load_model
    from .readouts import get_readout

    from .models import sha256_of

    folder = TUNED_MODELS[name]
    target = MAKE_TARGETS.get(name, "experiments")
    if not (folder / WEIGHTS).is_file() or not (folder / META).is_file():
        raise ModelLoadError(f"The course's {name!r} checkpoint is not at {folder}: rebuild it with `make {target}` "
                             "(or restore it with `git checkout -- data/models`).")
    meta = json.loads((folder / META).read_text())
    if "sha256" in meta and sha256_of(folder / WEIGHTS) != meta["sha256"]:
        raise ModelLoadError(f"{folder / WEIGHTS} does not match its sha256 in {META}: the file is damaged or was "
                             f"replaced; restore it with `git checkout -- {_shown(folder)}` or rebuild it with "
                             f"`make {target}`.")
    base = load_model(meta["base"], device)
    if model_fingerprint(base) != meta["base_fingerprint"]:
        raise ModelLoadError(f"{folder} was trained from another {meta['base']!r} model than this one; "
                             f"rebuild it with `make {target}`.")
    tensors = load_file(str(folder / WEIGHTS))
    if meta.get("kind") == "nsp":
        return _load_nsp(name, folder, meta, base, tensors)
    model = copy.deepcopy(base.model)
    blocks = _layers(getattr(model, "base_model", model))
    for i in meta["trained_layers"]:
        prefix = f"layer.{i}."
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        blocks[i].load_state_dict(state)
    lm = from_module(model, base.tokenizer, name=name, why=f"the [CLS] head of the fine-tuning sweep ({meta['readout']})",
                     source=str(folder), device=base.device,
                     note=(f"{meta['base']} with its top {len(meta['trained_layers'])} layers and a linear head on "
                           f"{get_readout(meta['readout']).label} fine-tuned for review sentiment "
                           f"({meta['steps']} steps, seed {meta['seed']}; `make experiments`)."))
    clf = ReadoutClassifier(lm.encoder, get_readout(meta["readout"]), meta["num_labels"]).to(lm.device).eval()
    clf.classifier.load_state_dict({k[len("head."):]: v for k, v in tensors.items() if k.startswith("head.")})
    lm.head = FineTuned(lm, clf, get_readout(meta["readout"]), meta["seed"], meta["steps"], [], 0.0,
                        resolve_precision("auto", lm.device), len(meta["trained_layers"]), max_length=meta["max_length"])
    return lm
