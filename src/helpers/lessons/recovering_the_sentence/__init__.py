"""Notebook 07 · Can the sentence be read back from one vector? Helpers for a bag-of-words inversion probe,
its error bars, nearest-neighbour recovery, and a word-order test.

Five parts: :mod:`.experiments` (compute: content words, the probe and its baseline, splits and their error
bars, nearest neighbours), :mod:`.order` (compute: original against word-shuffled sentences),
:mod:`.findings` (the "With this model we found" sentences, from the numbers), :mod:`.views` (``draw_*``
Figures) and :mod:`.checks` (the Try-it checks). The published attacks the notebook compares with are in
:mod:`helpers.core.references` (``song2020_inversion``, ``vec2text_exact``); [CLS]'s largest coordinate is
:func:`helpers.core.geometry.massive_by_layer`.
"""

from __future__ import annotations

from .checks import (
    LAYER0_REASONS,
    SAME_VECTOR_TOL,
    SMALL_F1_GAP,
    check_beats_baseline,
    check_knows_order,
    check_layer0_why,
    check_leakier,
)
from .experiments import (
    CLITICS,
    FILLER_WORDS,
    InversionProbe,
    SplitStudy,
    bag_of_words,
    build_vocabulary,
    content_words,
    fit_inversion_probe,
    format_split_table,
    frequent_words_baseline,
    inversion_by_layer,
    inversion_over_splits,
    left_out_words,
    nearest_neighbour_recovery,
    neighbour_words,
    split_difference,
    split_verdict,
    prf,
    recovered_words,
    split_indices,
)
from .findings import (
    PARKING_SHARE,
    RECOVERY_HOLDS_AT,
    SAME_DIRECTION_ABOVE,
    format_cls_geometry,
    found_cosine_vs_probe,
    found_inversion,
    found_noise,
    found_word_order,
)
from .order import (
    MIN_DISTINCT_WORDS,
    ORDER_PROBE_C,
    OrderTest,
    format_order_table,
    moved_by_shuffling,
    order_sentences,
    shuffle_words,
    shuffled_texts,
    word_order_test,
)
from .views import draw_inversion_by_layer, draw_word_order

__all__ = [name for name in dir() if not name.startswith("_") and name != "annotations"]
