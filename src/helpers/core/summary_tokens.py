"""Where models put their summary token: read from the installed transformers configs where they carry it,
from the references registry otherwise.

A bidirectional encoder lets every position see every token in every layer, so which position becomes the
summary is a convention; a left-to-right decoder must read its last token, the only one that has seen the
whole input. The table shows the conventions side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import references

#: (model, transformers config class, attribute) for the models whose config says where the summary is read.
CONFIG_FIELDS = (
    ("XLNet", "XLNetConfig", "summary_type"),
    ("ELECTRA", "ElectraConfig", "summary_type"),
    ("XLM", "XLMConfig", "summary_type"),
    ("GPT-2 (double heads)", "GPT2Config", "summary_type"),
    ("ModernBERT", "ModernBertConfig", "classifier_pooling"),
)
#: What a config value means, in the words of the table.
MEANING = {"first": "first token", "cls": "first token ([CLS])", "last": "last token", "mean": "mean of the tokens",
           "cls_index": "a given token (in practice the last one)", "attn": "attention over the tokens",
           "last_non_pad": "last token that is not padding"}
#: (model, registry key) for the rest.
REGISTRY_ROWS = (
    ("BERT", "bert_first_token"),
    ("RoBERTa", "roberta_first_token"),
    ("ALBERT", "albert_first_token"),
    ("GPT", "gpt_last_token"),
    ("GPT-2 (sequence classifier)", "gpt2_last_non_pad"),
    ("ModernBERT (its other option)", "modernbert_mean_option"),
    ("Sentence-BERT", "sbert_mean_pooling"),
    ("SimCSE", "simcse_cls"),
    ("ViT", "vit_class_token"),
)


@dataclass(frozen=True)
class SummaryToken:
    """One row: the model, where it reads its summary, and where that fact comes from."""

    model: str
    where: str
    source: str


def summary_token_table() -> list[SummaryToken]:
    """Every row, config-derived ones first; a config the installed transformers lacks is left out."""
    import transformers

    rows = []
    for model, cls_name, attr in CONFIG_FIELDS:
        cls = getattr(transformers, cls_name, None)
        if cls is None:
            continue
        value = getattr(cls(), attr, None)
        if value is None:
            continue
        rows.append(SummaryToken(model, MEANING.get(value, str(value)),
                                 f"transformers {transformers.__version__}: {cls_name}().{attr} = {value!r}"))
    for model, key in REGISTRY_ROWS:
        ref = references.get(key)
        rows.append(SummaryToken(model, MEANING[ref.extra["where"]], f"{ref.source}, {ref.where}"))
    return rows


def format_table(rows: list[SummaryToken]) -> str:
    """A plain-text table of :func:`summary_token_table`."""
    width = max(len(r.model) for r in rows)
    where = max(len(r.where) for r in rows)
    lines = [f"{'model':<{width}}  {'summary read from':<{where}}  source", "-" * (width + where + 40)]
    lines += [f"{r.model:<{width}}  {r.where:<{where}}  {r.source}" for r in rows]
    return "\n".join(lines)
