"""Shipped results with provenance: what produced each number, so a test can recompute a slice of it.

A result file (JSON under data/results/) holds ``provenance`` (model fingerprint, data hash, code version,
budget, seeds, wall time, machine) and ``results``. :func:`write_results` stamps the provenance;
:func:`load_results` reads a file back and says clearly what is missing or stale.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Sequence

from . import config

#: Where shipped results live.
RESULTS_DIR = config.DATA_DIR / "results"
#: Bump when the layout of result files changes.
FORMAT_VERSION = 1


def data_hash(texts: Sequence[str], labels: Sequence[int] | None = None) -> str:
    """A short hash of the sentences (and labels), in order."""
    digest = hashlib.sha256()
    for i, t in enumerate(texts):
        digest.update(t.encode("utf-8"))
        digest.update(b"\x1f" + (str(int(labels[i])).encode() if labels is not None else b""))
        digest.update(b"\x1e")
    return digest.hexdigest()[:16]


def code_version() -> str:
    """The git commit of the repository (with "+dirty" for uncommitted changes), or the package version."""
    version = config.VERSION
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=config.REPO_ROOT, capture_output=True,
                                text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "src"], cwd=config.REPO_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", ""
    return f"{commit}{'+dirty' if dirty else ''} (helpers {version})" if commit else f"helpers {version}"


def machine() -> dict[str, str | int]:
    """What the run ran on."""
    import torch

    out = {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
           "cpu_count": os.cpu_count() or 0, "torch_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name(0)
    return out


def provenance(lm, texts: Sequence[str], labels, *, budget: dict, seeds: Sequence[int], wall_seconds: float,
               **extra) -> dict:
    """The provenance block of a result file."""
    from .features import model_fingerprint

    return {"format": FORMAT_VERSION, "model": lm.name, "model_fingerprint": model_fingerprint(lm),
            "data_hash": data_hash(texts, labels), "n_sentences": len(texts), "code_version": code_version(),
            "budget": budget, "seeds": list(seeds), "wall_seconds": round(wall_seconds, 1), "machine": machine(),
            "written": time.strftime("%Y-%m-%d %H:%M:%S %Z"), **extra}


def write_results(name: str, results: dict, prov: dict, folder: str | Path | None = None) -> Path:
    """Write ``{"provenance": prov, "results": results}`` to ``folder/name.json`` (default data/results)."""
    folder = Path(folder) if folder is not None else RESULTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"provenance": prov, "results": results}, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


def load_results(name: str, folder: str | Path | None = None) -> dict:
    """Read a shipped result file; a clear error that says how to make it when it is missing."""
    folder = Path(folder) if folder is not None else RESULTS_DIR
    path = folder / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: it ships with the course; rebuild it with `make experiments`.")
    data = json.loads(path.read_text())
    if data.get("provenance", {}).get("format") != FORMAT_VERSION:
        raise ValueError(f"{path} was written by another version of the course; rebuild it with `make experiments`.")
    return data


#: A live rerun of a shipped curve "agrees" when every shared point is within this of the shipped one. Same seed and
#: code give the same numbers up to the thread count (floating-point sums in another order) and, for bf16 runs, the
#: CPU's bf16 kernels; 0.02 is about one binomial standard error of a 400-1000-pair evaluation.
CURVE_TOLERANCE = 0.02


def curve_agreement(live: Sequence[dict], shipped: Sequence[dict], keys: Sequence[str],
                    tolerance: float = CURVE_TOLERANCE) -> dict:
    """Compare a live rerun's curve points with the shipped run's at the steps both have.

    Args:
        live / shipped: dicts with "step" and the ``keys`` (e.g. "nsp_acc").
        keys: the values to compare.

    Returns:
        {"steps": shared steps, "max_diff": the largest |live - shipped|, "agree": max_diff <= tolerance,
        "tolerance": tolerance}; a ValueError when no step is shared.
    """
    ship = {int(p["step"]): p for p in shipped}
    shared = [p for p in live if int(p["step"]) in ship and int(p["step"]) > 0]
    if not shared:
        raise ValueError("The live run and the shipped one share no evaluation step after step 0: "
                         "rerun with the shipped eval_every.")
    diff = max(abs(float(p[k]) - float(ship[int(p["step"])][k])) for p in shared for k in keys)
    return {"steps": [int(p["step"]) for p in shared], "max_diff": diff, "agree": diff <= tolerance,
            "tolerance": tolerance}
