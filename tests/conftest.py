"""Shared fixtures: a tiny random BERT saved to a temp dir, and the embedded model.

Tests never download: the hub is switched off for the whole session, and the tiny model
goes through the same from_pretrained path a hub snapshot takes.
"""

from __future__ import annotations

import os
import socket
import string

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.pop("CLS_MODEL", None)

WORDS = (
    "the a an and or but not no is was are be it this that film movie story plot actor acting "
    "good great bad awful boring fun long short ending music scene hello world ok very really "
    "i you we they love hate liked watch watched time two hours never again best worst"
).split()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (the OS picks it, then it is released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def blobs(n: int, width: int, gap: float = 3.0, seed: int = 0):
    """Two classes of Gaussian points, alternating labels, separated by ``gap`` along the first axis."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.normal(size=(n, width))
    x[:, 0] += gap * y
    return x, y


def tiny_vocab() -> dict[str, int]:
    """A small WordPiece vocabulary that can spell any ASCII text (letters, digits, punctuation)."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab = specials + chars + ["##" + c for c in string.ascii_lowercase + string.digits] + WORDS
    return {token: i for i, token in enumerate(dict.fromkeys(vocab))}


def build_tiny(folder, heads: str = "pretraining", max_positions: int = 64) -> str:
    """Save a random 2-layer, 2-head, width-16 BERT (with the given heads) and its tokenizer to ``folder``."""
    import torch
    from transformers import BertConfig, BertForPreTraining, BertModel, BertTokenizerFast

    os.makedirs(folder, exist_ok=True)
    tok = BertTokenizerFast(vocab=tiny_vocab(), do_lower_case=True, model_max_length=max_positions)
    cfg = BertConfig(
        vocab_size=len(tok),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=max_positions,
    )
    torch.manual_seed(0)
    model = BertForPreTraining(cfg) if heads == "pretraining" else BertModel(cfg)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> str:
    return build_tiny(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny(tiny_dir):
    from helpers import load_model

    return load_model(tiny_dir, device="cpu")


@pytest.fixture(scope="session")
def embedded():
    from helpers import load_model

    return load_model("embedded", device="cpu")


@pytest.fixture(params=["tiny", "embedded"], scope="session")
def any_model(request):
    """Each test using this runs on the tiny random model and on the embedded one."""
    return request.getfixturevalue(request.param)
