"""Sentence features computed once and cached on disk: :class:`FeatureCache`.

Every array is stored under ``<cache dir>/features`` (default ``config.CACHE_DIR``) as one ``.npy`` file per
(model fingerprint, data fingerprint, pooling, layer). The model fingerprint hashes the model's
config and a digest of every weight tensor, so a fine-tuned copy never reads the frozen model's
features. Shapes: N = sentences, H = width, L = layers (layer 0 is the embeddings' output).
"""

from __future__ import annotations

import hashlib
import json
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from . import config
from .cube import check_pooling, embed, encode, pool
from .models import LoadedModel

#: Bump when the way features are computed changes, so old cache files are not reused.
FORMAT_VERSION = 1


@dataclass
class CacheStats:
    """What the last feature call did: how many (pooling, layer) arrays were read vs computed."""

    hits: int = 0
    misses: int = 0
    files: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.hits} array(s) read from the cache, {self.misses} computed"


#: model -> (parameter version counters, (name, fingerprint)): skips re-hashing weights that did not change.
_FINGERPRINTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def model_fingerprint(lm: LoadedModel) -> str:
    """A short hash of the model's config and weights (changes when any weight changes).

    Each tensor contributes its name, shape, dtype and every byte of its values: exact, so the same weights give
    the same fingerprint whatever the thread count or CPU (a float sum would not), and a fraction of a second
    even for a BERT-base; remembered until a weight changes.
    """
    model = lm.encoder
    versions = tuple(t._version for t in model.state_dict().values())  # bumped by every in-place update
    memo = _FINGERPRINTS.get(model)
    if memo is not None and memo[0] == versions and memo[1][0] == lm.name:
        return memo[1][1]
    digest = hashlib.sha256()
    digest.update(lm.name.encode())
    cfg = model.config.to_dict()
    cfg.pop("_attn_implementation_autoset", None)
    cfg.pop("attn_implementation", None)
    cfg.pop("_attn_implementation", None)
    cfg.pop("_name_or_path", None)  # where the files are (a venv path), not what the model is
    cfg.pop("transformers_version", None)
    digest.update(json.dumps(cfg, sort_keys=True, default=str).encode())
    with torch.no_grad():
        for name, tensor in sorted(model.state_dict().items()):
            digest.update(name.encode())
            digest.update(f"{tuple(tensor.shape)} {tensor.dtype}".encode())
            raw = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8)
            digest.update(raw.numpy())
    fingerprint = digest.hexdigest()[:16]
    _FINGERPRINTS[model] = (versions, (lm.name, fingerprint))
    return fingerprint


def data_fingerprint(texts: Sequence[str], pairs: Sequence[str] | None = None, max_length: int | None = None) -> str:
    """A short hash of the sentences (and pairs), in order."""
    digest = hashlib.sha256()
    for i, t in enumerate(texts):
        digest.update(t.encode("utf-8"))
        digest.update(b"\x00" if pairs is None else pairs[i].encode("utf-8") + b"\x01")
        digest.update(b"\x1e")
    digest.update(str(max_length).encode())
    return digest.hexdigest()[:16]


def _layer_list(lm: LoadedModel, layers) -> tuple[list[int], bool]:
    """Normalise layers to non-negative indices 0..L; also say whether one int was given."""
    n = lm.num_layers + 1
    if isinstance(layers, str):
        if layers != "all":
            raise ValueError(f"layers={layers!r}: give an int, a list of ints, or 'all'.")
        return list(range(n)), False
    single = isinstance(layers, (int, np.integer))
    wanted = [int(layers)] if single else [int(x) for x in layers]
    if not wanted:
        raise ValueError("layers is empty: give a layer index or a list of them.")
    out = []
    for x in wanted:
        if not -n <= x < n:
            raise ValueError(f"layer {x} is out of range: this model has layers 0 (embeddings) to {n - 1}.")
        out.append(x % n)
    return out, single


def cache_path(lm: LoadedModel, texts: Sequence[str], pooling, layer: int | str, *, pairs=None,
               max_length=None, cache_dir: Path | None = None, model_fp: str | None = None) -> Path:
    """Where the (N,H) array for this model, data, pooling and layer lives under ``cache_dir``."""
    root = Path(cache_dir or config.CACHE_DIR) / "features"
    mfp = model_fp or model_fingerprint(lm)
    safe = str(lm.name).replace("/", "_").replace("\\", "_")[-40:]
    name = f"v{FORMAT_VERSION}_{safe}_{mfp}_{data_fingerprint(texts, pairs, max_length)}_{pooling}_L{layer}.npy"
    return root / name


def _save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, array)
    tmp.replace(path)


def _load(path: Path) -> np.ndarray | None:
    if not path.is_file():
        return None
    try:
        return np.load(path)
    except (OSError, ValueError):  # a damaged file: recompute it
        return None


class FeatureCache:
    """Pooled sentence vectors, computed once per (model, data, pooling, layer) and read from disk after.

    Attributes:
        cache_dir: the folder holding ``features/`` (None: ``config.CACHE_DIR``, read at each call).
        enabled: False computes without reading or writing files.
        last: :class:`CacheStats` of the most recent call (how many arrays were read vs computed).
    """

    def __init__(self, cache_dir: str | Path | None = None, enabled: bool = True):
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.enabled = enabled
        self.last = CacheStats()

    def __repr__(self) -> str:
        return f"FeatureCache({str(self.root)!r}, enabled={self.enabled}; last call: {self.last})"

    @property
    def root(self) -> Path:
        """The folder the .npy files go to."""
        return Path(self.cache_dir or config.CACHE_DIR) / "features"

    def path(self, lm: LoadedModel, texts: Sequence[str], pooling, layer: int, **key) -> Path:
        """Where one (N,H) array lives (see :func:`cache_path`)."""
        return cache_path(lm, texts, pooling, layer, cache_dir=self.cache_dir, **key)

    def features(
        self,
        lm: LoadedModel,
        texts: Sequence[str],
        pooling: str | int = "cls",
        layers: int | Sequence[int] | str = -1,
        *,
        pairs: Sequence[str] | None = None,
        batch_size: int = 64,
        max_length: int | None = None,
        progress: bool | None = None,
    ) -> np.ndarray:
        """Pooled sentence vectors of one pooling.

        Args:
            lm: the model.
            texts: N sentences (any sequence of strings).
            pooling: a name of ``cube.POOLINGS`` or a token index.
            layers: one layer (0 = embeddings, -1 = last), a list, or "all".

        Returns:
            float32 (N,H) for one layer, or (len(layers),N,H).
        """
        pooling = check_pooling(pooling)
        texts = list(texts)
        wanted, single = _layer_list(lm, layers)
        if pooling == "pooler":
            if not lm.has_pooler:
                raise ValueError(f"{lm.name!r} has no pooler; use pooling='cls' or 'mean'.")
            if any(x != lm.num_layers for x in wanted):
                raise ValueError("The pooler exists only on top of the last layer: use layers=-1 with pooling='pooler'.")
        stats = CacheStats()
        mfp = model_fingerprint(lm) if self.enabled else ""
        found: dict[int, np.ndarray] = {}
        paths = {}
        for layer in dict.fromkeys(wanted):
            if self.enabled:
                paths[layer] = self.path(lm, texts, pooling, layer, pairs=pairs, max_length=max_length, model_fp=mfp)
                arr = _load(paths[layer])
                if arr is not None:
                    found[layer] = arr
                    stats.hits += 1
                    stats.files.append(str(paths[layer]))
        missing = [x for x in dict.fromkeys(wanted) if x not in found]
        if missing:
            computed = embed(lm, texts, pairs, pooling=pooling, layers=missing, batch_size=batch_size,
                             max_length=max_length, progress=progress)
            for layer, arr in zip(missing, computed):
                found[layer] = arr
                stats.misses += 1
                if self.enabled:
                    _save(paths[layer], arr)
                    stats.files.append(str(paths[layer]))
        self.last = stats
        out = np.stack([found[x] for x in wanted])
        return out[0] if single else out

    def features_multi(
        self,
        lm: LoadedModel,
        texts: Sequence[str],
        poolings: Sequence[str | int] = ("cls", "mean"),
        layers: Sequence[int] | str = "all",
        *,
        batch_size: int = 32,
        progress: bool | None = None,
    ) -> dict:
        """Several poolings at several layers from ONE pass over the data.

        Returns:
            dict pooling -> float32 (len(layers),N,H); "pooler" (if asked for) -> (N,H).
        """
        poolings = [check_pooling(p) for p in poolings]
        texts = list(texts)
        wanted, _ = _layer_list(lm, layers)
        if "pooler" in poolings and not lm.has_pooler:
            raise ValueError(f"{lm.name!r} has no pooler: leave 'pooler' out of poolings.")
        stats = CacheStats()
        mfp = model_fingerprint(lm) if self.enabled else ""
        jobs = [(p, x) for p in poolings for x in ([lm.num_layers] if p == "pooler" else wanted)]
        found: dict[tuple, np.ndarray] = {}
        paths = {}
        for job in jobs:
            if self.enabled:
                paths[job] = self.path(lm, texts, job[0], job[1], model_fp=mfp)
                arr = _load(paths[job])
                if arr is not None:
                    found[job] = arr
                    stats.hits += 1
                    stats.files.append(str(paths[job]))
        missing = [j for j in jobs if j not in found]
        if missing:
            result = {j: np.zeros((len(texts), lm.hidden_size), np.float32) for j in missing}
            for start in range(0, len(texts), 256):  # bounded memory: a few hundred sentences per cube
                chunk = texts[start : start + 256]
                cube = encode(lm, chunk, hidden_states=True, attentions=False, batch_size=batch_size, progress=progress)
                for job in missing:
                    p, layer = job
                    vec = cube.pooler() if p == "pooler" else pool(cube.layer(layer), cube.attention_mask, p)
                    result[job][start : start + len(chunk)] = vec.numpy()
            for job in missing:
                found[job] = result[job]
                stats.misses += 1
                if self.enabled:
                    _save(paths[job], result[job])
                    stats.files.append(str(paths[job]))
        self.last = stats
        out = {}
        for p in poolings:
            out[p] = found[(p, lm.num_layers)] if p == "pooler" else np.stack([found[(p, x)] for x in wanted])
        return out

    def clear(self) -> int:
        """Delete every cached feature file in this cache's folder; return how many were removed."""
        count = 0
        if self.root.is_dir():
            for f in self.root.glob("*.npy"):
                f.unlink()
                count += 1
        return count
