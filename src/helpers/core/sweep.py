"""The fine-tuning sweep over readouts: the experiment the forum asked for, run once and shipped with provenance.

For every readout (``SWEEP_READOUTS``) and seed, a copy of the embedded model is fine-tuned with the same recipe
(``finetune.RECIPE``: budget, trained layers, learning rates), the same training sentences and the same batch
order; its validation curve (steps vs accuracy) shows whether the budget reached the plateau, and its
per-sentence right/wrong on the held-out reviews makes every comparison paired. Beside it, the frozen probe of
the same readout on the same sentences gives the gain fine-tuning brings.

    python -m helpers.core.sweep            # = make experiments: resumable, writes data/results/finetune_sweep.json
    python -m helpers.core.sweep --quick    # a few minutes: 2 readouts, 1 seed, short budget (not shipped)

Runs are cached one file each under .cache/sweep/, so an interrupted sweep continues where it stopped. On a CPU
the runs go to ``--jobs`` worker processes (default: one per core, each with one torch thread: two threads of
one run on two cores are slower than two runs side by side); on a GPU they run one after another.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from . import config
from .data import load_reviews, load_sst2
from .finetune import RECIPE, fine_tune, softmax
from .linear import DEFAULT_CS, grid_search_C, probe_pipeline
from .readouts import get_readout, layout_rows, read
from .results import RESULTS_DIR, data_hash, provenance, write_results
from .stats import paired_difference

#: The readouts the sweep fine-tunes, in display order ("first" is the token at position 1).
SWEEP_READOUTS = ("cls", "mean", "max", "first", "pos2", "last", "sep", "cls_end")
SEEDS = (0, 1, 2)
#: The budget of the shipped sweep: validation accuracy has plateaued well before it (see the curves).
STEPS = 400
#: Validation: this share of the training reviews (stratified, fixed seed) scores the curve.
VAL_SHARE = 0.1
EVAL_EVERY = 25
#: The one cell a test (and notebook 06's quick mode) recomputes: a short fp32 run on ``n_fit`` training
#: sentences of the fit split, scored on the whole test set, shipped beside the full results.
CHECK_CELL = {"readout": "cls", "seed": 0, "steps": 40, "precision": "fp32", "n_fit": 640}
#: The precision check: this cell is run again in fp32 at the full budget, to compare with the "auto" run.
PRECISION_TWIN = {"readout": "cls", "seed": 0, "precision": "fp32"}
#: A curve has plateaued when its last quarter of evaluations is on average less than this above the quarter before.
PLATEAU_TOLERANCE = 0.02
RESULT_NAME = "finetune_sweep"
#: The fine-tuned [CLS] model that ships (the [CLS] head of seed 0); loads as load_model("embedded-cls-tuned").
TUNED_NAME = "embedded-cls-tuned"


def split(train, seed: int = 0):
    """(fit, val) TextSets: the validation share of the training reviews, stratified by label."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(train))
    fit, val = train_test_split(idx, test_size=VAL_SHARE, stratify=train.labels, random_state=seed)
    return train.select(sorted(fit)), train.select(sorted(val))


def check_fit(fit):
    """The training sentences of CHECK_CELL: a stratified sample of ``n_fit`` from the fit split."""
    return fit.sample(CHECK_CELL["n_fit"], seed=CHECK_CELL["seed"])


def recompute_check_cell(lm, fit, val, test, precision: str | None = None) -> dict:
    """CHECK_CELL run again here, to compare with the shipped one (the test, and notebook 06's quick mode)."""
    c = CHECK_CELL
    return run_cell(lm, c["readout"], c["seed"], check_fit(fit), val, test, steps=c["steps"],
                    precision=precision or c["precision"], eval_every=c["steps"], progress=False)


def frozen_vectors(lm, readouts: Sequence[str], texts: Sequence[str], batch: int = 128) -> dict[str, np.ndarray]:
    """readout -> (N,H) last-layer vectors of the frozen model for ``texts``; one pass per input layout."""
    from .cube import encode_ids

    by_layout: dict[str, list] = {}
    for key in readouts:
        by_layout.setdefault(get_readout(key).layout, []).append(get_readout(key))
    out = {}
    for layout, group in by_layout.items():
        rows, pos = layout_rows(lm, texts, layout)
        vecs = {r.key: np.zeros((len(rows), lm.hidden_size), dtype=np.float32) for r in group}
        for start in range(0, len(rows), batch):
            cube = encode_ids(lm, rows[start : start + batch], hidden_states=False, attentions=False, progress=False)
            for r in group:
                vecs[r.key][start : start + batch] = read(cube.last_hidden, cube.attention_mask, r,
                                                          pos[start : start + batch]).numpy()
        out.update(vecs)
    return out


def frozen_correct(lm, readouts: Sequence[str], train, test) -> dict[str, dict]:
    """readout -> {"correct": (N_test,) 1 where the frozen probe is right, "C": the C chosen on train by CV}."""
    x_train, x_test = frozen_vectors(lm, readouts, train.texts), frozen_vectors(lm, readouts, test.texts)
    out = {}
    for key in readouts:
        scores = grid_search_C(x_train[key], train.labels, DEFAULT_CS)
        best = max(scores, key=scores.get)
        clf = probe_pipeline(best, 0).fit(x_train[key], train.labels)
        out[key] = {"correct": _bits(clf.predict(x_test[key]) == test.labels), "C": best}
    return out


def _bits(correct) -> str:
    return "".join(str(int(c)) for c in correct)


def bits_to_array(bits: str) -> np.ndarray:
    """A right/wrong string from a result file -> (N,) float array."""
    return np.frombuffer(bits.encode("ascii"), dtype=np.uint8).astype(float) - ord("0")


def run_cell(lm, readout: str, seed: int, fit, val, test, *, steps: int = STEPS, precision: str = "auto",
             eval_every: int = EVAL_EVERY, progress: bool = True, save_to: str | Path | None = None) -> dict:
    """One fine-tuning run: its curve, its test accuracy and per-sentence right/wrong, its time."""
    ft = fine_tune(lm, fit.texts, fit.labels, readout=readout, steps=steps, seed=seed, precision=precision,
                   val_texts=val.texts, val_labels=val.labels, eval_every=eval_every, progress=progress)
    logits = ft.logits(test.texts)
    correct = logits.argmax(-1) == np.asarray(test.labels)
    if save_to is not None:
        from .tuned import save_tuned

        save_tuned(ft, save_to)
    p = softmax(logits)
    return {"readout": readout, "seed": seed, "steps": steps, "precision": ft.precision,
            "accuracy": float(correct.mean()), "correct": _bits(correct),
            "p_label": [round(float(p[i, y]), 3) for i, y in enumerate(test.labels)],
            "curve": [[s, round(a, 4)] for s, a in ft.curve], "final_loss": float(np.mean(ft.losses[-20:])),
            "seconds": round(ft.seconds, 1)}


def late_gain(curves: Sequence[Sequence[Sequence[float]]]) -> float:
    """How much validation accuracy still rose at the end: the mean over the last quarter of the evaluation points
    minus the mean over the quarter before, averaged over the curves (one per seed). Below PLATEAU_TOLERANCE
    the budget has reached the plateau."""
    gains = []
    for curve in curves:
        acc = np.array([a for _, a in curve], dtype=float)
        q = max(1, len(acc) // 4)
        if len(acc) < 2 * q:
            raise ValueError(f"A curve of {len(acc)} evaluations is too short to judge a plateau.")
        gains.append(acc[-q:].mean() - acc[-2 * q : -q].mean())
    return float(np.mean(gains))


def correct_of(cells: Sequence[dict], readout: str) -> np.ndarray:
    """(seeds, N_test) right/wrong of the runs on ``readout`` among ``cells``."""
    return np.stack([bits_to_array(c["correct"]) for c in cells if c["readout"] == readout])


def summarize(cells: list[dict], frozen: dict[str, dict], readouts: Sequence[str]) -> dict:
    """The table: per readout, fine-tuned accuracy (seeds pooled), its paired interval against [CLS], the frozen probe."""
    base = correct_of(cells, readouts[0])
    table = {}
    for key in readouts:
        mine, froze = correct_of(cells, key), bits_to_array(frozen[key]["correct"])
        curves = [c["curve"] for c in cells if c["readout"] == key]
        row = {"label": get_readout(key).label, "fine_tuned": float(mine.mean()), "late_gain": late_gain(curves),
               "per_seed": [float(x) for x in mine.mean(1)], "frozen": float(froze.mean()), "frozen_C": frozen[key]["C"]}
        if key != readouts[0]:
            d = paired_difference(mine, base, names=(get_readout(key).label, get_readout(readouts[0]).label))
            row["vs_cls"] = {"diff": d.diff, "lo": d.lo, "hi": d.hi, "outcome": d.outcome, "verdict": d.verdict()}
        g = paired_difference(mine, froze[None], names=("fine-tuned", "frozen"))
        row["gain"] = {"diff": g.diff, "lo": g.lo, "hi": g.hi, "outcome": g.outcome, "verdict": g.verdict()}
        table[key] = row
    return table


def sweep_data(quick: bool = False, sst2: str | None = None):
    """(train, test) of the sweep: the course's reviews (all subsets), or SST-2 from ``sst2`` (CLS_SST2_PATH).

    ``sst2`` is a GLUE SST-2 folder (train.tsv for training, at most 4,000 rows; dev.tsv as the test set) or one
    SST-2-format file, of which a stratified quarter (fixed seed) is held out as the test set.
    """
    if sst2:
        path = Path(sst2).expanduser()
        if path.is_dir():
            if not (path / "train.tsv").is_file() or not (path / "dev.tsv").is_file():
                raise FileNotFoundError(f"CLS_SST2_PATH={sst2}: a GLUE SST-2 folder needs train.tsv and dev.tsv.")
            train, test = load_sst2(path / "train.tsv", limit=4000), load_sst2(path / "dev.tsv")
        else:
            from sklearn.model_selection import train_test_split

            data = load_sst2(path, limit=5000)
            tr, te = train_test_split(np.arange(len(data)), test_size=0.25, stratify=data.labels, random_state=0)
            train, test = data.select(sorted(tr)), data.select(sorted(te))
    else:
        train, test = load_reviews("train"), load_reviews("test")
    if quick:
        train, test = train.sample(400), test.sample(200)
    return train, test


@lru_cache(maxsize=2)
def _worker_model(name: str = "embedded"):
    from .models import load_model

    return load_model(name)


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    os.environ["TOKENIZERS_PARALLELISM"] = "false"


def _do(task: dict, lm=None) -> dict:
    """Run one task of the sweep (in a worker process or in this one, on ``lm`` when given) and cache its result."""
    path = Path(task["path"])
    lm = lm if lm is not None else _worker_model(task.get("model", "embedded"))
    fit, val, test = task["fit"], task["val"], task["test"]
    if task["kind"] == "frozen":
        train = task["train"]
        value = frozen_correct(lm, task["readouts"], train, test)
    else:
        value = run_cell(lm, task["readout"], task["seed"], fit, val, test, steps=task["steps"],
                         precision=task["precision"], eval_every=task["eval_every"], progress=False,
                         save_to=task.get("save_to"))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value))
    tmp.replace(path)
    return value


def run_tasks(tasks: list[dict], jobs: int, threads: int | None, lm=None, quiet: bool = False) -> list[dict]:
    """Every task's result, in order; ``jobs`` > 1 runs them in that many spawned processes (each loads the model
    by its name), otherwise here on ``lm``. ``threads``: torch threads per process (None: leave as it is)."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    import multiprocessing

    from tqdm.auto import tqdm

    results: list = [None] * len(tasks)
    todo = []
    for i, t in enumerate(tasks):
        if Path(t["path"]).is_file():
            results[i] = json.loads(Path(t["path"]).read_text())
        else:
            todo.append(i)
    if not quiet:
        print(f"{len(tasks) - len(todo)} of {len(tasks)} runs already cached; {len(todo)} to run "
              f"({jobs} process{'es' if jobs > 1 else ''} x {threads or 'default'} thread(s))", flush=True)
    bar = tqdm(total=len(todo), desc="sweep runs", unit="run")

    def report(i):
        t, r = tasks[i], results[i]
        what = (f"{t['readout']:>8} seed {t['seed']} ({t['steps']} steps, {r['precision']}): test {r['accuracy']:.3f}, "
                f"last val {r['curve'][-1][1]:.3f} ({r['seconds']:.0f} s)") if t["kind"] == "cell" else "frozen probes done"
        if not quiet:
            bar.write("  " + what)
        bar.update(1)

    if jobs <= 1:
        if threads:
            _init_worker(threads)
        for i in todo:
            results[i] = _do(tasks[i], lm)
            report(i)
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker, initargs=(threads or 1,)) as pool:
            futures = {pool.submit(_do, tasks[i]): i for i in todo}
            for fut in as_completed(futures):
                i = futures[fut]
                results[i] = fut.result()
                report(i)
    bar.close()
    return results


def rerun(lm, readouts: Sequence[str] = ("cls", "mean"), *, seed: int = 0, steps: int = STEPS, train=None, test=None,
          jobs: int | None = None, folder: str | Path | None = None) -> dict[str, dict]:
    """A reduced live version of the sweep: one seed, a few readouts, the same budget and data (notebooks 02/06).

    Runs are never taken from the sweep's cache (``folder``: a fresh temporary folder by default). On a CPU with
    several cores and a model that loads by name, the readouts run side by side, one process each.

    Returns:
        readout -> the cell (as in the shipped file: accuracy, per-sentence right/wrong, curve, seconds).
    """
    import tempfile

    import torch

    if train is None or test is None:
        train, test = sweep_data()
    fit, val = split(train)
    by_name = getattr(lm, "source", "memory") != "memory"  # a worker process can load it again by its name
    if jobs is None:
        jobs = 1 if (torch.cuda.is_available() or not by_name) else max(1, min(os.cpu_count() or 1, len(readouts)))
    tmp = tempfile.mkdtemp(prefix="cls-rerun-") if folder is None else str(folder)
    tasks = [{"kind": "cell", "fit": fit, "val": val, "test": test, "eval_every": EVAL_EVERY, "precision": "auto",
              "readout": r, "seed": seed, "steps": steps, "model": lm.name, "path": str(Path(tmp) / f"{r}_s{seed}.json")}
             for r in readouts]
    done = run_tasks(tasks, jobs, 1 if jobs > 1 else None, lm=lm, quiet=True)
    return dict(zip(readouts, done))


def _earlier_invocations(folder: Path, train_hash: str, test_hash: str, steps: int) -> list[dict]:
    """The invocations that computed the runs of an existing result file of the same data and budget (a resumed
    or rewritten sweep keeps the wall time of the runs it reuses)."""
    path = Path(folder) / f"{RESULT_NAME}.json"
    if not path.is_file():
        return []
    p = json.loads(path.read_text()).get("provenance", {})
    if (p.get("train_hash"), p.get("test_hash"), p.get("budget", {}).get("steps")) != (train_hash, test_hash, steps):
        return []
    return list(p.get("invocations", []))


def main(argv: Sequence[str] | None = None) -> int:
    import torch

    from .models import load_model

    parser = argparse.ArgumentParser(description="Fine-tune a head on each readout of the embedded model (make experiments).")
    parser.add_argument("--quick", action="store_true", help="2 readouts, 1 seed, a short budget; written to .cache only")
    parser.add_argument("--readouts", nargs="*", default=None)
    parser.add_argument("--seeds", type=int, nargs="*", default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per CPU core; 1 on a GPU)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per process (default 1 with several jobs)")
    parser.add_argument("--out", default=None, help="folder for the result file (default data/results)")
    args = parser.parse_args(argv)
    quick = args.quick
    sst2 = os.environ.get("CLS_SST2_PATH") or None
    readouts = tuple(args.readouts or (("cls", "mean") if quick else SWEEP_READOUTS))
    if readouts[0] != "cls":
        readouts = ("cls",) + tuple(r for r in readouts if r != "cls")
    for r in readouts:
        get_readout(r)
    seeds = tuple(args.seeds if args.seeds is not None else ((0,) if quick else SEEDS))
    steps = args.steps or (60 if quick else STEPS)
    gpu = torch.cuda.is_available()
    jobs = args.jobs or (1 if gpu else max(1, min(os.cpu_count() or 1, len(readouts) * len(seeds))))
    threads = args.threads or (1 if jobs > 1 else torch.get_num_threads())
    lm = load_model("embedded")
    train, test = sweep_data(quick, sst2)
    fit, val = split(train)
    train_hash, test_hash = data_hash(train.texts, train.labels), data_hash(test.texts, test.labels)
    key = f"{train_hash}_{test_hash}_{steps}"
    cache = config.CACHE_DIR / "sweep" / key
    shipped = not quick and not sst2 and args.out is None
    print(f"sweep: {len(readouts)} readouts x {len(seeds)} seeds, {steps} steps, {len(fit)} fit / {len(val)} val / "
          f"{len(test)} test sentences ({'SST-2' if sst2 else 'reviews'}); cached runs in {cache}", flush=True)
    start = time.perf_counter()
    common = {"fit": fit, "val": val, "test": test, "eval_every": EVAL_EVERY, "precision": "auto", "kind": "cell"}
    tasks = [dict(common, readout=r, seed=s, steps=steps, path=str(cache / f"{r}_s{s}.json"),
                  save_to=str(cache / TUNED_NAME) if (r, s) == ("cls", seeds[0]) else None)
             for s in seeds for r in readouts]
    tasks.append(dict(common, kind="frozen", readouts=readouts, train=train, path=str(cache / "frozen.json")))
    twin = PRECISION_TWIN
    tasks.append(dict(common, readout=twin["readout"], seed=twin["seed"], steps=steps, precision=twin["precision"],
                      path=str(cache / f"{twin['readout']}_s{twin['seed']}_{twin['precision']}.json")))
    tasks.append(dict(common, fit=check_fit(fit), readout=CHECK_CELL["readout"], seed=CHECK_CELL["seed"], steps=CHECK_CELL["steps"],
                      precision=CHECK_CELL["precision"], eval_every=CHECK_CELL["steps"], path=str(cache / "check_cell.json")))
    computed = sum(not Path(t["path"]).is_file() for t in tasks)
    done = run_tasks(tasks, jobs, threads)
    cells, frozen, fp32, check = done[: -3], done[-3], done[-2], done[-1]
    table = summarize(cells, frozen, readouts)
    auto = next(c for c in cells if (c["readout"], c["seed"]) == (twin["readout"], twin["seed"]))
    d = paired_difference(bits_to_array(auto["correct"])[None], bits_to_array(fp32["correct"])[None],
                          names=(f"{auto['precision']} (auto)", "fp32"))
    precision = {"auto": auto["precision"], "auto_accuracy": auto["accuracy"], "fp32_accuracy": fp32["accuracy"],
                 "auto_seconds": auto["seconds"], "fp32_seconds": fp32["seconds"], "diff": d.diff, "lo": d.lo,
                 "hi": d.hi, "outcome": d.outcome, "verdict": d.verdict(), "fp32_cell": fp32}
    wall = time.perf_counter() - start
    folder = Path(args.out) if args.out else (RESULTS_DIR if shipped else cache)
    invocations = _earlier_invocations(folder, train_hash, test_hash, steps) + ([{"seconds": round(wall, 1), "runs_computed": computed, "jobs": jobs}]
                                                 if computed else [])
    budget = dict(RECIPE, steps=steps, eval_every=EVAL_EVERY, val_share=VAL_SHARE, precision=cells[0]["precision"])
    prov = provenance(lm, list(train.texts) + list(test.texts), list(train.labels) + list(test.labels),
                      budget=budget, seeds=seeds, wall_seconds=sum(c["seconds"] for c in cells),
                      readouts=list(readouts), n_fit=len(fit), n_val=len(val), n_test=len(test),
                      train_hash=train_hash, test_hash=test_hash,
                      data="SST-2" if sst2 else "reviews", jobs=jobs, threads_per_job=threads,
                      invocations=invocations, wall_clock_seconds=round(sum(i["seconds"] for i in invocations), 1))
    results = {"table": table, "cells": cells, "frozen": frozen, "precision": precision,
               "check_cell": dict(check, **CHECK_CELL)}
    path = write_results(RESULT_NAME + ("_sst2" if sst2 else ""), results, prov, folder)
    print(f"written {path} ({wall / 60:.1f} min in this invocation)")
    if shipped and (cache / TUNED_NAME).is_dir():
        from .tuned import install_tuned

        print(f"fine-tuned [CLS] model: {install_tuned(cache / TUNED_NAME, base=lm)}")
    for r, row in table.items():
        vs = row.get("vs_cls", {}).get("verdict", "(the reference)")
        print(f"  {row['label']:<34} fine-tuned {row['fine_tuned']:.3f}  frozen {row['frozen']:.3f}  "
              f"late gain {row['late_gain']:+.3f}  {vs}")
    print(f"  precision: {precision['verdict']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
