"""Notebook 08, "Where is the summary written?": causal tracing into [CLS].

The patching machinery is the core's (:mod:`helpers.core.patching`: minimal pairs, the scorer, the batched sweep,
attention knockout, head ablation, and the checks that every patch changed what it meant to). This lesson adds

* ``experiments``: the models traced (the fine-tuned [CLS] head, minilm-nsp's NSP head, the reader's model), the
  mean maps, the knockout and head summaries, and attention (raw, rollout, flow) against the causal effect;
* ``views``: ``draw_*`` functions returning Figures, and the patching explorer;
* ``checks``: the two "Try it" checks;
* ``findings``: the "with this model we found ..." sentences, from a run's numbers.
"""

from .checks import check_knockout_layer, check_move_layer
from .experiments import (
    METHODS,
    PAIRS,
    TRAINED,
    Agreement,
    Traced,
    attention_agreement,
    causal_per_token,
    guard_report,
    knockout_interval,
    knockout_layer,
    mean_map,
    models_to_trace,
    pair_attention,
    role_of,
    table_rows,
    top_heads,
    trace_models,
)
from .findings import (
    GOOD_RHO,
    agreement_sentence,
    attention_verdict,
    heads_sentence,
    knockout_others,
    knockout_sentence,
    pair_sentence,
    three_models_sentence,
)
from .views import (
    build_patching_explorer,
    draw_agreement,
    draw_curves,
    draw_heads,
    draw_knockout,
    draw_mean_maps,
    draw_pair_map,
)
