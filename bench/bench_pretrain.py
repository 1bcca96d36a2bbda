"""Time-to-accuracy and training throughput of the mini-BERT pretraining loop (notebook 04).

    .venv/bin/python bench/bench_pretrain.py            # full: NSP >= 0.90 and MLM well above chance within 300 s
    .venv/bin/python bench/bench_pretrain.py --quick    # quick: NSP >= 0.70 within 60 s (the full recipe, stopped at 60 s)
    .venv/bin/python bench/bench_pretrain.py --throughput-only

Throughput baseline: transformers' Trainer needs the `accelerate` package. When it is installed the
baseline is Trainer on the same model and data; when it is not, the baseline is a plain-PyTorch
reference loop written the way Trainer runs it (random batches padded to the longest row, the full
BertForPreTraining forward with labels, AdamW, linear warm-up, gradient clipping), and the
output says so. Tokens/s counts real (non-padding) tokens. Evaluation time is not training time.
One torch thread by default (--threads): on a 2-core machine shared with other work, two threads
oversubscribe the cores and run several times slower.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from helpers.lessons import nsp_pretraining as P  # noqa: E402
from helpers.lessons.nsp_pretraining.corpus import make_corpus  # noqa: E402

QUICK = dict(steps=P.RECIPE["steps"], budget=60.0, target=0.70, eval_every=250)
FULL = dict(steps=P.RECIPE["steps"], budget=300.0, target=0.90, eval_every=250)


def time_to_accuracy(corpus, tok, mode: dict, recipe: dict) -> None:
    model = P.new_model(tok, seed=recipe["seed"])
    t0 = time.perf_counter()
    res = P.pretrain(corpus, tok, model, objective="nsp", steps=mode["steps"], batch_size=recipe["batch_size"],
                     lr=recipe["lr"], warmup=recipe["warmup"], seed=recipe["seed"], eval_every=mode["eval_every"],
                     time_budget=mode["budget"], progress=False)
    wall = time.perf_counter() - t0
    chance_mlm = max(1.0 / len(tok), 0.0)
    print(f"{'step':>6} {'train s':>8} {'MLM acc':>8} {'MLM loss':>9} {'NSP acc':>8} {'NSP loss':>9}")
    for e in res.evals:
        print(f"{e['step']:>6} {e['seconds']:>8.1f} {e['mlm_acc']:>8.3f} {e['mlm_loss']:>9.3f} {e['nsp_acc']:>8.3f} "
              f"{e['nsp_loss']:>9.3f}")
    hit = next((e for e in res.evals if e["nsp_acc"] >= mode["target"]), None)
    print(f"wall time {wall:.1f} s (training {res.evals[-1]['seconds']:.1f} s, the rest is held-out evaluation)")
    if hit:
        print(f"TIME-TO-ACCURACY: held-out NSP >= {mode['target']:.2f} after {hit['seconds']:.1f} s of training "
              f"(step {hit['step']}); MLM accuracy then {hit['mlm_acc']:.3f} (1/V = {chance_mlm:.4f}). "
              f"Budget {mode['budget']:.0f} s: {'MET' if hit['seconds'] <= mode['budget'] else 'MISSED'}")
    else:
        best = max(e["nsp_acc"] for e in res.evals)
        print(f"TIME-TO-ACCURACY: NSP >= {mode['target']:.2f} NOT reached within {mode['budget']:.0f} s (best {best:.3f})")
    f = res.final
    print(f"final: NSP acc {f['nsp_acc']:.3f}, MLM acc {f['mlm_acc']:.3f} after {f['seconds']:.1f} s, {f['step']} steps")


def reference_loop(model, rows, tok, steps: int, batch_size: int, lr: float, seed: int) -> tuple[int, float]:
    """Plain PyTorch, Trainer-style: shuffled batches padded to the longest row, full forward with labels."""
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 10))
    model.train()
    order = list(range(len(rows)))
    rng.shuffle(order)
    tokens, seconds = 0, 0.0
    for step in range(steps):
        idx = order[(step * batch_size) % len(order):][:batch_size]
        t0 = time.perf_counter()
        batch = P.collate([rows[i] for i in idx], tok.pad_token_id)
        ids, labels = P.mask_tokens(batch["input_ids"], P.special_ids(tok), tok.mask_token_id, len(tok), gen)
        batch["input_ids"] = ids
        out = model(**batch, labels=labels)
        opt.zero_grad()
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        seconds += time.perf_counter() - t0
        tokens += int(batch["attention_mask"].sum())
    return tokens, seconds


def throughput(corpus, tok, recipe: dict, steps: int = 150) -> None:
    try:
        import accelerate  # noqa: F401

        has_accelerate = True
    except ImportError:
        has_accelerate = False
    rows = P.encode_pairs(tok, P.make_pairs(corpus.train, "nsp", seed=0))
    results = {}
    for name in ("ours", "baseline", "ours again"):
        model = P.new_model(tok, seed=recipe["seed"])
        if name.startswith("ours"):
            res = P.pretrain(corpus, tok, model, steps=steps, batch_size=recipe["batch_size"], lr=recipe["lr"],
                             eval_every=10**9, eval_pairs=32, progress=False)
            h = res.history[10:]  # skip warm-up of the first steps
            results[name] = (h[-1]["tokens"] - res.history[9]["tokens"]) / (h[-1]["seconds"] - res.history[9]["seconds"])
        elif has_accelerate:
            results[name] = trainer_baseline(model, rows, tok, steps, recipe)
        else:
            tokens, seconds = reference_loop(model, rows, tok, steps, recipe["batch_size"], recipe["lr"], recipe["seed"])
            results[name] = tokens / seconds
    base_name = "transformers Trainer" if has_accelerate else "plain-PyTorch reference loop (Trainer-style)"
    if not has_accelerate:
        print("NOTE: `accelerate` is not installed, so transformers' Trainer cannot run here; the baseline is a "
              "plain-PyTorch reference loop doing what Trainer does (see reference_loop).")
    ours = (results["ours"] + results["ours again"]) / 2
    print(f"tokens/s, ours (bucketed batches, vocabulary logits at masked positions only): {ours:,.0f} "
          f"(runs: {results['ours']:,.0f}, {results['ours again']:,.0f})")
    print(f"tokens/s, baseline ({base_name}): {results['baseline']:,.0f}")
    print(f"THROUGHPUT RATIO ours / baseline: {ours / results['baseline']:.2f}x (target >= 1.0x)")


def trainer_baseline(model, rows, tok, steps: int, recipe: dict) -> float:  # pragma: no cover - needs accelerate
    from transformers import Trainer, TrainingArguments

    class Collator:
        gen = torch.Generator().manual_seed(0)

        def __call__(self, feats):
            batch = P.collate(feats, tok.pad_token_id)
            ids, labels = P.mask_tokens(batch["input_ids"], P.special_ids(tok), tok.mask_token_id, len(tok), self.gen)
            batch["input_ids"], batch["labels"] = ids, labels
            return batch

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(tmp, max_steps=steps, per_device_train_batch_size=recipe["batch_size"],
                                 learning_rate=recipe["lr"], report_to=[], save_strategy="no", logging_steps=10**9,
                                 use_cpu=True, dataloader_num_workers=0, disable_tqdm=True)
        trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=Collator())
        t0 = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - t0
    tokens = sum(len(r["input_ids"]) for r in rows[: steps * recipe["batch_size"]])
    return tokens / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--throughput-only", action="store_true")
    parser.add_argument("--no-throughput", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    recipe = P.QUICK_RECIPE if args.quick else P.RECIPE
    mode = QUICK if args.quick else FULL
    t0 = time.perf_counter()
    corpus = make_corpus(recipe["n_train_docs"], recipe["n_heldout_docs"], seed=recipe["seed"])
    tok = P.train_tokenizer(corpus.texts("train"), recipe["vocab_size"])
    print(f"{'quick' if args.quick else 'full'} mode; torch {torch.__version__}, {torch.get_num_threads()} thread(s); "
          f"{corpus}; vocabulary {len(tok)}; corpus + tokenizer {time.perf_counter() - t0:.1f} s")
    cfg = P.new_model(tok).config
    print(f"model: {cfg.num_hidden_layers} layers, width {cfg.hidden_size}, {cfg.num_attention_heads} heads, "
          f"batch {recipe['batch_size']}, lr {recipe['lr']}, {mode['steps']} steps planned")
    if not args.throughput_only:
        time_to_accuracy(corpus, tok, mode, recipe)
    if not args.no_throughput:
        throughput(corpus, tok, recipe)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
