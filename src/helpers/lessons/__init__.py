"""One module (or small subpackage) per notebook, named after it: that lesson's experiments, views and checks.

A lesson imports the core and the ui, never another lesson: what two lessons need lives in the core.

============================================  ==============================================
notebook                                      lesson module
============================================  ==============================================
``00_start_here``                             ``helpers.lessons.start_here``
``01_tokenization``                           ``helpers.lessons.tokenization``
``02_position_of_cls``                        ``helpers.lessons.position_of_cls``
``03_attention_into_cls``                     ``helpers.lessons.attention_into_cls``
``04_nsp_pretraining``                        ``helpers.lessons.nsp_pretraining``
``05_slicing_the_output_cube``                ``helpers.lessons.slicing_the_output_cube``
``06_cls_vs_pooling``                         ``helpers.lessons.cls_vs_pooling``
``07_recovering_the_sentence``                ``helpers.lessons.recovering_the_sentence``
``08_causal_tracing``                         ``helpers.lessons.causal_tracing``
``09_the_answers``                            ``helpers.lessons.the_answers``
============================================  ==============================================
"""
