"""The course's core: each module one job, importing only other core modules.

=================  ===========================================================================
module             holds
=================  ===========================================================================
``config``         paths, model folder names, the embedded model's checksum, quick mode, seeds
``models``         ``load_model`` / ``from_module``: the only place a ``LoadedModel`` is built
``cube``           ``encode`` -> ``Cube``, ``embed``, the only pooling (``POOLINGS``) and masked mean
``data``           the review, topic and SST-2 loaders (``TextSet``)
``features``       ``FeatureCache``: pooled vectors computed once, kept on disk, with its own stats
``stats``          ``Estimate`` (mean, spread, 95% interval), comparisons, cosine, alikeness, Spearman
``linear``         the one linear probe pipeline (``linear_probe``, ``grid_search_C``, ``fit_probe``)
``token_kinds``    [CLS] / [SEP] / punctuation / word, Unicode-aware
``attention``      what [CLS] reads, how much others read [CLS], entropy, rollout
``flow``           attention flow (max-flow on the layer graph); raw / rollout / flow as explanations
``readouts``       which vector of which input layout a probe or a head reads ([CLS] moved, first word, ...)
``finetune``       a copy of the model fine-tuned with a head on any readout (bf16 autocast where fast)
``geometry``       massive coordinates and what cosine sees with and without them
``summary_tokens`` where models put their summary token, from transformers configs and the registry
``results``        shipped results with provenance (model fingerprint, data hash, code version, ...)
``sweep``          the fine-tuning sweep over readouts (``python -m helpers.core.sweep``)
``continued_nsp``  ``minilm-nsp``: continued NSP pretraining of the embedded model (``make minilm-nsp``)
``position_twins`` the mini-BERT's position twins: shipped results, table, paired differences
``inversion``      recovering a sentence from its vector: inversion probe, baseline, nearest neighbour
``patching``       causal tracing: minimal pairs, patching sweep, attention knockout, head ablation
``references``     every published figure the course prints, with its source
``checks``         ``CheckResult``, the verdict of every "Try it"
``course``         the course map, read from the notebooks
=================  ===========================================================================
"""
