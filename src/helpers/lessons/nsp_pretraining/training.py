"""Pretrain a small BERT on CPU with BERT's two objectives: model, losses, the training loop, checkpoints, CLI.

Shapes use B = pairs in a batch, T = tokens (padded), H = width, V = vocabulary, M = masked tokens.

    * :func:`make_config` / :func:`new_model` - a small ``BertForPreTraining``.
    * :func:`pretraining_losses` - MLM (+ NSP/SOP) losses, vocabulary logits only at the masked positions.
    * :func:`pretrain` - AdamW + warm-up + linear decay, tqdm, dynamic masking and pairing per epoch,
      periodic held-out evaluation (:class:`EvalSet`), an optional callback (e.g. ``views.LivePlot``).
    * :func:`save_checkpoint` - safetensors + config + tokenizer files + logs, loadable by
      ``helpers.load_model(folder)`` (and ``load_model("mini-bert")`` for data/mini-bert);
      :func:`wrap` - an in-memory model as a LoadedModel.
    * :func:`main` - the command that rebuilds data/mini-bert.

Reproduce the shipped checkpoint with ``python -m helpers.lessons.nsp_pretraining --out data/mini-bert``
(``make mini-bert``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from ...core import config
from ...core.models import from_module
from .analysis import order_table
from .corpus import Corpus, make_corpus
from .pairs import Pair, collate, encode_pairs, make_pairs, mask_tokens, special_ids, train_tokenizer
from .recipe import IGNORE, RECIPE, check_layout, check_objective, task_name


# ----------------------------------------------------------------------------- model


def make_config(vocab_size: int, layers: int = RECIPE["layers"], width: int = RECIPE["width"],
                heads: int = RECIPE["heads"], intermediate: int | None = None,
                max_positions: int = RECIPE["max_positions"], dropout: float = RECIPE["dropout"]):
    """A small ``BertConfig`` (BERT-base is 12 layers, width 768, 12 heads, dropout 0.1).

    The recipe uses no dropout: the model sees each generated pair only a few times, so there is
    nothing to over-fit in a few minutes, and dropout would only slow learning down.
    """
    from transformers import BertConfig

    if width % heads:
        raise ValueError(f"width={width} must be divisible by heads={heads}.")
    return BertConfig(vocab_size=vocab_size, hidden_size=width, num_hidden_layers=layers, num_attention_heads=heads,
                      intermediate_size=intermediate or 4 * width, max_position_embeddings=max_positions,
                      type_vocab_size=2, hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)


def new_model(tokenizer, seed: int = 0, layout: str = "start", **sizes):
    """A freshly initialised ``BertForPreTraining`` for ``tokenizer``'s vocabulary (``sizes``: see make_config).

    ``layout`` (a key of :data:`~.recipe.PAIR_LAYOUTS`) says where its pair head reads; any layout but "start" is
    stored in the config as ``summary_layout``, so a saved twin loads knowing it.
    """
    from transformers import BertForPreTraining

    check_layout(layout)
    torch.manual_seed(seed)
    for key in ("layers", "width", "heads", "intermediate", "max_positions", "dropout"):
        sizes.setdefault(key, RECIPE[key])
    cfg = make_config(len(tokenizer), **sizes)
    if layout != "start":
        cfg.summary_layout = layout
    model = BertForPreTraining(cfg)
    return model


def layout_of(model) -> str:
    """Where a mini-BERT's pair head reads: its config's ``summary_layout``, "start" when it has none."""
    return check_layout(getattr(model.config, "summary_layout", "start"))


def pair_logits(model, out, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """(B,2) pair-head logits: pooler (dense + tanh) and the NSP layer on the vector the model's layout reads.

    "start" is transformers' own path (the pooler on position 0); "last"/"middle" read [CLS] where
    ``batch["summary_pos"]`` says; "none" reads the mean of the last layer over the real tokens.
    """
    layout = layout_of(model)
    if layout == "start":
        return model.cls.seq_relationship(out.pooler_output)
    hidden = out.last_hidden_state
    if layout == "none":
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        v = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    else:
        if "summary_pos" not in batch:
            raise ValueError(f"A {layout!r} model needs rows from encode_pairs(..., layout={layout!r}).")
        v = hidden[torch.arange(len(hidden), device=hidden.device), batch["summary_pos"].to(hidden.device)]
    pooler = model.bert.pooler
    return model.cls.seq_relationship(pooler.activation(pooler.dense(v)))


def pretraining_losses(model, batch: dict[str, torch.Tensor], mlm_labels: torch.Tensor,
                       objective: str = "nsp") -> dict[str, torch.Tensor]:
    """Forward pass and losses, computing the vocabulary logits only at the masked positions.

    Equal to ``BertForPreTraining(..., labels=mlm_labels, next_sentence_label=...)``'s losses
    (tests check it) but cheaper: the (M,V) logits of the M picked tokens instead of (B,T,V).

    Returns:
        dict with ``loss`` (the sum that is trained), ``mlm_loss``, ``mlm_correct``, ``mlm_count``,
        and for "nsp"/"sop" ``pair_loss``, ``pair_correct``, ``pair_count``.
    """
    out = model.bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                     token_type_ids=batch["token_type_ids"], return_dict=True)
    picked = mlm_labels != IGNORE
    targets = mlm_labels[picked]
    logits = model.cls.predictions(out.last_hidden_state[picked])  # (M,V)
    mlm_loss = F.cross_entropy(logits, targets) if len(targets) else logits.sum() * 0.0
    res = {"mlm_loss": mlm_loss, "mlm_correct": (logits.argmax(-1) == targets).sum(), "mlm_count": picked.sum()}
    loss = mlm_loss
    if objective != "mlm":
        logits2 = pair_logits(model, out, batch)  # (B,2)
        labels = batch["next_sentence_label"]
        pair_loss = F.cross_entropy(logits2, labels)
        res.update(pair_loss=pair_loss, pair_correct=(logits2.argmax(-1) == labels).sum(),
                   pair_count=torch.tensor(len(labels)))
        loss = loss + pair_loss
    res["loss"] = loss
    return res


# ----------------------------------------------------------------------------- training


@dataclass
class TrainResult:
    """What :func:`pretrain` gives back.

    Attributes:
        model: the trained ``BertForPreTraining`` (eval mode).
        tokenizer: its tokenizer.
        objective: "nsp", "sop" or "mlm".
        history: one dict per logged training step (step, seconds, tokens, loss, mlm_loss, pair_loss, lr).
        evals: one dict per evaluation (step, seconds, mlm_loss, mlm_acc, and <task>_loss/<task>_acc).
        settings: the arguments used.
    """

    model: object
    tokenizer: object
    objective: str
    history: list[dict] = field(default_factory=list)
    evals: list[dict] = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    @property
    def final(self) -> dict:
        """The last evaluation."""
        return self.evals[-1] if self.evals else {}


def _batches(rows: list[dict], batch_size: int, rng: random.Random, bucket: int = 32) -> list[list[dict]]:
    """Shuffle, then sort by length inside chunks of ``bucket`` batches (less padding), then shuffle batches."""
    order = list(range(len(rows)))
    rng.shuffle(order)
    chunk = batch_size * bucket
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: len(rows[i]["input_ids"]))
        batches += [[rows[i] for i in part[s : s + batch_size]] for s in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return [b for b in batches if len(b) == batch_size or len(batches) == 1]


class EvalSet:
    """Held-out pairs, tokenized and masked once with a fixed seed, so evaluations are comparable."""

    def __init__(self, tokenizer, pairs: Sequence[Pair], objective: str, batch_size: int = 128, seed: int = 12345,
                 layout: str = "start"):
        self.objective = objective
        rows = encode_pairs(tokenizer, pairs, layout=layout)
        gen = torch.Generator().manual_seed(seed)
        self.batches = []
        for s in range(0, len(rows), batch_size):
            batch = collate(rows[s : s + batch_size], tokenizer.pad_token_id)
            ids, labels = mask_tokens(batch["input_ids"], special_ids(tokenizer), tokenizer.mask_token_id,
                                      len(tokenizer), gen)
            batch["input_ids"] = ids
            self.batches.append((batch, labels))

    @torch.no_grad()
    def evaluate(self, model) -> dict[str, float]:
        """Held-out MLM loss/accuracy (over masked tokens) and pair-task loss/accuracy (over pairs)."""
        was_training = model.training
        model.eval()
        dev = next(model.parameters()).device
        tot = {"mlm_loss": 0.0, "mlm_correct": 0, "mlm_count": 0, "pair_loss": 0.0, "pair_correct": 0, "pair_count": 0}
        for batch, labels in self.batches:
            batch = {k: v.to(dev) for k, v in batch.items()}
            r = pretraining_losses(model, batch, labels.to(dev), self.objective)
            tot["mlm_loss"] += float(r["mlm_loss"]) * int(r["mlm_count"])
            tot["mlm_correct"] += int(r["mlm_correct"])
            tot["mlm_count"] += int(r["mlm_count"])
            if "pair_loss" in r:
                tot["pair_loss"] += float(r["pair_loss"]) * int(r["pair_count"])
                tot["pair_correct"] += int(r["pair_correct"])
                tot["pair_count"] += int(r["pair_count"])
        model.train(was_training)
        out = {"mlm_loss": tot["mlm_loss"] / max(tot["mlm_count"], 1), "mlm_acc": tot["mlm_correct"] / max(tot["mlm_count"], 1)}
        task = task_name(self.objective)
        if task:
            out[f"{task}_loss"] = tot["pair_loss"] / max(tot["pair_count"], 1)
            out[f"{task}_acc"] = tot["pair_correct"] / max(tot["pair_count"], 1)
        return out


def pretrain(
    corpus: Corpus,
    tokenizer=None,
    model=None,
    *,
    objective: str = "nsp",
    steps: int = RECIPE["steps"],
    batch_size: int = RECIPE["batch_size"],
    lr: float = RECIPE["lr"],
    warmup: float = RECIPE["warmup"],
    weight_decay: float = RECIPE["weight_decay"],
    seed: int = RECIPE["seed"],
    eval_every: int = 100,
    eval_pairs: int = RECIPE["eval_pairs"],
    time_budget: float | None = None,
    stop_after: int | None = None,
    callback: Callable[[TrainResult], None] | None = None,
    progress: bool = True,
    device: str | torch.device = "cpu",
) -> TrainResult:
    """Pretrain ``model`` (a new one from :data:`RECIPE` when None) on ``corpus`` with MLM + ``objective``.

    Every epoch draws new pairs (NotNext partners / swaps) and every batch new masks (dynamic
    masking), all from generators seeded by ``seed``. Evaluation runs every ``eval_every`` steps and
    at the end on held-out pairs of the same objective (an NSP eval set for "mlm").

    Args:
        corpus: from :func:`.corpus.make_corpus`.
        tokenizer: None trains one with :func:`.pairs.train_tokenizer` on the training sentences.
        model: a ``BertForPreTraining``; None makes one with :func:`new_model`.
        objective: "nsp" (MLM + NSP, as BERT), "sop" (MLM + sentence order, as ALBERT) or "mlm" (MLM only).
        steps: optimizer steps; warm-up over the first ``warmup`` fraction, then linear decay to 0.
        time_budget: stop early after this many seconds of training (evaluation time excluded).
        stop_after: stop after this many steps, keeping the schedule of ``steps``: the first ``stop_after`` steps
            are those of the full run (so a short live run can be checked against a shipped log).
        callback: called with the TrainResult after every evaluation (e.g. a ``views.LivePlot``).
        device: where to train.

    Returns:
        TrainResult with the model in eval mode, the history and the evaluations.
    """
    from tqdm.auto import tqdm

    check_objective(objective)
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be positive, got {steps} and {batch_size}.")
    dev = torch.device(device)
    if tokenizer is None:
        tokenizer = train_tokenizer(corpus.texts("train"))
    if model is None:
        model = new_model(tokenizer, seed=seed)
    if stop_after is not None and not 1 <= stop_after <= steps:
        raise ValueError(f"stop_after must be between 1 and steps={steps}, got {stop_after}.")
    model.to(dev).train()
    layout = layout_of(model)
    eval_objective = "nsp" if objective == "mlm" else objective
    held = make_pairs(corpus.heldout, eval_objective, seed=seed)[:eval_pairs]
    evalset = EvalSet(tokenizer, held, objective, layout=layout)

    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "LayerNorm" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "LayerNorm" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    n_warm = max(1, int(warmup * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / n_warm if s < n_warm else max(0.0, (steps - s) / max(1, steps - n_warm)))
    gen = torch.Generator().manual_seed(seed)
    rng = random.Random(f"batches-{seed}")
    specials, mask_id, vocab = special_ids(tokenizer), tokenizer.mask_token_id, len(tokenizer)
    result = TrainResult(model=model, tokenizer=tokenizer, objective=objective,
                         settings=dict(objective=objective, steps=steps, batch_size=batch_size, lr=lr, warmup=warmup,
                                       weight_decay=weight_decay, seed=seed, eval_every=eval_every,
                                       eval_pairs=len(held), n_train_docs=len(corpus.train),
                                       n_heldout_docs=len(corpus.heldout), corpus_seed=corpus.seed))
    if layout != "start":
        result.settings["layout"] = layout
    last = steps if stop_after is None else stop_after

    def run_eval(step: int, seconds: float, tokens: int) -> None:
        result.evals.append({"step": step, "seconds": round(seconds, 3), "tokens": tokens, **evalset.evaluate(model)})
        if callback is not None:
            callback(result)

    run_eval(0, 0.0, 0)
    step, epoch, tokens, train_s = 0, 0, 0, 0.0
    bar = tqdm(total=steps, desc=f"pretrain ({objective})", disable=not progress, leave=False)
    while step < last:
        rows = encode_pairs(tokenizer, make_pairs(corpus.train, objective, seed=seed * 1000 + epoch), layout=layout)
        for rows_b in _batches(rows, batch_size, rng):
            t0 = time.perf_counter()
            batch = collate(rows_b, tokenizer.pad_token_id)
            ids, labels = mask_tokens(batch["input_ids"], specials, mask_id, vocab, gen)
            batch["input_ids"] = ids
            batch = {k: v.to(dev) for k, v in batch.items()}
            r = pretraining_losses(model, batch, labels.to(dev), objective)
            opt.zero_grad(set_to_none=True)
            r["loss"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            n_tok = int(batch["attention_mask"].sum())
            tokens += n_tok
            train_s += time.perf_counter() - t0
            entry = {"step": step, "seconds": round(train_s, 3), "tokens": tokens, "loss": float(r["loss"].detach()),
                     "mlm_loss": float(r["mlm_loss"].detach()), "lr": sched.get_last_lr()[0]}
            if "pair_loss" in r:
                entry["pair_loss"] = float(r["pair_loss"].detach())
            result.history.append(entry)
            bar.update(1)
            bar.set_postfix(loss=f"{entry['loss']:.3f}")
            out_of_time = time_budget is not None and train_s >= time_budget
            if step % eval_every == 0 or step == last or out_of_time:
                run_eval(step, train_s, tokens)
            if step >= last or out_of_time:
                break
        epoch += 1
        if time_budget is not None and train_s >= time_budget:
            break
    bar.close()
    if result.evals[-1]["step"] != step:
        run_eval(step, train_s, tokens)
    result.settings["steps_done"] = step
    model.eval()
    return result


# ----------------------------------------------------------------------------- checkpoints


def save_checkpoint(result: TrainResult, folder: str | Path, metrics: dict | None = None) -> Path:
    """Save model (safetensors + config.json), tokenizer files, train_log.json and metrics.json to ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    result.model.save_pretrained(folder)
    result.tokenizer.save_pretrained(folder)
    log = {"objective": result.objective, "settings": result.settings, "evals": result.evals,
           "history": result.history}
    (folder / "train_log.json").write_text(json.dumps(log, indent=1) + "\n")
    final = dict(result.final)
    final.update(metrics or {})
    final["objective"] = result.objective
    (folder / "metrics.json").write_text(json.dumps(final, indent=2, sort_keys=True) + "\n")
    return folder


def wrap(model, tokenizer, name: str = "in-memory mini-BERT"):
    """A :class:`helpers.LoadedModel` around an in-memory model, so encode()/embed() work on it."""
    return from_module(model, tokenizer, name=name)


# ----------------------------------------------------------------------------- command line


def train_variant(corpus: Corpus, tokenizer, objective: str, recipe: dict, progress: bool = True,
                  callback=None, layout: str = "start", stop_after: int | None = None) -> TrainResult:
    """Train one model of the recipe with ``objective`` (same corpus, tokenizer, seed, steps) reading ``layout``."""
    model = new_model(tokenizer, seed=recipe["seed"], layout=layout,
                      **{k: recipe[k] for k in ("layers", "width", "heads", "intermediate", "max_positions", "dropout")})
    return pretrain(corpus, tokenizer, model, objective=objective, steps=recipe["steps"], batch_size=recipe["batch_size"],
                    lr=recipe["lr"], warmup=recipe["warmup"], weight_decay=recipe["weight_decay"], seed=recipe["seed"],
                    eval_every=recipe["eval_every"], eval_pairs=recipe["eval_pairs"], progress=progress,
                    callback=callback, stop_after=stop_after)


def _print_eval(result: TrainResult) -> None:
    e = result.evals[-1]
    task = task_name(result.objective)
    extra = f", {task.upper()} acc {e[task + '_acc']:.3f}" if task else ""
    print(f"  [{result.objective}] step {e['step']:>5}  {e['seconds']:7.1f} s  MLM acc {e['mlm_acc']:.3f}{extra}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m helpers.lessons.nsp_pretraining --out data/mini-bert``: train and save the NSP model and its SOP / MLM-only twins."""
    parser = argparse.ArgumentParser(prog="python -m helpers.lessons.nsp_pretraining", description="Pretrain the course's mini-BERT (MLM + NSP) on the generated corpus.")
    parser.add_argument("--out", default=str(config.LOCAL_MODELS["mini-bert"]), help="output folder")
    parser.add_argument("--seed", type=int, default=RECIPE["seed"])
    parser.add_argument("--steps", type=int, default=RECIPE["steps"])
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: bit-for-bit reproducible, and fastest on a busy 2-core machine)")
    parser.add_argument("--no-variants", action="store_true", help="skip the SOP and MLM-only models")
    parser.add_argument("--twins", action="store_true",
                        help="instead: pretrain the position twins (every layout x seeds 0, 1; notebook 04) and write "
                             "data/results/position_twins.json")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for --twins (1 thread each)")
    args = parser.parse_args(argv)
    if args.twins:
        from .twins import run_twins

        out = None if args.out == str(config.LOCAL_MODELS["mini-bert"]) else args.out
        data = run_twins(steps=args.steps, jobs=args.jobs, out_root=out, results_dir=None if out is None else out,
                         progress=sys.stderr.isatty())
        print(f"position twins: {data['provenance']['wall_seconds']:.0f} s wall")
        return 0
    torch.set_num_threads(args.threads)
    recipe = dict(RECIPE, seed=args.seed, steps=args.steps)
    corpus = make_corpus(recipe["n_train_docs"], recipe["n_heldout_docs"], seed=recipe["seed"])
    tokenizer = train_tokenizer(corpus.texts("train"), recipe["vocab_size"], recipe["max_positions"])
    print(corpus, f"vocabulary {len(tokenizer)}")
    kinds = ["nsp"] if args.no_variants else ["nsp", "sop", "mlm"]
    trained = {}
    for kind in kinds:
        t0 = time.perf_counter()
        res = train_variant(corpus, tokenizer, kind, recipe, progress=sys.stderr.isatty(), callback=_print_eval)
        folder = config.mini_bert_dir(kind, args.out)
        extra = {"wall_seconds": round(time.perf_counter() - t0, 1), "torch": torch.__version__,
                 "threads": torch.get_num_threads(), "recipe": recipe}
        save_checkpoint(res, folder, extra)
        trained[kind] = res
        print(f"{kind}: {json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in res.final.items()})}"
              f" -> {folder}")
    if {"nsp", "sop"} <= set(trained):
        lms = {f"{k.upper()}-trained": wrap(trained[k].model, tokenizer, k) for k in ("nsp", "sop")}
        table = order_table(lms, corpus.heldout)
        path = Path(args.out) / "metrics.json"
        metrics = json.loads(path.read_text())
        metrics["order_table"] = table
        path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
        print("order table:", json.dumps(table))
    return 0

