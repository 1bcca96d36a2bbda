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
TUNED_MODELS = {"embedded-cls-tuned": config.DATA_DIR / "models" / "embedded-cls-tuned"}


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


def load_tuned(name: str, device: str | torch.device = "auto"):
    """The LoadedModel of a shipped fine-tuned checkpoint, with its head as ``.head``."""
    import copy

    from safetensors.torch import load_file

    from .features import model_fingerprint
    from .finetune import FineTuned, ReadoutClassifier, resolve_precision
    from .models import ModelLoadError, from_module, load_model
    from .readouts import get_readout

    folder = TUNED_MODELS[name]
    if not (folder / WEIGHTS).is_file() or not (folder / META).is_file():
        raise ModelLoadError(f"The course's {name!r} checkpoint is not at {folder}: rebuild it with `make experiments` "
                             "(or restore it with `git checkout -- data/models`).")
    meta = json.loads((folder / META).read_text())
    base = load_model(meta["base"], device)
    if model_fingerprint(base) != meta["base_fingerprint"]:
        raise ModelLoadError(f"{folder} was fine-tuned from another {meta['base']!r} model than this one; "
                             "rebuild it with `make experiments`.")
    model = copy.deepcopy(base.model)
    blocks = _layers(getattr(model, "base_model", model))
    tensors = load_file(str(folder / WEIGHTS))
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
