"""Benchmark encode() against the naive way and against sentence-transformers, in one process.

Run:  .venv/bin/python bench/bench_encode.py [--repeats 3] [--batch-size 32]

Prints sentences/s for each method on the course's review sentences, the ratios
(targets: >= 1.3x the naive way, >= 1.0x sentence-transformers), the time of
load_model("embedded") offline (target < 5 s) and how long an unreachable hub id takes
to fail (target < 3 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

import helpers
from helpers import encode, load_model, load_reviews
from helpers.core.models import ModelLoadError, embedded_model_dir


def naive(lm, texts, batch_size):
    """Tokenize everything, pad to the longest sentence, batches in input order."""
    enc = lm.tokenizer(texts, padding="longest", return_tensors="pt")
    out = []
    with torch.inference_mode():
        for s in range(0, len(texts), batch_size):
            batch = {k: v[s : s + batch_size].to(lm.device) for k, v in enc.items()}
            out.append(lm.encoder(**batch).last_hidden_state[:, 0].cpu())
    return torch.cat(out)


def ours(lm, texts, batch_size):
    return encode(lm, texts, hidden_states=False, attentions=False, batch_size=batch_size, progress=False).cls()


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device cpu")

    start = time.perf_counter()
    lm = load_model("embedded", device="cpu")
    load_s = time.perf_counter() - start
    texts = load_reviews().texts
    n = len(texts)
    print(f"{n} review sentences, batch size {args.batch_size}, best of {args.repeats}\n")

    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(embedded_model_dir()), device="cpu")

    methods = {
        "naive (pad to longest, input order)": lambda: naive(lm, texts, args.batch_size),
        "sentence-transformers encode": lambda: st.encode(texts, batch_size=args.batch_size, convert_to_tensor=True),
        "helpers.encode": lambda: ours(lm, texts, args.batch_size),
    }
    for fn in methods.values():  # warm-up
        fn()
    rates = {}
    for name, fn in methods.items():
        best, med = best_of(fn, args.repeats)
        rates[name] = n / best
        print(f"{name:<38} {n / best:8.1f} sentences/s  (best {best:.2f} s, median {med:.2f} s)")
    ours_rate = rates["helpers.encode"]
    print()
    print(f"ratio vs naive:                 {ours_rate / rates['naive (pad to longest, input order)']:.2f}x  (target >= 1.3x)")
    print(f"ratio vs sentence-transformers: {ours_rate / rates['sentence-transformers encode']:.2f}x  (target >= 1.0x)")

    check = naive(lm, texts[:64], 64)
    got = ours(lm, texts[:64], 16)
    print(f"max |naive - encode| on [CLS] vectors: {float((check - got).abs().max()):.2e}")

    print()
    print(f"load_model('embedded') offline, first call in this process: {load_s:.2f} s  (target < 5 s)")
    start = time.perf_counter()
    load_model("embedded", device="cpu")
    print(f"load_model('embedded') again (checksum remembered):       {time.perf_counter() - start:.2f} s")

    os.environ.pop("HF_HUB_OFFLINE", None)
    start = time.perf_counter()
    try:
        load_model("bert-base-uncased-not-cached/inside-cls-bench", device="cpu")
        print("unexpected: the uncached hub id loaded")
    except ModelLoadError as exc:
        reason = str(exc).splitlines()[0]
        print(f"unreachable hub id fails after {time.perf_counter() - start:.2f} s  (target < 3 s)\n  {reason}")
    print(f"\nhelpers {helpers.__version__}")


if __name__ == "__main__":
    main()
