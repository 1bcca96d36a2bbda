"""One concept, one definition, checked where the notebooks show it.

"Attention into [CLS]" appears in notebooks 03, 04 and 06 as two named quantities of the core
(helpers.core.attention): what [CLS] reads (its row) and how much others read [CLS] (its column). Each
notebook (or the lesson module it calls) must compute them with those functions, and on the same input the
lesson-level summaries must give exactly the core's numbers. The same for the other shared concepts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from helpers import encode
from helpers.core import attention as A

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "src" / "helpers" / "lessons"


def _notebook_code(stem: str) -> str:
    nb = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def _lesson_code(slug: str) -> str:
    path = LESSONS / slug
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
    return "\n".join(f.read_text() for f in files)


#: notebook -> the core attention quantities it shows
SHOWN = {
    "03_attention_into_cls": ("what_cls_reads",),
    "04_nsp_pretraining": ("how_much_others_read_cls",),
    "06_cls_vs_pooling": ("what_cls_reads", "how_much_others_read_cls"),
}


@pytest.mark.parametrize("stem", SHOWN)
def test_attention_into_cls_comes_from_the_core(stem):
    code = _notebook_code(stem) + _lesson_code(stem.split("_", 1)[1])
    for name in SHOWN[stem]:
        assert re.search(rf"\b{name}\(", code), f"{stem} shows {name} but does not call helpers.core.attention.{name}"
    # the definitions that were deleted stay deleted
    for old in ("cls_attention_share", "def cls_attention(", "def _categories("):
        assert old not in code, f"{stem} still has {old}: use helpers.core.attention"


def test_lesson_summaries_equal_the_core_on_the_same_input(embedded):
    from helpers.lessons.cls_vs_pooling import cls_attention_profile

    texts = ["the film was good .", "a bad , boring story … sadly", "i love this movie !"]
    cube = encode(embedded, texts, hidden_states=False, attentions=True)
    profile = cls_attention_profile(embedded, texts)
    core_reads = A.layer_means(A.what_cls_reads(cube, embedded))
    for kind, values in core_reads.items():
        np.testing.assert_allclose(profile.reads[kind], values, atol=1e-7)
    np.testing.assert_allclose(profile.others_read_cls, A.how_much_others_read_cls(cube, embedded).mean(-1), atol=1e-7)
    # 03's per-kind shares over every token are the same function with query="all"
    every = A.cube_shares(cube, embedded, "all")
    assert set(every) == set(core_reads)


def test_mean_cosine_between_sentences_is_one_function(embedded):
    from helpers.core.stats import alikeness
    from helpers.lessons.cls_vs_pooling import retrieval_scores

    rng = np.random.default_rng(1)
    x = rng.normal(size=(12, 8)) + 2.0
    labels = np.arange(12) % 3
    assert retrieval_scores(x, labels, k=2)["mean cosine"] == pytest.approx(alikeness(x))
