"""Every published figure the course prints, with its source: one registry, nothing retyped in a notebook.

Each :class:`Reference` holds the values as the paper reports them, the paper, and the table, figure
or section they come from. Notebooks print them with :func:`cite` (a sentence with its source) or read a
value with :func:`value`; a test checks that no notebook types one of these numbers itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reference:
    """A published result.

    Attributes:
        key: the registry key.
        values: name -> number, as published (percentages stay percentages, accuracies 0..1 stay so).
        text: one sentence saying what was measured, with ``{name}`` fields for the values.
        source: authors, year and title.
        where: table, figure or section.
        about: what it was measured on (model, data), to say when a comparison with ours is fair.
        extra: anything else a plot needs (e.g. the layers a level applies to).
    """

    key: str
    values: dict
    text: str
    source: str
    where: str
    about: str = ""
    extra: dict = field(default_factory=dict)

    def sentence(self) -> str:
        """The text with the values filled in."""
        return self.text.format(**self.values)

    def __str__(self) -> str:
        return f"{self.sentence()} ({self.source}, {self.where})"


_CLARK = "Clark et al. 2019, What Does BERT Look At? An Analysis of BERT's Attention"
_BERT = "Devlin et al. 2019, BERT: Pre-training of Deep Bidirectional Transformers"
_ALBERT = "Lan et al. 2020, ALBERT: A Lite BERT for Self-supervised Learning of Language Representations"
_SBERT = "Reimers & Gurevych 2019, Sentence-BERT"
_ALAMMAR = "Alammar 2019, A Visual Guide to Using BERT for the First Time"

_ALL = [
    # --- attention (notebook 03)
    Reference("clark_cls", {"level": 0.25}, "about a quarter of all attention goes to [CLS] in layers 2-3",
              _CLARK, "section 3, figure 2", "bert-base-uncased", {"layers": (2, 3)}),
    Reference("clark_sep", {"level": 0.5}, "over half of all attention goes to [SEP] in layers 6-10",
              _CLARK, "section 3, figure 2", "bert-base-uncased", {"layers": (6, 10)}),
    Reference("clark_punct", {"level": 0.5}, "over half goes to periods and commas in the last layer (12)",
              _CLARK, "section 3, figure 2", "bert-base-uncased", {"layers": (12, 12)}),
    Reference("clark_noop", {}, "attention to [SEP] (and [CLS]) works as a no-op: a head with nothing to do "
              "points there, and the gradient of the loss with respect to that attention is small",
              _CLARK, "sections 3.1-3.2", "bert-base-uncased"),
    Reference("clark_head_8_10", {}, "in head 8-10, direct objects attend to their verbs", _CLARK,
              "section 4, figure 5", "bert-base-uncased"),
    Reference("kovaleva_vertical", {}, "many heads show a vertical pattern: every token attends to the same "
              "token, mostly [CLS] or [SEP]", "Kovaleva et al. 2019, Revealing the Dark Secrets of BERT",
              "section 4.1, figure 1", "bert-base-uncased"),
    Reference("kobayashi_norms", {}, "weighting attention by the norm of the transformed value vectors shows that "
              "the large weights on [CLS], [SEP] and punctuation carry small vectors, so they contribute little",
              "Kobayashi et al. 2020, Attention is Not Only a Weight: Analyzing Transformers with Vector Norms",
              "section 4", "bert-base-uncased"),
    Reference("xiao_attention_sinks", {}, "models put large attention on the first token whatever it means (an "
              "attention sink): softmax weights must go somewhere when a head has nothing to read",
              "Xiao et al. 2024, Efficient Streaming Language Models with Attention Sinks", "section 3.1",
              "autoregressive LLMs"),
    Reference("sun_massive_activations", {}, "a handful of activations are orders of magnitude larger than the rest, "
              "act as fixed biases and concentrate attention on their tokens",
              "Sun et al. 2024, Massive Activations in Large Language Models", "sections 2-4", "LLMs and BERT-style models"),
    Reference("kovaleva_outlier_dims", {}, "a few outlier dimensions of BERT's LayerNorm outputs, shared by every "
              "token, are vital: disabling them breaks the model",
              "Kovaleva et al. 2021, BERT Busters: Outlier Dimensions that Disrupt Transformers", "sections 3-4",
              "BERT-family models"),
    # --- pretraining (notebook 04)
    Reference("bert_nsp_accuracy", {"low": 97, "high": 98}, "the final model reaches {low}-{high}% accuracy on NSP",
              _BERT, "section 3.1", "BERT-base and BERT-large"),
    Reference("albert_order_table", {"nsp_on_nsp": 90.5, "nsp_on_sop": 52.0, "sop_on_nsp": 78.9, "sop_on_sop": 86.5},
              "accuracy on intrinsic tasks: NSP-trained {nsp_on_nsp}% NSP / {nsp_on_sop}% SOP; SOP-trained "
              "{sop_on_nsp}% NSP / {sop_on_sop}% SOP", _ALBERT, "Table 5", "ALBERT-base"),
    Reference("bert_no_nsp_qnli", {"with": 88.4, "without": 84.9},
              "dropping NSP cost {with} -> {without} on QNLI, less on the other tasks", _BERT, "Table 5", "BERT-base"),
    Reference("roberta_no_nsp", {}, "RoBERTa dropped NSP and matched or beat BERT without it",
              "Liu et al. 2019, RoBERTa: A Robustly Optimized BERT Pretraining Approach", "section 4.2", "RoBERTa"),
    Reference("bert_cls_name", {}, "\"the first token of every sequence is always a special classification token "
              "([CLS])\"", _BERT,
              "section 3, Input/Output Representations", "BERT"),
    Reference("bert_cls_footnote", {},
              "the vector C \"is not a meaningful sentence representation without fine-tuning, since it was "
              "trained with NSP\"", _BERT, "section 3, the footnote on C", "BERT"),
    Reference("electra_no_nsp", {}, "ELECTRA pretrains without NSP (replaced-token detection) and fine-tunes its "
              "first token for classification", "Clark et al. 2020, ELECTRA: Pre-training Text Encoders as "
              "Discriminators Rather Than Generators", "sections 3-4", "ELECTRA", {"where": "first"}),
    Reference("distilbert_init", {}, "DistilBERT is initialised from BERT (one layer of two) and trained with a "
              "distillation loss, MLM and a cosine loss between the student's and the teacher's hidden states; "
              "the token-type embeddings, the pooler and NSP are removed",
              "Sanh et al. 2019, DistilBERT, a distilled version of BERT", "section 3", "DistilBERT"),
    # --- frozen features and pooling (notebooks 05, 06)
    Reference("alammar_sst2_frozen", {"accuracy": 0.82, "dummy": 0.53},
              "a logistic regression on frozen DistilBERT [CLS] vectors of 2,000 SST-2 sentences scores {accuracy} "
              "(dummy baseline {dummy})", _ALAMMAR, "the logistic-regression section", "DistilBERT, SST-2"),
    Reference("alammar_sst2_finetuned", {"distilbert": 90.7, "bert": 94.9},
              "fine-tuned on SST-2: DistilBERT {distilbert}, BERT {bert}", _ALAMMAR, "the closing section",
              "DistilBERT and BERT, SST-2"),
    Reference("sbert_sts", {"mean": 54.81, "cls": 29.19},
              "STS, average Spearman x 100, BERT-base without similarity training: mean of the outputs {mean}, "
              "[CLS] vector {cls}", _SBERT, "Table 1", "bert-base-uncased"),
    Reference("sbert_senteval", {"mean": 84.94, "cls": 84.66},
              "SentEval, logistic regression on frozen BERT-base vectors: mean {mean}, [CLS] {cls}", _SBERT,
              "Table 5", "bert-base-uncased"),
    Reference("sbert_pooling_ablation",
              {"mean_nli": 80.78, "max_nli": 79.07, "cls_nli": 79.80, "mean_sts": 87.44, "max_sts": 69.92,
               "cls_sts": 86.62},
              "pooling ablation on STSb (NLI-trained / STSb-trained): MEAN {mean_nli:.2f} / {mean_sts:.2f}, "
              "MAX {max_nli:.2f} / {max_sts:.2f}, CLS {cls_nli:.2f} / {cls_sts:.2f}", _SBERT, "Table 6", "SBERT on BERT-base"),
    Reference("raschka_gpt2_token", {"last": 95.00, "first": 75.00},
              "a GPT-2 small spam classifier reading the last token scores {last:.2f}%, reading the first token {first:.2f}%",
              "Raschka 2024, Build a Large Language Model (From Scratch)", "chapter 6", "GPT-2 small"),
    # --- where models put their summary token (notebook 02); where a transformers config carries it, the
    # course reads the config instead (helpers.core.summary_tokens)
    Reference("bert_first_token", {}, "[CLS] is the first token of every sequence; its final hidden state C is the "
              "aggregate representation used for classification", _BERT, "section 3", "BERT", {"where": "first"}),
    Reference("roberta_first_token", {}, "RoBERTa fine-tunes on its first token <s>, as BERT on [CLS], with no NSP",
              "Liu et al. 2019, RoBERTa: A Robustly Optimized BERT Pretraining Approach", "sections 3-4", "RoBERTa",
              {"where": "first"}),
    Reference("albert_first_token", {}, "ALBERT keeps BERT's [CLS] at the start and trains it with sentence-order "
              "prediction", _ALBERT, "section 4", "ALBERT", {"where": "first"}),
    Reference("gpt_last_token", {}, "GPT classifies from the last token of the input (an extract token at the end), "
              "the only position a left-to-right model has let see the whole input",
              "Radford et al. 2018, Improving Language Understanding by Generative Pre-Training", "section 3.3",
              "GPT", {"where": "last"}),
    Reference("gpt2_last_non_pad", {}, "transformers' GPT-2 sequence classifier reads the last token that is not "
              "padding in each row (the last token when no pad token is set)",
              "Hugging Face transformers documentation, GPT2ForSequenceClassification", "class description",
              "GPT-2 and other causal models", {"where": "last_non_pad"}),
    Reference("modernbert_mean_option", {}, "ModernBERT's classifier_pooling setting takes \"cls\" (the default) "
              "or \"mean\"", "Hugging Face transformers documentation, ModernBertConfig", "classifier_pooling",
              "ModernBERT", {"where": "mean"}),
    Reference("sbert_mean_pooling", {}, "Sentence-BERT's default is the MEAN of the output vectors", _SBERT,
              "section 3", "SBERT", {"where": "mean"}),
    Reference("simcse_cls", {}, "SimCSE trains [CLS] (with an MLP on top during training) with a contrastive "
              "objective and uses it as the sentence embedding",
              "Gao et al. 2021, SimCSE: Simple Contrastive Learning of Sentence Embeddings", "section 6.3",
              "SimCSE", {"where": "first"}),
    Reference("vit_class_token", {}, "ViT prepends a learnable class token to the patches and classifies from its "
              "output", "Dosovitskiy et al. 2021, An Image is Worth 16x16 Words", "section 3.1", "ViT",
              {"where": "first"}),
    # --- recovering the sentence (notebook 07)
    Reference("song2020_inversion", {"low": 50, "high": 70},
              "inversion of sentence embeddings recovered {low}-{high}% of the input words",
              "Song & Raghunathan 2020, Information Leakage in Embedding Models", "the embedding-inversion experiments",
              "several sentence encoders"),
    Reference("vec2text_exact", {"exact": 92, "tokens": 32},
              "{exact}% of {tokens}-token inputs recovered exactly from GTR-base embeddings, with iterative correction",
              "Morris et al. 2023, Text Embeddings Reveal (Almost) As Much As Text", "Table 1", "GTR-base"),
]

#: key -> Reference, every published figure the course prints.
REFERENCES: dict[str, Reference] = {r.key: r for r in _ALL}


def get(key: str) -> Reference:
    """The Reference for ``key``; a clear error listing the keys otherwise."""
    try:
        return REFERENCES[key]
    except KeyError:
        raise KeyError(f"No reference {key!r}; the registry has {sorted(REFERENCES)}.") from None


def value(key: str, name: str):
    """One published number, e.g. ``value("sbert_sts", "cls")``."""
    ref = get(key)
    if name not in ref.values:
        raise KeyError(f"Reference {key!r} has no value {name!r}; it has {sorted(ref.values)}.")
    return ref.values[name]


def cite(key: str) -> str:
    """The sentence with its values and source, ready to print."""
    return str(get(key))
