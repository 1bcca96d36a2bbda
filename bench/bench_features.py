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
from helpers.lessons import cls_vs_pooling as V  # noqa: E402
from helpers.lessons import slicing_the_output_cube as S  # noqa: E402


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
        features = helpers.FeatureCache(cache_dir=tmp)
        _, first = timed(features.features, lm, reviews.texts, "cls")
        _, second = timed(features.features, lm, reviews.texts, "cls")
        print(f"\nfeatures(cls, last layer): first {first:.2f} s, second {second * 1000:.0f} ms "
              f"-> {first / second:.0f}x faster (target >= 5x)")
        poolings = [p for p in helpers.POOLINGS if p != "pooler" or lm.has_pooler]
        _, first = timed(features.features_multi, lm, reviews.texts, poolings)
        _, second = timed(features.features_multi, lm, reviews.texts, poolings)
        print(f"features_multi({len(poolings)} poolings x {lm.num_layers + 1} layers): first {first:.2f} s, "
              f"second {second * 1000:.0f} ms -> {first / second:.0f}x faster (target >= 5x)")
        review_f = features.features_multi(lm, reviews.texts, ("cls", "mean"))
        topic_f = features.features_multi(lm, topics.texts, ("cls", "mean"))

        # ------------------------------------------------------------------ 2. widget callbacks
        print("\nwidget callbacks (median after the first call; target < 100 ms):")
        cube = helpers.encode(lm, reviews.texts[:8], attentions=False)
        box = S.build_cube_explorer(cube.last_hidden, cube.tokens)
        times = []
        specs = ["[i, :, :]", "[:, 0, :]", "[:, :, k]", "[i, t, :]"]
        for n in range(24):
            _, dt = timed(box.set, spec=specs[n % 4])
            times.append(dt)
            _, dt = timed(box.set, i=n % len(cube))
            times.append(dt)
        print(f"  05 cube explorer (spec / sentence changes): {median_ms(times[1:]):.1f} ms")

        nbox = V.build_neighbour_explorer(topics.texts, topic_f, topics.labels, topics.label_names)
        times = []
        for layer in range(lm.num_layers + 1):  # fill the per-layer similarity cache
            nbox.set(layer=layer)
        for n in range(20):
            _, dt = timed(nbox.set, query=(7 * n + 1) % len(topics))
            times.append(dt)
            _, dt = timed(nbox.set, layer=n % (lm.num_layers + 1))
            times.append(dt)
        print(f"  06 neighbour explorer (query / layer changes, cached): {median_ms(times[1:]):.1f} ms")

        method = helpers.pick("umap", "pca")
        maps = {"topic": V.MapData(topic_f, topics.labels, topics.label_names),
                "sentiment": V.MapData(review_f, reviews.labels, reviews.label_names)}
        projections = V.ProjectionCache(maps, method=method, cache_dir=tmp)
        _, first_map = timed(projections.get, "topic", "cls", lm.num_layers)
        fill = []
        for name in maps:
            for p in ("cls", "mean"):
                for layer in range(lm.num_layers + 1):
                    fill.append(timed(projections.get, name, p, layer)[1])
        print(f"  06 {method.upper()} maps: first map {first_map:.1f} s (import + compilation + fit), "
              f"then median {median_ms(fill):.0f} ms per new map ({len(fill)} maps)")
        mbox = V.build_projection_explorer(projections, lm.num_layers)
        times = []
        for n in range(20):
            _, dt = timed(mbox.set, layer=(n * 3 + 1) % (lm.num_layers + 1))
            times.append(dt)
            if n % 5 == 4:
                _, dt = timed(mbox.set, colour=list(maps)[(n // 5) % 2])
                times.append(dt)
        print(f"  06 map explorer (layer / colour changes, maps cached; includes the PNG render): "
              f"{median_ms(times[1:]):.1f} ms")
    print(f"\nmachine load when finished: {open('/proc/loadavg').read().split()[:3] if Path('/proc/loadavg').exists() else 'n/a'}")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
