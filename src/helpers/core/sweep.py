"""The fine-tuning sweep over readouts: the experiment the forum asked for, run once and shipped with provenance.

For every readout (``READOUTS``) and seed, a copy of the embedded model is fine-tuned with the same recipe
(``finetune.RECIPE``: budget, trained layers, learning rates), the same training sentences and the same batch
order; its validation curve (steps vs accuracy) shows whether the budget reached the plateau, and its
per-sentence right/wrong on the held-out reviews makes every comparison paired. Beside it, the frozen probe of
the same readout on the same sentences gives the gain fine-tuning brings.

    python -m helpers.core.sweep            # = make experiments: resumable, writes data/results/finetune_sweep.json
    python -m helpers.core.sweep --quick    # a few minutes: 2 readouts, 1 seed, short budget (not shipped)

Runs are cached one file each under .cache/sweep/, so an interrupted sweep continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from . import config
from .data import load_reviews
from .finetune import RECIPE, fine_tune
from .linear import probe_pipeline
from .readouts import get_readout, layout_rows, read
from .results import data_hash, provenance, write_results
from .stats import paired_difference

#: The readouts the sweep fine-tunes, in display order ("first" is the token at position 1).
SWEEP_READOUTS = ("cls", "mean", "max", "first", "pos2", "last", "sep", "cls_end")
SEEDS = (0, 1, 2)
#: Validation: this share of the training reviews (stratified, fixed seed) scores the curve.
VAL_SHARE = 0.1
EVAL_EVERY = 50
#: The one cell a test recomputes: a short fp32 run, shipped beside the full results.
CHECK_CELL = {"readout": "cls", "seed": 0, "steps": 40, "precision": "fp32"}
RESULT_NAME = "finetune_sweep"


def split(train, seed: int = 0):
    """(fit, val) TextSets: the validation share of the training reviews, stratified by label."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(train))
    fit, val = train_test_split(idx, test_size=VAL_SHARE, stratify=train.labels, random_state=seed)
    return train.select(sorted(fit)), train.select(sorted(val))


def frozen_correct(lm, readout: str, train, test, C: float = 0.1) -> np.ndarray:
    """(N_test,) 1 where the frozen probe on ``readout`` (trained on ``train``) is right on each test sentence."""
    x_train = frozen_vectors(lm, readout, train.texts)
    x_test = frozen_vectors(lm, readout, test.texts)
    clf = probe_pipeline(C, 0).fit(x_train, train.labels)
    return (clf.predict(x_test) == test.labels).astype(float)


def frozen_vectors(lm, readout: str, texts: Sequence[str], batch: int = 128) -> np.ndarray:
    """(N,H) last-layer vectors of ``readout`` for ``texts`` (its layout built from the word pieces)."""
    from .cube import encode_ids

    r = get_readout(readout)
    rows, pos = layout_rows(lm, texts, r.layout)
    out = np.zeros((len(rows), lm.hidden_size), dtype=np.float32)
    for start in range(0, len(rows), batch):
        cube = encode_ids(lm, rows[start : start + batch], hidden_states=False, attentions=False, progress=False)
        out[start : start + batch] = read(cube.last_hidden, cube.attention_mask, r, pos[start : start + batch]).numpy()
    return out


def run_cell(lm, readout: str, seed: int, fit, val, test, *, steps: int = RECIPE["steps"], precision: str = "auto",
             eval_every: int = EVAL_EVERY, progress: bool = True) -> dict:
    """One fine-tuning run: its curve, its test accuracy and per-sentence right/wrong, its time."""
    ft = fine_tune(lm, fit.texts, fit.labels, readout=readout, steps=steps, seed=seed, precision=precision,
                   val_texts=val.texts, val_labels=val.labels, eval_every=eval_every, progress=progress)
    correct = ft.correct(test.texts, test.labels)
    return {"readout": readout, "seed": seed, "steps": steps, "precision": ft.precision,
            "accuracy": float(correct.mean()), "correct": "".join(str(int(c)) for c in correct),
            "curve": [[s, round(a, 4)] for s, a in ft.curve], "final_loss": float(np.mean(ft.losses[-20:])),
            "seconds": round(ft.seconds, 1)}


def _cached(path: Path, make):
    if path.is_file():
        return json.loads(path.read_text())
    value = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))
    return value


def summarize(cells: list[dict], frozen: dict[str, np.ndarray], readouts: Sequence[str]) -> dict:
    """The table: per readout, fine-tuned accuracy (seeds pooled), its paired interval against [CLS], the frozen probe."""
    def correct_of(key):
        return np.array([[int(c) for c in cell["correct"]] for cell in cells if cell["readout"] == key], dtype=float)

    base = correct_of("cls")
    table = {}
    for key in readouts:
        mine = correct_of(key)
        row = {"label": get_readout(key).label, "fine_tuned": float(mine.mean()),
               "per_seed": [float(x) for x in mine.mean(1)], "frozen": float(frozen[key].mean())}
        if key != "cls":
            d = paired_difference(mine, base, names=(get_readout(key).label, "[CLS]"))
            row["vs_cls"] = {"diff": d.diff, "lo": d.lo, "hi": d.hi, "outcome": d.outcome, "verdict": d.verdict()}
        g = paired_difference(mine, frozen[key][None], names=("fine-tuned", "frozen"))
        row["gain"] = {"diff": g.diff, "lo": g.lo, "hi": g.hi, "outcome": g.outcome}
        table[key] = row
    return table


def main(argv: Sequence[str] | None = None) -> int:
    import torch

    from .models import load_model

    parser = argparse.ArgumentParser(description="Fine-tune a head on each readout of the embedded model (make experiments).")
    parser.add_argument("--quick", action="store_true", help="2 readouts, 1 seed, a short budget; written to .cache only")
    parser.add_argument("--readouts", nargs="*", default=None)
    parser.add_argument("--seeds", type=int, nargs="*", default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's own)")
    parser.add_argument("--out", default=None, help="folder for the result file (default data/results)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    quick = args.quick
    readouts = tuple(args.readouts or (("cls", "mean") if quick else SWEEP_READOUTS))
    seeds = tuple(args.seeds if args.seeds is not None else ((0,) if quick else SEEDS))
    steps = args.steps or (60 if quick else RECIPE["steps"])
    lm = load_model("embedded")
    train, test = load_reviews("train"), load_reviews("test")
    if quick:
        train, test = train.sample(400), test.sample(200)
    fit, val = split(train)
    key = f"{data_hash(train.texts, train.labels)}_{data_hash(test.texts, test.labels)}_{steps}"
    cache = config.CACHE_DIR / "sweep" / key
    start = time.perf_counter()
    print(f"sweep: {len(readouts)} readouts x {len(seeds)} seeds, {steps} steps, {len(fit)} fit / {len(val)} val / "
          f"{len(test)} test reviews; cached runs in {cache}", flush=True)
    cells = []
    for seed in seeds:
        for r in readouts:
            t0 = time.perf_counter()
            cell = _cached(cache / f"{r}_s{seed}.json",
                           lambda: run_cell(lm, r, seed, fit, val, test, steps=steps, progress=sys.stderr.isatty()))
            cells.append(cell)
            print(f"  {r:>8} seed {seed}: test {cell['accuracy']:.3f}, last val {cell['curve'][-1][1]:.3f} "
                  f"({cell['seconds']:.0f} s{'' if time.perf_counter() - t0 > 1 else ', cached'})", flush=True)
    frozen = {r: np.asarray(_cached(cache / f"frozen_{r}.json", lambda: frozen_correct(lm, r, train, test).tolist()))
              for r in readouts}
    check = _cached(cache / "check_cell.json", lambda: run_cell(
        lm, CHECK_CELL["readout"], CHECK_CELL["seed"], fit, val, test, steps=CHECK_CELL["steps"],
        precision=CHECK_CELL["precision"], eval_every=CHECK_CELL["steps"], progress=False))
    table = summarize(cells, frozen, readouts)
    wall = time.perf_counter() - start
    budget = dict(RECIPE, steps=steps, eval_every=EVAL_EVERY, val_share=VAL_SHARE)
    prov = provenance(lm, list(train.texts) + list(test.texts), list(train.labels) + list(test.labels),
                      budget=budget, seeds=seeds, wall_seconds=sum(c["seconds"] for c in cells),
                      readouts=list(readouts), n_fit=len(fit), n_val=len(val), n_test=len(test),
                      this_invocation_seconds=round(wall, 1))
    results = {"table": table, "cells": cells, "frozen": {r: "".join(str(int(c)) for c in v) for r, v in frozen.items()},
               "check_cell": dict(check, **CHECK_CELL)}
    folder = Path(args.out) if args.out else (cache if quick else None)
    path = write_results(RESULT_NAME, results, prov, folder)
    print(f"written {path}")
    for r, row in table.items():
        vs = row.get("vs_cls", {}).get("verdict", "(the reference)")
        print(f"  {row['label']:<34} fine-tuned {row['fine_tuned']:.3f}  frozen {row['frozen']:.3f}  {vs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
