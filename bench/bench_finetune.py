"""Fine-tuning speed: the course's fine_tune() against transformers' Trainer on the same work (issue 12).

Same model (the embedded MiniLM), same training sentences (the sweep's), same batch (32), same trained layers
(the top 3 and a linear head on [CLS]), same optimiser settings. Steps/s counts training steps only, after a
few warm-up steps; the one-time cost of our frozen prefix (the output of the untrained lower layers, computed
once per sentence) is printed beside it and folded into the end-to-end ratio for the sweep's budget.

Printed ratios, all measured in this process:
  - the course's default (precision "auto": bf16 autocast on a CPU with AMX / AVX-512 BF16, fp32 elsewhere)
    against Trainer's default (fp32): what a user gets from either;
  - like for like: fp32 against fp32, and bf16 against Trainer with bf16=True (where the CPU has it).

    .venv/bin/python bench/bench_finetune.py [--steps 40] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from helpers import load_model  # noqa: E402
from helpers.core import sweep  # noqa: E402
from helpers.core.finetune import RECIPE, ReadoutClassifier, Rows, _blocks, bf16_supported, fine_tune  # noqa: E402
from helpers.core.readouts import get_readout  # noqa: E402

WARM = 5


def ours(lm, texts, labels, steps: int, precision: str) -> tuple[float, float]:
    """(steps/s after warm-up, seconds to build the frozen prefix) of fine_tune()."""
    t0 = time.perf_counter()
    short = fine_tune(lm, texts, labels, readout="cls", steps=WARM, precision=precision, progress=False)
    prefix_s = time.perf_counter() - t0 - short.seconds
    ft = fine_tune(lm, texts, labels, readout="cls", steps=WARM + steps, precision=precision, progress=False)
    return (WARM + steps) / ft.seconds, prefix_s


class _TrainerModel(torch.nn.Module):
    """The same classifier as fine_tune() builds, with the loss Trainer expects."""

    def __init__(self, lm):
        super().__init__()
        import copy

        self.inner = ReadoutClassifier(copy.deepcopy(lm.encoder), get_readout("cls"), 2)
        blocks = _blocks(self.inner.encoder)
        for p in self.inner.encoder.parameters():
            p.requires_grad_(False)
        for block in blocks[-RECIPE["train_layers"]:]:
            for p in block.parameters():
                p.requires_grad_(True)

    def forward(self, input_ids, attention_mask, labels=None):
        logits = self.inner(input_ids, attention_mask)
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = torch.nn.functional.cross_entropy(logits.float(), labels)
        return out


def trainer(lm, texts, labels, steps: int, bf16: bool) -> float:
    """Steps/s of transformers' Trainer after warm-up (timed by a callback), same rows and batch."""
    from transformers import Trainer, TrainerCallback, TrainingArguments

    rows = Rows(lm, texts, "standard", RECIPE["max_length"])
    data = [{"input_ids": r, "labels": int(y)} for r, y in zip(rows.ids, labels)]

    def collate(feats):
        width = max(len(f["input_ids"]) for f in feats)
        ids = torch.zeros((len(feats), width), dtype=torch.long)
        mask = torch.zeros_like(ids)
        for j, f in enumerate(feats):
            ids[j, : len(f["input_ids"])] = torch.as_tensor(f["input_ids"])
            mask[j, : len(f["input_ids"])] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": torch.as_tensor([f["labels"] for f in feats])}

    marks = {}

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step in (WARM, WARM + steps):
                marks[state.global_step] = time.perf_counter()

    model = _TrainerModel(lm)
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(tmp, max_steps=WARM + steps, per_device_train_batch_size=RECIPE["batch_size"],
                                 learning_rate=RECIPE["lr"], weight_decay=RECIPE["weight_decay"],
                                 warmup_steps=max(1, int(RECIPE["warmup"] * (WARM + steps))), max_grad_norm=1.0, report_to=[], save_strategy="no",
                                 logging_steps=10**9, use_cpu=not torch.cuda.is_available(), bf16=bf16,
                                 dataloader_num_workers=0, disable_tqdm=True, remove_unused_columns=False)
        Trainer(model=model, args=args, train_dataset=data, data_collator=collate, callbacks=[Clock()]).train()
    return steps / (marks[WARM + steps] - marks[WARM])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    lm = load_model("embedded", device="cpu")
    train, _ = sweep.sweep_data()
    fit, _ = sweep.split(train)
    texts, labels = fit.texts, np.asarray(fit.labels)
    fast = bf16_supported()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); {len(texts)} training sentences, batch "
          f"{RECIPE['batch_size']}, top {RECIPE['train_layers']} layers + head; bf16 fast here: {fast}; "
          f"{args.steps} timed steps after {WARM} warm-up")
    res = {}
    res["ours fp32"], prefix_s = ours(lm, texts, labels, args.steps, "fp32")
    res["trainer fp32"] = trainer(lm, texts, labels, args.steps, bf16=False)
    if fast:
        res["ours bf16"], _ = ours(lm, texts, labels, args.steps, "bf16")
        res["trainer bf16"] = trainer(lm, texts, labels, args.steps, bf16=True)
    for k, v in res.items():
        print(f"  {k:<13} {v:.2f} steps/s ({1000 / v:.0f} ms/step)")
    print(f"  our frozen prefix: {prefix_s:.1f} s once for {len(texts)} sentences")
    default = res["ours bf16"] if fast else res["ours fp32"]
    ratio = default / res["trainer fp32"]
    budget = sweep.STEPS
    e2e = (budget / res["trainer fp32"]) / (prefix_s + budget / default)
    print(f"STEPS/S RATIO, course default ({'bf16' if fast else 'fp32'}) / Trainer default (fp32): {ratio:.2f}x "
          f"(target >= 1.5x); end to end for the sweep's {budget} steps, prefix included: {e2e:.2f}x")
    print(f"like for like: fp32 / fp32 {res['ours fp32'] / res['trainer fp32']:.2f}x"
          + (f", bf16 / bf16 {res['ours bf16'] / res['trainer bf16']:.2f}x" if fast else " (no fast bf16 here)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
