"""Continued-pretraining speed: the course's continue_pretraining() against transformers' Trainer (issue 13).

Same model (the embedded MiniLM with a fresh NSP head), same training pairs (a slice of minilm-nsp's), same batch
(32), same trained parameters (the recipe's top layers, the pooler and the NSP head), same optimiser settings. Tokens/s
counts the real (non-padding) tokens of the training steps; Trainer's clock starts after a few warm-up steps, ours
counts every step, so the ratio leans in Trainer's favour. Our one-time frozen prefix (the bottom layers' output for
every training pair, computed once) is printed beside it and folded into the end-to-end ratio for the full recipe.

Printed ratios, all measured in this process:
  - the course's default (precision "auto": bf16 autocast where the CPU has AMX / AVX-512 BF16, fp32 elsewhere)
    against Trainer's default (fp32), per step and end to end;
  - like for like: fp32 against fp32, and bf16 against Trainer with bf16=True (where the CPU has it).

    .venv/bin/python bench/bench_nsp.py [--steps 40] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from helpers import load_model  # noqa: E402
from helpers.core import continued_nsp as C  # noqa: E402
from helpers.core.finetune import bf16_supported  # noqa: E402

WARM = 5
#: Every n-th document of the corpus (a slice, so the bench's own frozen prefix stays short).
EVERY = 3


def ours(base, split, steps: int, precision: str) -> tuple[float, float, int]:
    """(tokens/s of the training steps, seconds of the frozen prefix, training pairs) of continue_pretraining()."""
    run = C.continue_pretraining(base, {"steps": steps, "eval_every": 10**6, "curve_pairs": 2, "precision": precision},
                                 progress=False, split=split)
    pairs = 2 * sum(len(d.sentences) - 1 for d in split["train"])
    return run.tokens / run.seconds, run.prefix_seconds, pairs


def trainer(base, split, steps: int, bf16: bool) -> float:
    """Tokens/s of transformers' Trainer after warm-up (timed by a callback) on the same pairs and batch."""
    from transformers import Trainer, TrainerCallback, TrainingArguments

    pairs = C.nsp_pairs(split["train"], C.RECIPE["seed"], C.RECIPE["same_genre"], C.RECIPE["span"])
    enc = base.tokenizer([p.a for p in pairs], [p.b for p in pairs], truncation="longest_first",
                         max_length=C.RECIPE["max_length"], return_token_type_ids=True)
    data = [{"input_ids": i, "token_type_ids": t, "labels": p.label}
            for i, t, p in zip(enc["input_ids"], enc["token_type_ids"], pairs)]

    def collate(feats):
        width = max(len(f["input_ids"]) for f in feats)
        ids = torch.zeros((len(feats), width), dtype=torch.long)
        types, mask = torch.zeros_like(ids), torch.zeros_like(ids)
        for j, f in enumerate(feats):
            n = len(f["input_ids"])
            ids[j, :n], types[j, :n], mask[j, :n] = torch.as_tensor(f["input_ids"]), torch.as_tensor(f["token_type_ids"]), 1
        return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask,
                "labels": torch.as_tensor([f["labels"] for f in feats])}

    marks, tokens = {}, {"n": 0}

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step in (WARM, WARM + steps):
                marks[state.global_step] = time.perf_counter()

    model = C.nsp_model_from(base)
    for p in model.parameters():
        p.requires_grad_(False)
    groups = C.trained_parameters(model, C.RECIPE["train_layers"])
    for p in groups["layers"] + groups["head"]:
        p.requires_grad_(True)

    def counting(feats):
        batch = collate(feats)
        if WARM <= counting.calls < WARM + steps:
            tokens["n"] += int(batch["attention_mask"].sum())
        counting.calls += 1
        return batch

    counting.calls = 0
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(tmp, max_steps=WARM + steps, per_device_train_batch_size=C.RECIPE["batch_size"],
                                 learning_rate=C.RECIPE["lr"], weight_decay=C.RECIPE["weight_decay"],
                                 warmup_steps=max(1, int(C.RECIPE["warmup"] * (WARM + steps))), max_grad_norm=1.0,
                                 report_to=[], save_strategy="no", logging_steps=10**9,
                                 use_cpu=not torch.cuda.is_available(), bf16=bf16, dataloader_num_workers=0,
                                 disable_tqdm=True, remove_unused_columns=False, seed=0)
        Trainer(model=model, args=args, train_dataset=data, data_collator=counting, callbacks=[Clock()]).train()
    return tokens["n"] / (marks[WARM + steps] - marks[WARM])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    base = load_model("embedded", device="cpu")
    full = C.corpus_split()
    split = dict(full, train=full["train"][::EVERY])
    fast = bf16_supported()
    res = {}
    res["ours fp32"], prefix_s, n_pairs = ours(base, split, args.steps, "fp32")
    res["trainer fp32"] = trainer(base, split, args.steps, bf16=False)
    if fast:
        res["ours bf16"], _, _ = ours(base, split, args.steps, "bf16")
        res["trainer bf16"] = trainer(base, split, args.steps, bf16=True)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); {n_pairs} training pairs (every {EVERY}th "
          f"document), batch {C.RECIPE['batch_size']}, top {C.RECIPE['train_layers']} layers + pooler + NSP head; "
          f"bf16 fast here: {fast}; {args.steps} timed steps")
    for k, v in res.items():
        print(f"  {k:<13} {v:,.0f} tokens/s")
    default = res["ours bf16"] if fast else res["ours fp32"]
    ratio = default / res["trainer fp32"]
    full_pairs = len(C.training_pairs(full["train"], C.RECIPE)[0])  # every pass's fresh negatives included
    full_prefix = prefix_s * full_pairs / n_pairs
    train_pairs = C.nsp_pairs(split["train"], C.RECIPE["seed"], C.RECIPE["same_genre"], C.RECIPE["span"])
    enc = base.tokenizer([p.a for p in train_pairs], [p.b for p in train_pairs], truncation="longest_first",
                         max_length=C.RECIPE["max_length"])
    per_pair = sum(len(r) for r in enc["input_ids"]) / len(enc["input_ids"])
    work = C.RECIPE["steps"] * C.RECIPE["batch_size"] * per_pair  # tokens trained in the full recipe
    e2e = (work / res["trainer fp32"]) / (full_prefix + work / default)
    print(f"  our frozen prefix: {prefix_s:.1f} s for {n_pairs} pairs (the full recipe's {full_pairs} pairs: about "
          f"{full_prefix:.0f} s)")
    print(f"TOKENS/S RATIO, course default ({'bf16' if fast else 'fp32'}) / Trainer default (fp32): {ratio:.2f}x "
          f"(target >= 1.5x)")
    print(f"like for like: fp32 / fp32 {res['ours fp32'] / res['trainer fp32']:.2f}x"
          + (f", bf16 / bf16 {res['ours bf16'] / res['trainer bf16']:.2f}x" if fast else " (no fast bf16 here)"))
    print(f"end to end for the full recipe ({C.RECIPE['steps']} steps), our prefix included: {e2e:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
