"""Notebook 09, the answers: each question the course set out with, and each answer people gave, checked against the
course's own numbers.

* :mod:`.evidence`: the few live measurements (frozen probes and [CLS]'s largest coordinate on a review sample,
  notebook 07's recovery at the last layer, the NSP head opened up), each a core quantity;
* :mod:`.answers`: one :class:`~.answers.Answer` per question and per claim, pure functions of the numbers;
* :mod:`.views`: the slide-sized card of an answer and the closing table;
* :mod:`.checks`: the Try-it checks.

The shipped evidence is read by the core's own readers: :mod:`helpers.core.sweep_report` (the fine-tuning sweep),
:mod:`helpers.core.position_twins`, :mod:`helpers.core.continued_nsp` (``minilm-nsp``) and
:mod:`helpers.core.patching` (notebook 08's activation patching); published figures come from
:mod:`helpers.core.references`.
"""

from __future__ import annotations

from .answers import (
    SAME_INPUT_BELOW,
    WORD_READOUTS,
    Answer,
    answer_aggregate,
    answer_average,
    answer_how_learned,
    answer_name,
    answer_nsp_embedding,
    answer_recover,
    answer_why_first,
    claim_any_token,
    claim_arbitrary,
    claim_average,
    claim_fixed_embedding,
    claim_pooling_scheme,
    claim_probability,
    claim_word_representation,
)
from .checks import PROB_TOLERANCE, check_first_word, check_lower_readouts, check_p_is_next
from .evidence import (
    IDENTITY_SENTENCES,
    NOISE_LEVELS,
    PROBE_C,
    FrozenEvidence,
    RecoveryEvidence,
    by_hand_summary,
    frozen_evidence,
    input_identity,
    nsp_head_by_hand,
    nsp_model_for,
    nsp_parts,
    nsp_sample_pairs,
    recovery_evidence,
)
from .views import AnswerCard, AnswerTable, answer_card, answers_table

__all__ = [name for name in dir() if not name.startswith("_") and name != "annotations"]
