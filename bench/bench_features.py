"""Bench: cached feature extraction and widget callbacks of notebooks 05-07.

Prints, in one process:
  1. feature extraction, first run (empty cache) vs second run (from the disk cache): target >= 5x faster;
  2. median widget callback times after the first call: target < 100 ms, including UMAP layer changes
     once the maps are cached, and including the PNG rendering a live kernel does for a displayed figure.

Run:  .venv/bin/python bench/bench_features.py           (full data, UMAP)
      CLS_QUICK=1 .venv/bin/python bench/bench_features.py  (small data, PCA maps)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np  # noqa: E402

import helpers  # noqa: E402
from helpers import features as F  # noqa: E402
from helpers import pooling_views as V  # noqa: E402
from helpers import slicing as S  # noqa: E402


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def median_ms(times) -> float:
    return 1000 * statistics.median(times)


def main() -> None:
    quick = helpers.quick_mode()
    lm = helpers.load_model()
    reviews = helpers.load_reviews(limit=helpers.pick(None, 200))
    topics = helpers.load_topics(limit=helpers.pick(None, 144))
    print(f"model {lm.name}; {len(reviews)} reviews, {len(topics)} topic sentences; quick mode: {quick}")

    # ------------------------------------------------------------------ 1. cache: first vs second run
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _, first = timed(F.features, lm, reviews.texts, "cls", cache_dir=tmp)
        _, second = timed(F.features, lm, reviews.texts, "cls", cache_dir=tmp)
        print(f"\nfeatures(cls, last layer): first {first:.2f} s, second {second * 1000:.0f} ms "
              f"-> {first / second:.0f}x faster (target >= 5x)")
        poolings = ["cls", "mean", "max", "first", "last", "sep"] + (["pooler"] if lm.has_pooler else [])
        _, first = timed(F.features_multi, lm, reviews.texts, poolings, cache_dir=tmp)
        _, second = timed(F.features_multi, lm, reviews.texts, poolings, cache_dir=tmp)
        print(f"features_multi({len(poolings)} poolings x {lm.num_layers + 1} layers): first {first:.2f} s, "
              f"second {second * 1000:.0f} ms -> {first / second:.0f}x faster (target >= 5x)")
        review_f = F.features_multi(lm, reviews.texts, ("cls", "mean"), cache_dir=tmp)
        topic_f = F.features_multi(lm, topics.texts, ("cls", "mean"), cache_dir=tmp)

        # ------------------------------------------------------------------ 2. widget callbacks
        print("\nwidget callbacks (median after the first call; target < 100 ms):")
        cube = helpers.encode(lm, reviews.texts[:8], attentions=False)
        box = S.build_cube_explorer(cube.last_hidden, cube.tokens)
        times = []
        specs = ["[i, :, :]", "[:, 0, :]", "[:, :, k]", "[i, t, :]"]
        for n in range(24):
            _, dt = timed(setattr, box.controls["spec"], "value", specs[n % 4])
            times.append(dt)
            _, dt = timed(setattr, box.controls["i"], "value", n % len(cube))
            times.append(dt)
        print(f"  05 cube explorer (spec / sentence changes): {median_ms(times[1:]):.1f} ms")

        nbox = V.build_neighbour_explorer(topics.texts, topic_f, topics.labels, topics.label_names)
        times = []
        for layer in range(lm.num_layers + 1):  # fill the per-layer similarity cache
            nbox.controls["layer"].value = layer
        for n in range(20):
            _, dt = timed(setattr, nbox.controls["query"], "value", (7 * n + 1) % len(topics))
            times.append(dt)
            _, dt = timed(setattr, nbox.controls["layer"], "value", n % (lm.num_layers + 1))
            times.append(dt)
        print(f"  06 neighbour explorer (query / layer changes, cached): {median_ms(times[1:]):.1f} ms")

        method = helpers.pick("umap", "pca")
        maps = {"topic": V.MapData(topic_f, topics.labels, topics.label_names),
                "sentiment": V.MapData(review_f, reviews.labels, reviews.label_names)}
        cache = V.ProjectionCache(maps, method=method, cache_dir=tmp)
        _, first_map = timed(cache.get, "topic", "cls", lm.num_layers)
        fill = []
        for name in maps:
            for p in ("cls", "mean"):
                for layer in range(lm.num_layers + 1):
                    fill.append(timed(cache.get, name, p, layer)[1])
        print(f"  06 {method.upper()} maps: first map {first_map:.1f} s (import + compilation + fit), "
              f"then median {median_ms(fill):.0f} ms per new map ({len(fill)} maps)")
        mbox = V.build_projection_explorer(cache, lm.num_layers)
        times = []
        for n in range(20):
            _, dt = timed(setattr, mbox.controls["layer"], "value", (n * 3 + 1) % (lm.num_layers + 1))
            times.append(dt)
            if n % 5 == 4:
                _, dt = timed(setattr, mbox.controls["colour"], "value", list(maps)[(n // 5) % 2])
                times.append(dt)
        print(f"  06 map explorer (layer / colour changes, maps cached; includes the PNG render): "
              f"{median_ms(times[1:]):.1f} ms")
    print(f"\nmachine load when finished: {open('/proc/loadavg').read().split()[:3] if Path('/proc/loadavg').exists() else 'n/a'}")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
