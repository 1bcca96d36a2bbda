"""The settings every part of the lesson shares: objectives, pair labels, special tokens and the training recipe.

Label convention (the one transformers uses for ``next_sentence_label``): 0 = B really follows A
(IsNext, or "in order" for SOP), 1 = B does not follow A (NotNext, or "swapped").
"""

from __future__ import annotations

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
OBJECTIVES = ("nsp", "sop", "mlm")
IS_NEXT, NOT_NEXT = 0, 1
IGNORE = -100

#: The recipe of the shipped checkpoint (``python -m helpers.lessons.nsp_pretraining``); notebook 04 and the
#: bench use it too.
RECIPE = {
    "seed": 0,
    "n_train_docs": 3000,
    "n_heldout_docs": 400,
    "vocab_size": 1200,
    "layers": 2,
    "width": 64,
    "heads": 2,
    "intermediate": 256,
    "max_positions": 128,
    "dropout": 0.0,
    "batch_size": 32,
    "lr": 2e-3,
    "warmup": 0.06,
    "weight_decay": 0.01,
    "steps": 7000,
    "eval_every": 250,
    "mask_rate": 0.15,
    "eval_pairs": 1024,
}

#: Where the pair head reads, for the position twins (issue 13): the core's table, shared with notebook 02.
from ...core.position_twins import NSP_LEVEL, PAIR_LAYOUTS, TWIN_SEEDS, check_layout  # noqa: E402

#: Quick mode (CLS_QUICK=1): the same recipe, trained only briefly.
QUICK_RECIPE = dict(RECIPE, steps=200, eval_every=50, eval_pairs=256)


def check_objective(objective: str) -> str:
    """``objective`` itself when it is one of :data:`OBJECTIVES`; a ValueError naming them otherwise."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}.")
    return objective


def task_name(objective: str) -> str:
    """The pair task an objective trains: "nsp" -> "nsp", "sop" -> "sop", "mlm" -> "" (none)."""
    return "" if check_objective(objective) == "mlm" else objective

