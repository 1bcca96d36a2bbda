"""Where the summary token sits, tested in pretraining: the mini-BERT's position twins (issue 13).

Notebook 02 moves [CLS] in a model that was pretrained with it at position 0: that asks whether a trained model
can be read elsewhere. Here every layout of :data:`~.recipe.PAIR_LAYOUTS` is pretrained from scratch, with the same
corpus, vocabulary, recipe, budget and seeds as the shipped mini-BERT; only the place its pair head reads changes.

    * :func:`run_twins` - train every (layout, seed), one process per core, save the seed-0 model of each layout
      beside the shipped mini-BERT and write ``data/results/position_twins.json`` (curves, finals, time to 0.90,
      provenance); ``python -m helpers.lessons.nsp_pretraining --twins`` (``make mini-bert-twins``).
    * :func:`heldout_correct` - right/wrong per held-out pair of a twin (what the paired comparison and the test use).

Reading the shipped results (table, curves, paired differences, the finding) is the core's
:mod:`helpers.core.position_twins`, shared with notebook 02.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import shutil
import time
from pathlib import Path
from typing import Sequence


from ...core import config
from ...core.position_twins import NSP_LEVEL, PAIR_LAYOUTS, TWIN_SEEDS, TWINS_FILE, check_layout, time_to_level
from ...core.results import RESULTS_DIR, code_version, machine
from .recipe import RECIPE

#: Where finished runs are kept, one folder per (layout, seed, steps), so an interrupted or extended command resumes.
CACHE = config.CACHE_DIR / "twins"
RECORD = "record.json"
#: Steps kept from each run's training history in a twin's train_log.json (every n-th; the evaluations are all kept).
HISTORY_EVERY = 25


def twin_dir(layout: str, root: str | Path | None = None) -> Path:
    """Folder of the shipped twin for ``layout`` ("start" is the shipped mini-BERT itself)."""
    check_layout(layout)
    name = PAIR_LAYOUTS[layout][1]
    if root is None:
        return config.LOCAL_MODELS[name]
    root = Path(root)
    sub = config.MINI_BERT_TWINS.get(name, "")
    return root / sub if sub else root


def corpus_and_tokenizer(recipe: dict = RECIPE):
    """The shipped mini-BERT's corpus and vocabulary (seed ``recipe["seed"]``); every twin and seed shares them."""
    from .corpus import make_corpus
    from .pairs import train_tokenizer

    corpus = make_corpus(recipe["n_train_docs"], recipe["n_heldout_docs"], seed=recipe["seed"])
    return corpus, train_tokenizer(corpus.texts("train"), recipe["vocab_size"], recipe["max_positions"])


def story_corpus_hash(corpus) -> str:
    """A short hash of the corpus's training and held-out sentences, in order."""
    digest = hashlib.sha256()
    for part in ("train", "heldout"):
        for t in corpus.texts(part):
            digest.update(t.encode("utf-8") + b"\x1e")
    return digest.hexdigest()[:16]


def heldout_correct(lm, seed: int = 0, recipe: dict = RECIPE) -> str:
    """Right (1) / wrong (0) per held-out NSP pair of a loaded twin, as a string: the pairs and masks of the run's
    own evaluation set (seed ``seed``), so the mean is the run's final held-out NSP accuracy."""
    import torch

    from .pairs import make_pairs
    from .training import EvalSet, pair_logits

    corpus, tok = corpus_and_tokenizer(recipe)
    layout = getattr(lm.model.config, "summary_layout", "start")
    held = make_pairs(corpus.heldout, "nsp", seed=seed)[: recipe["eval_pairs"]]
    evalset = EvalSet(tok, held, "nsp", layout=layout)
    out = []
    with torch.inference_mode():
        for batch, _ in evalset.batches:
            batch = {k: v.to(lm.device) for k, v in batch.items()}
            res = lm.model.bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                token_type_ids=batch["token_type_ids"])
            right = pair_logits(lm.model, res, batch).argmax(-1) == batch["next_sentence_label"]
            out.append("".join("1" if r else "0" for r in right.tolist()))
    return "".join(out)


def _run_one(task: dict) -> dict:
    """One (layout, seed) run in a worker: train, save the checkpoint to task["out"], return its record."""
    import torch

    from .training import save_checkpoint, train_variant, wrap

    torch.set_num_threads(task["threads"])
    corpus, tok = corpus_and_tokenizer(task["recipe"])
    recipe = dict(task["recipe"], seed=task["seed"])
    t0 = time.perf_counter()
    res = train_variant(corpus, tok, "nsp", recipe, progress=False, layout=task["layout"], stop_after=task.get("stop_after"))
    wall = time.perf_counter() - t0
    res.history = res.history[HISTORY_EVERY - 1 :: HISTORY_EVERY]
    save_checkpoint(res, task["out"], {"wall_seconds": round(wall, 1), "torch": torch.__version__,
                                       "threads": torch.get_num_threads(), "recipe": recipe, "layout": task["layout"]})
    evals = [{k: e[k] for k in ("step", "seconds", "tokens", "nsp_acc", "nsp_loss", "mlm_acc", "mlm_loss")} for e in res.evals]
    record = {"layout": task["layout"], "seed": task["seed"], "evals": evals, "final": evals[-1],
              "time_to_level": time_to_level(evals), "wall_seconds": round(wall, 1),
              "correct": heldout_correct(wrap(res.model, tok), task["seed"], task["recipe"])}
    (Path(task["out"]) / RECORD).write_text(json.dumps(record) + "\n")
    return dict(record, out=str(task["out"]))


def _cached(task: dict) -> dict | None:
    path = Path(task["out"]) / RECORD
    if not path.is_file():
        return None
    return dict(json.loads(path.read_text()), out=str(task["out"]))


def run_twins(layouts: Sequence[str] = tuple(PAIR_LAYOUTS), seeds: Sequence[int] = TWIN_SEEDS, *, steps: int | None = None,
              jobs: int = 2, out_root: str | Path | None = None, results_dir: str | Path | None = None,
              progress: bool = True) -> dict:
    """Pretrain every layout with every seed; install the seed-0 twins and write the results file.

    The "start" layout with seed 0 is the shipped mini-BERT's own run: it is retrained too (its numbers must come
    out as shipped) but the shipped checkpoint is not replaced.

    Args:
        steps: the budget (default the recipe's); jobs: worker processes (1 thread each, bit-for-bit reproducible).
        out_root: where the twins go (default data/mini-bert); results_dir: where the results file goes.

    Returns:
        the results dict written (``{"provenance": ..., "results": ...}``).
    """
    from tqdm.auto import tqdm

    recipe = dict(RECIPE, steps=steps or RECIPE["steps"])
    for layout in layouts:
        check_layout(layout)
    tasks = [{"layout": l, "seed": s, "recipe": recipe, "threads": 1, "out": CACHE / f"{l}-{s}-{recipe['steps']}"}
             for s in seeds for l in layouts]
    version = code_version()  # the code the runs ran with (a later edit must not relabel them)
    t0 = time.perf_counter()
    records = [rec for rec in map(_cached, tasks) if rec is not None]
    todo = [t for t in tasks if _cached(t) is None]
    if records:
        print(f"  {len(records)} run(s) found in {CACHE}, {len(todo)} to train", flush=True)
    with mp.get_context("spawn").Pool(max(1, min(jobs, len(todo) or 1))) as pool:
        for rec in tqdm(pool.imap_unordered(_run_one, todo), total=len(todo), desc="position twins", disable=not progress):
            records.append(rec)
            f = rec["final"]
            print(f"  {rec['layout']:>6} seed {rec['seed']}: NSP {f['nsp_acc']:.3f}, MLM {f['mlm_acc']:.3f}, "
                  f"{rec['wall_seconds']:.0f} s", flush=True)
    wall = time.perf_counter() - t0
    records.sort(key=lambda r: (list(PAIR_LAYOUTS).index(r["layout"]), r["seed"]))
    fingerprints = {}
    for rec in records:
        out = Path(rec.pop("out"))
        if rec["seed"] == seeds[0]:
            fingerprints[rec["layout"]] = hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest()[:16]
            if rec["layout"] != "start":
                target = twin_dir(rec["layout"], out_root)
                if target.exists():
                    shutil.rmtree(target)
                shutil.copytree(out, target)
    corpus, _ = corpus_and_tokenizer(recipe)
    prov = {"format": 1, "model": "mini-BERT position twins", "model_fingerprint": fingerprints,
            "data_hash": story_corpus_hash(corpus), "n_train_docs": len(corpus.train), "n_heldout_docs": len(corpus.heldout),
            "code_version": version, "budget": recipe, "seeds": list(seeds), "layouts": list(layouts),
            "wall_seconds": round(wall, 1), "run_seconds": round(sum(r["wall_seconds"] for r in records), 1),
            "jobs": jobs, "machine": machine(),
            "written": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "command": "python -m helpers.lessons.nsp_pretraining --twins (make mini-bert-twins)"}
    correct = {l: [r.pop("correct") for r in records if r["layout"] == l] for l in layouts}
    data = {"provenance": prov, "results": {"runs": records, "level": NSP_LEVEL, "correct": correct}}
    folder = Path(results_dir) if results_dir is not None else RESULTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{TWINS_FILE}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return data
