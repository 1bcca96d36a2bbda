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
``flow``           attention flow (max-flow on the layer graph)
``finetune``       a copy of the model fine-tuned with a head on [CLS] or the mean
``references``     every published figure the course prints, with its source
``checks``         ``CheckResult``, the verdict of every "Try it"
``course``         the course map, read from the notebooks
=================  ===========================================================================
"""
