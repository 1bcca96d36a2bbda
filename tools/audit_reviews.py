"""The label audit of data/reviews.tsv: which rows do fine-tuned models get wrong with high confidence?

Every row is held out once (2-fold cross-fitting, stratified by kind and label): a [CLS] head and a mean head are
fine-tuned on one half and score the other. Rows that both heads of their fold get wrong with the true label's
probability under ``--below`` (default 0.1) are printed for a person to re-read; that person fixes or drops the
ambiguous ones by hand and records how many in data/README.md. Usage:

    python tools/audit_reviews.py [--steps 300] [--below 0.1] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
import multiprocessing

import numpy as np


def _one(args):
    import torch

    torch.set_num_threads(1)
    from helpers import load_model, load_reviews
    from helpers.core.finetune import fine_tune

    fold, head, steps = args
    data = load_reviews()
    strata = [f"{k}{y}" for k, y in zip(data.columns["kind"], data.labels)]
    from sklearn.model_selection import StratifiedKFold

    train, test = list(StratifiedKFold(2, shuffle=True, random_state=0).split(np.zeros(len(data)), strata))[fold]
    lm = load_model("embedded")
    ft = fine_tune(lm, data.select(train).texts, data.labels[train], readout=head, steps=steps, seed=fold, progress=False)
    p = ft.probabilities(data.select(test).texts)
    return fold, head, test.tolist(), p[np.arange(len(test)), data.labels[test]].tolist()


def main(argv=None) -> int:
    from helpers import load_reviews

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--below", type=float, default=0.1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", default=None, help="also write the flagged rows to this file")
    args = parser.parse_args(argv)
    data = load_reviews()
    p = {h: np.full(len(data), np.nan) for h in ("cls", "mean")}
    jobs = [(f, h, args.steps) for f in (0, 1) for h in ("cls", "mean")]
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        for fold, head, idx, probs in pool.map(_one, jobs):
            p[head][idx] = probs
            print(f"fold {fold} {head}: held-out accuracy {(np.asarray(probs) > 0.5).mean():.3f}", flush=True)
    flagged = np.flatnonzero((p["cls"] < args.below) & (p["mean"] < args.below))
    rows = [{"text": data.texts[i], "label": int(data.labels[i]), "kind": data.columns["kind"][i],
             "subset": data.columns["subset"][i], "p_cls": round(float(p["cls"][i]), 3),
             "p_mean": round(float(p["mean"][i]), 3)} for i in flagged]
    print(f"{len(rows)} of {len(data)} rows are wrong with confidence in both heads (p(label) < {args.below}):")
    for r in rows:
        print(f"  [{r['subset']} {r['kind']} label {r['label']}] {r['text']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
