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

#: Where the pair head reads, for the position twins (issue 13): layout -> (how a pair is laid out, the name
#: load_model() knows the shipped twin by). "start" is BERT's layout and the shipped mini-BERT's; "last" is
#: XLNet's; "middle" puts [CLS] after the first segment; "none" has no [CLS] and reads the masked mean of the
#: last layer (the same pooler and NSP head follow in every layout).
PAIR_LAYOUTS = {
    "start": ("[CLS] A [SEP] B [SEP]", "mini-bert"),
    "last": ("A [SEP] B [SEP] [CLS]", "mini-bert-cls-last"),
    "middle": ("A [SEP] [CLS] B [SEP]", "mini-bert-cls-middle"),
    "none": ("A [SEP] B [SEP], mean", "mini-bert-no-cls"),
}
#: The seeds every layout is pretrained with (the corpus and vocabulary stay those of seed 0).
TWIN_SEEDS = (0, 1)
#: "Time to 0.90": the first evaluation at which held-out NSP accuracy reaches this.
NSP_LEVEL = 0.90

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


def check_layout(layout: str) -> str:
    """``layout`` itself when it is a key of :data:`PAIR_LAYOUTS`; a ValueError naming them otherwise."""
    if layout not in PAIR_LAYOUTS:
        raise ValueError(f"layout must be one of {tuple(PAIR_LAYOUTS)}, got {layout!r}.")
    return layout
