"""Notebook 00 · Start here: the exercise checks of the first notebook, and how the course numbers layers and heads."""

from __future__ import annotations

from ..core.checks import CheckResult, unanswered


def check_cls_position(cube, answer) -> CheckResult:
    """Exercise: at which position (index) of every row does the tokenizer put [CLS]?"""
    if unanswered(answer):
        return CheckResult(None, "Not answered yet: replace ... with a position (an integer) and run this cell.")
    first = [row.index("[CLS]") if "[CLS]" in row else None for row in cube.tokens]
    truth = first[0]
    if isinstance(answer, bool) or not isinstance(answer, int):
        return CheckResult(False, f"Give a position as an integer, not {answer!r}.")
    if answer == truth and all(f == truth for f in first):
        return CheckResult(True, f"Right: [CLS] is at index {truth} of every row, so last_hidden[:, {truth}, :] "
                                 "is one [CLS] vector per sentence.")
    if answer == len(cube.tokens[0]) - 1 or answer == -1:
        return CheckResult(False, "Not quite: the last position of a row holds [SEP], the separator. Look at cube.tokens.")
    return CheckResult(False, f"Not quite: print cube.tokens[0]; [CLS] is at index {truth}, not {answer}.")


def check_cube_shape(cube, answer) -> CheckResult:
    """Exercise: predict the shape of ``cube.last_hidden`` as a tuple (sentences, tokens, hidden)."""
    if unanswered(answer):
        return CheckResult(None, "Not answered yet: replace ... with a tuple such as (2, 5, 100) and run this cell.")
    truth = tuple(cube.last_hidden.shape)
    try:
        given = tuple(int(x) for x in answer)
    except (TypeError, ValueError):
        return CheckResult(False, f"Give a tuple of three integers (sentences, tokens, hidden), not {answer!r}.")
    if given == truth:
        return CheckResult(True, f"Right: {truth} = {truth[0]} sentences, each padded to {truth[1]} tokens, "
                                 f"each token a vector of {truth[2]} numbers.")
    hints = []
    if len(given) != 3:
        hints.append("the cube has three axes: sentences, tokens, hidden")
    else:
        names = ("sentences", "tokens (the longest row, [CLS] and [SEP] included)", "hidden width (lm.hidden_size)")
        hints += [f"{name}: {g} should be {t}" for name, g, t in zip(names, given, truth) if g != t]
    return CheckResult(False, "Not quite: " + "; ".join(hints) + ".")


# ----------------------------------------------------------------------------- layer numbering


def layer_numbering(cube) -> dict:
    """How the course numbers hidden states, attention layers and heads, read off a cube's own shapes.

    Args:
        cube: a :class:`helpers.core.cube.Cube` encoded with ``hidden_states=True, attentions=True``.

    Returns:
        dict with ``hidden_states`` ((L+1,B,T,H) shape), ``attentions`` ((L,B,A,T,T) shape), ``num_layers`` L,
        ``num_heads`` A and ``last_is_last_hidden`` (hidden state L is ``cube.last_hidden``, checked at [CLS]).
    """
    if getattr(cube, "hidden_states", None) is None or getattr(cube, "attentions", None) is None:
        raise ValueError("layer_numbering needs a cube with every layer: helpers.encode(lm, texts, "
                         "hidden_states=True, attentions=True) (the default).")
    import torch

    hs, att = tuple(cube.hidden_states.shape), tuple(cube.attentions.shape)
    if hs[0] != att[0] + 1:
        raise ValueError(f"hidden_states {hs} should have one entry more than attentions {att}.")
    last = bool(torch.allclose(cube.hidden_states[-1][:, 0], cube.last_hidden[:, 0]))
    return {"hidden_states": hs, "attentions": att, "num_layers": att[0], "num_heads": att[2],
            "last_is_last_hidden": last}


def describe_layer_numbering(numbering: dict) -> str:
    """The numbering of :func:`layer_numbering` in words, with this model's numbers (a pure function of the dict)."""
    n_layers, n_heads = numbering["num_layers"], numbering["num_heads"]
    hs, att = numbering["hidden_states"], numbering["attentions"]
    return "\n".join([
        f"hidden_states: {hs[0]} entries, shape {hs} = [hidden state, sentences, tokens, hidden]",
        "  hidden state 0 = the embeddings (token + position + segment vectors), before any attention layer",
        f"  hidden state l = the output of attention layer l, for l = 1..{n_layers}",
        f"  hidden state {n_layers} = the last layer = cube.last_hidden: {numbering['last_is_last_hidden']}",
        f"attentions:    {att[0]} entries, shape {att} = [layer, sentences, heads, query token, key token]",
        f"  attention layer l (1..{n_layers}) is cube.attentions[l - 1]: it reads hidden state l - 1 and writes "
        "hidden state l",
        f"heads:         {n_heads} per layer, numbered 0..{n_heads - 1} (head h of layer l: "
        "cube.attentions[l - 1][:, h])",
    ])
