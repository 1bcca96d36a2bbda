"""Notebook 04, pretraining [CLS]: a mini-BERT trained on CPU with MLM + NSP (and its SOP / MLM-only twins).

Modules, one job each:
    * :mod:`.corpus` - the seeded generator of small coherent documents (the offline pretraining corpus);
    * :mod:`.recipe` - objectives, pair labels, special tokens and the training recipe;
    * :mod:`.pairs` - the vocabulary, sentence pairs, their encoding, batches and MLM masking;
    * :mod:`.training` - the model, the losses, the training loop, held-out evaluation, checkpoints, the CLI;
    * :mod:`.analysis` - P(IsNext), pair accuracy, ALBERT's order table, the introduction split, [CLS] probes,
      what [CLS] reads (its row) and how much others read it (its column), the topic of a story sentence;
    * :mod:`.findings` - the "With this model we found: ..." sentences, built from a run's numbers;
    * :mod:`.views` - training curves (live too), probe bars, what [CLS] reads, how much others read [CLS],
      the NSP explorer;
    * :mod:`.checks` - the Try-it checks;
    * :mod:`.twins` - the position twins: every pair layout pretrained with the same recipe and seeds
      (``make mini-bert-twins``); their shipped results are read by ``helpers.core.position_twins``;
    * :mod:`.real_model` - before and after NSP on a real English model: the embedded MiniLM against
      ``minilm-nsp`` (trained by ``helpers.core.continued_nsp``, ``make minilm-nsp``).

Rebuild the shipped checkpoint with ``python -m helpers.lessons.nsp_pretraining --out data/mini-bert``
(``make mini-bert``). Its folders are ``helpers.core.config.mini_bert_dir("nsp" | "sop" | "mlm")``.
"""

from .analysis import (
    REFERENCE_KEYS,
    TRANSFER_LEVEL,
    cls_attention_rows,
    cls_row_stats,
    intro_split,
    nsp_verdict,
    order_table,
    p_is_next,
    pair_accuracy,
    probe_pairs,
    topic_probe,
    topic_split,
    transfer_word,
)
from .checks import MASK_RATE, check_masked_count, check_order_guess, check_twin_guess
from .corpus import TOPICS, Corpus, Document, make_corpus
from .findings import (
    COLUMN_TOLERANCE,
    SELECTIVE_DROP,
    SPECIFIC_DROP,
    albert_finding,
    cls_row_finding,
    format_cls_rows,
    intro_finding,
    probe_finding,
    topic_finding,
    training_finding,
)
from .pairs import (
    Pair,
    collate,
    encode_pairs,
    make_pairs,
    mask_tokens,
    special_ids,
    topic_pairs,
    train_tokenizer,
)
from .real_model import ModelProfile, before_after, before_after_finding, comparisons, format_before_after, profile
from .recipe import (
    IGNORE,
    IS_NEXT,
    NOT_NEXT,
    OBJECTIVES,
    QUICK_RECIPE,
    RECIPE,
    SPECIAL_TOKENS,
    task_name,
)
from .training import (
    EvalSet,
    TrainResult,
    layout_of,
    main,
    make_config,
    new_model,
    pretrain,
    pair_logits,
    pretraining_losses,
    save_checkpoint,
    train_variant,
    wrap,
)
from .twins import corpus_and_tokenizer, heldout_correct, run_twins, story_corpus_hash, twin_dir
from .views import (
    LAYOUT_COLOURS,
    LivePlot,
    build_nsp_explorer,
    draw_before_after,
    draw_cls_row,
    draw_history,
    draw_nsp_curve,
    draw_others_read_cls,
    draw_probes,
    draw_twin_curves,
)

__all__ = [
    "COLUMN_TOLERANCE", "Corpus", "Document", "EvalSet", "IGNORE", "IS_NEXT", "LivePlot", "MASK_RATE", "NOT_NEXT",
    "OBJECTIVES", "Pair", "QUICK_RECIPE", "RECIPE", "REFERENCE_KEYS", "SELECTIVE_DROP", "SPECIAL_TOKENS",
    "SPECIFIC_DROP", "TOPICS", "TRANSFER_LEVEL", "TrainResult", "albert_finding", "build_nsp_explorer",
    "check_masked_count", "check_order_guess", "cls_attention_rows", "cls_row_finding", "cls_row_stats", "collate",
    "draw_cls_row", "draw_history", "draw_others_read_cls", "draw_probes", "encode_pairs", "format_cls_rows",
    "intro_finding", "intro_split", "main", "make_config", "make_corpus", "make_pairs", "mask_tokens", "new_model",
    "nsp_verdict", "order_table", "p_is_next", "pair_accuracy", "pretrain", "pretraining_losses", "probe_finding",
    "probe_pairs", "save_checkpoint", "special_ids", "task_name", "topic_finding", "topic_pairs", "topic_probe",
    "topic_split", "train_tokenizer", "train_variant", "training_finding", "transfer_word", "wrap",
    "LAYOUT_COLOURS", "ModelProfile", "check_twin_guess", "before_after", "before_after_finding", "comparisons",
    "corpus_and_tokenizer", "draw_before_after", "draw_nsp_curve", "draw_twin_curves", "format_before_after",
    "heldout_correct", "layout_of", "pair_logits", "profile", "run_twins", "story_corpus_hash", "twin_dir",
]
