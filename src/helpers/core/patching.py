"""Causal tracing into [CLS]: activation patching, attention knockout and head ablation (notebook 08).

Two inputs that differ in one word and tokenize to the same length (a :class:`MinimalPair`, "the ending was
great" / "the ending was awful") give two runs of the model. Restoring one hidden state (hidden state l, position
t) from the clean run into the corrupted run and running the layers above it shows how much of the clean-vs-
corrupted difference of the classifier's score that one vector carries: the *share restored*,
(score(patched) - score(corrupted)) / (score(clean) - score(corrupted)): 1 = all of it, 0 = none.

Everything runs through a :class:`Scorer`: the model's embeddings, its transformer blocks called one by one, and
the head that turns the last hidden states into one number (the fine-tuned [CLS] head's positive-minus-negative
logit, the NSP head's IsNext-minus-NotNext logit, or a frozen probe's logit on [CLS]). The route is checked
against the model's own forward pass when the scorer is built, and every patch checks that it changed what it
meant to change and nothing else (:class:`PatchError` otherwise): the common failure of patching code is a patch
that silently does nothing.

Speed: a sweep patches every position of a hidden state in its own row of one batch, so the whole
(L+1) x T sweep is L+1 batched partial forward passes, not (L+1) x T full ones (bench/bench_patching.py).

Shapes: L = layers, A = heads, T = tokens, H = width; hidden state 0 is the embeddings' output, l the output of
layer l.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

#: Sentiment words and their opposites, both one word piece in the bert-base-uncased vocabulary (the pairs
#: helper checks this for the model at hand and skips the ones that are not).
ANTONYMS = {
    "great": "awful", "good": "bad", "best": "worst", "wonderful": "terrible", "excellent": "poor",
    "love": "hate", "loved": "hated", "beautiful": "ugly", "fun": "dull", "perfect": "awful",
    "brilliant": "terrible", "fantastic": "horrible", "enjoyed": "hated", "amazing": "awful", "happy": "sad",
    "nice": "nasty", "strong": "weak", "better": "worse", "pleasant": "unpleasant", "superb": "awful",
    "fresh": "stale", "friendly": "rude", "clean": "dirty", "comfortable": "uncomfortable", "easy": "hard",
    "fast": "slow", "quiet": "noisy", "warm": "cold", "delicious": "disgusting", "funny": "boring",
}
for _word, _opposite in list(ANTONYMS.items()):  # and back (the first word that names an opposite wins)
    ANTONYMS.setdefault(_opposite, _word)
#: A pair whose clean and corrupted scores differ by less than this (in logits) is left out of the averages: its
#: shares would be a ratio of noise.
MIN_EFFECT = 1.0
#: Tolerance of the checks that a patch changed exactly what it meant to (float32 on CPU and GPU).
ATOL = 1e-4


class PatchError(RuntimeError):
    """A patch did not do what it meant to (it changed nothing, or changed more than its target)."""


class PairError(ValueError):
    """Two inputs that cannot be compared position by position; the message says what to change."""


# ----------------------------------------------------------------------------- pairs


@dataclass(frozen=True)
class MinimalPair:
    """A clean and a corrupted input of the same token length.

    Attributes:
        clean / corrupt: the texts (``clean_b`` / ``corrupt_b``: the second segment of a sentence pair, or None).
        ids_clean / ids_corrupt / types: token ids of each and the token type ids (the same for both).
        tokens / tokens_corrupt: the word pieces of each.
        changed: the positions where the two differ.
        kinds: per position "cls", "sep", "changed", "before" (a token before the change) or "after".
    """

    clean: str
    corrupt: str
    ids_clean: tuple
    ids_corrupt: tuple
    types: tuple
    tokens: tuple
    tokens_corrupt: tuple
    changed: tuple
    kinds: tuple
    clean_b: str | None = None
    corrupt_b: str | None = None

    def __len__(self) -> int:
        return len(self.ids_clean)

    @property
    def label(self) -> str:
        """The change, e.g. "great -> awful"."""
        a = " ".join(self.tokens[i] for i in self.changed)
        b = " ".join(self.tokens_corrupt[i] for i in self.changed)
        if len(a) > 40:
            a, b = a[:37] + "...", b[:37] + "..."
        return f"{a} -> {b}"


def _ids(lm, text: str, text_b: str | None) -> tuple[list[int], list[int]]:
    enc = lm.tokenizer(text, text_b, truncation=True, max_length=lm.max_length, return_token_type_ids=True)
    types = enc.get("token_type_ids") or [0] * len(enc["input_ids"])
    return list(enc["input_ids"]), list(types)


def make_pair(lm, clean: str, corrupt: str, clean_b: str | None = None, corrupt_b: str | None = None) -> MinimalPair:
    """Check and build a :class:`MinimalPair` (single sentences, or sentence pairs with ``*_b``).

    Raises:
        PairError: the two inputs tokenize to different lengths, or do not differ at all.
    """
    for name, text in (("clean", clean), ("corrupt", corrupt)):
        if not isinstance(text, str) or not text.strip():
            raise PairError(f"The {name} text is empty: type a sentence.")
    if (clean_b is None) != (corrupt_b is None):
        raise PairError("Give a second segment for both inputs (clean_b and corrupt_b), or for neither.")
    a, ta = _ids(lm, clean, clean_b)
    b, tb = _ids(lm, corrupt, corrupt_b)
    tok = lm.tokenizer
    if len(a) != len(b) or ta != tb:
        raise PairError(
            f"The two inputs tokenize to different lengths ({len(a)} and {len(b)} tokens), so their hidden states "
            f"cannot be swapped position by position: the clean one reads {tok.convert_ids_to_tokens(a)}, the "
            f"corrupted one {tok.convert_ids_to_tokens(b)}. Pick a replacement word that is one word piece as "
            "well (or as many pieces as the word it replaces).")
    changed = tuple(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
    if not changed:
        raise PairError("The two inputs are the same tokens: change a word.")
    special = {tok.cls_token_id: "cls", tok.sep_token_id: "sep"}
    kinds = []
    for i, x in enumerate(a):
        if i in changed:
            kinds.append("changed")
        elif x in special:
            kinds.append(special[x])
        else:
            kinds.append("before" if i < changed[0] else "after")
    return MinimalPair(clean, corrupt, tuple(a), tuple(b), tuple(ta), tuple(tok.convert_ids_to_tokens(a)),
                       tuple(tok.convert_ids_to_tokens(b)), changed, tuple(kinds), clean_b, corrupt_b)


def swap_word(text: str, word: str, replacement: str) -> str:
    """``text`` with its first whole-word ``word`` (any case) replaced by ``replacement``."""
    pattern = re.compile(rf"\b{re.escape(word)}\b", re.I)
    if not pattern.search(text):
        raise PairError(f"{word!r} is not a word of {text!r}: pick one of its words.")
    return pattern.sub(replacement, text, count=1)


def suggest_replacement(word: str) -> str | None:
    """The course's opposite of a sentiment word (:data:`ANTONYMS`), or None."""
    return ANTONYMS.get(word.lower())


def sentiment_pairs(lm, texts: Sequence[str], limit: int | None = None, max_tokens: int = 32) -> list[MinimalPair]:
    """Minimal pairs from real sentences: each sentence that holds exactly one word of :data:`ANTONYMS` gives a pair
    with that word swapped for its opposite, kept when both tokenize to the same length (at most ``max_tokens``)."""
    words = re.compile(r"\b(" + "|".join(map(re.escape, sorted(ANTONYMS, key=len, reverse=True))) + r")\b", re.I)

    def candidates():
        for text in texts:
            found = words.findall(text)
            if len({w.lower() for w in found}) != 1 or len(found) != 1:
                continue
            w = found[0]
            rep = ANTONYMS[w.lower()]
            rep = rep.capitalize() if w[0].isupper() else rep
            yield lambda text=text, w=w, rep=rep: make_pair(lm, text, swap_word(text, w, rep))

    return _first_pairs(candidates(), max_tokens, limit)


def _first_pairs(builders, max_tokens: int, limit: int | None) -> list[MinimalPair]:
    """Call each pair builder in turn; keep the pairs that build (no PairError) and fit ``max_tokens``, up to
    ``limit`` of them."""
    out = []
    for build in builders:
        try:
            pair = build()
        except PairError:
            continue
        if len(pair) <= max_tokens:
            out.append(pair)
        if limit is not None and len(out) >= limit:
            break
    return out


def next_sentence_pairs(lm, docs, limit: int | None = None, seed: int = 0, max_tokens: int = 48) -> list[MinimalPair]:
    """Minimal pairs for a next-sentence head: A and its true next sentence B (clean), and A with a sentence of
    another document that has exactly as many tokens as B (corrupted). ``docs``: documents with ``.sentences``."""
    rng = random.Random(f"patch-nsp-{seed}")
    by_len: dict[int, list[tuple[int, str]]] = {}
    for k, d in enumerate(docs):
        for s in d.sentences:
            by_len.setdefault(len(lm.tokenizer.tokenize(s)), []).append((k, s))
    order = list(range(len(docs)))
    rng.shuffle(order)

    def candidates():
        for k in order:
            s = docs[k].sentences
            if len(s) < 2:
                continue
            j = rng.randrange(1, len(s))
            a, b = s[j - 1], s[j]
            others = [x for dk, x in by_len.get(len(lm.tokenizer.tokenize(b)), []) if dk != k]
            if others:
                other = others[rng.randrange(len(others))]
                yield lambda a=a, b=b, other=other: make_pair(lm, a, a, b, other)

    return _first_pairs(candidates(), max_tokens, limit)


# ----------------------------------------------------------------------------- the scorer


@dataclass
class Scorer:
    """The model cut into what patching needs.

    Attributes:
        name: the model's name; what: what the score is (e.g. "positive minus negative logit").
        embeddings: (ids, types) -> (B,T,H) hidden state 0.
        blocks: the transformer blocks, called one by one.
        head: (B,T,H) last hidden states -> (B,) score.
        num_heads: attention heads per block.
    """

    name: str
    what: str
    embeddings: Callable
    blocks: list
    head: Callable
    num_heads: int
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    full: Callable | None = None  # (ids, types) -> (B,) score by the model's own forward pass (the route check)

    @property
    def num_layers(self) -> int:
        return len(self.blocks)


def _probe_head(probe):
    """A fitted probe_pipeline (StandardScaler + LogisticRegression) as torch: (B,T,H) -> (B,) logit on [CLS]."""
    scaler, clf = probe[0], probe[-1]
    mean = torch.tensor(scaler.mean_, dtype=torch.float32)
    scale = torch.tensor(scaler.scale_, dtype=torch.float32)
    w = torch.tensor(clf.coef_[0], dtype=torch.float32)
    b = float(clf.intercept_[0])
    return lambda h: ((h[:, 0].float() - mean.to(h.device)) / scale.to(h.device)) @ w.to(h.device) + b


def scorer_of(lm, probe=None) -> Scorer:
    """The :class:`Scorer` of a LoadedModel: its fine-tuned head (``lm.head``, e.g. embedded-cls-tuned), its NSP
    head (minilm-nsp, mini-bert), or ``probe`` (a fitted :func:`helpers.core.linear.probe_pipeline` on the last
    layer's [CLS]) for a model with neither. Checks the block-by-block route against the model's own forward pass.
    """
    from .finetune import _blocks

    model = lm.model
    if probe is not None:
        encoder, what = lm.encoder, "the frozen probe's logit (positive) on [CLS]"
        head = _probe_head(probe)

        def full(ids, types):
            out = encoder(input_ids=ids, token_type_ids=types, attention_mask=torch.ones_like(ids))
            return head(out.last_hidden_state)
    elif getattr(lm, "head", None) is not None:
        ft = lm.head
        if ft.readout.layout != "standard":
            raise ValueError(f"{lm.name!r} reads {ft.readout.label}, which needs another token layout; patching "
                             "supports heads on the ordinary layout ([CLS] first).")
        clf = ft.model.eval()
        encoder, what = clf.encoder, f"positive minus negative logit of the fine-tuned head on {ft.readout.label}"

        def head(h):
            logits = clf.head(h, torch.ones(h.shape[:2], dtype=torch.long, device=h.device))
            return logits[:, 1] - logits[:, 0]

        def full(ids, types):
            mask = torch.ones_like(ids)
            hidden = clf.encoder(input_ids=ids, token_type_ids=types, attention_mask=mask).last_hidden_state
            logits = clf.head(hidden, mask)
            return logits[:, 1] - logits[:, 0]
    elif lm.has_nsp:
        if getattr(model.config, "summary_layout", "start") != "start":
            raise ValueError(f"{lm.name!r} reads its pair head elsewhere than [CLS] at the start; patching into [CLS] "
                             "needs the start layout (mini-bert or minilm-nsp).")
        encoder, what = model.bert, "IsNext minus NotNext logit of the NSP head (pooler, then a linear layer)"

        def head(h):
            logits = model.cls.seq_relationship(model.bert.pooler(h))
            return logits[:, 0] - logits[:, 1]

        def full(ids, types):
            out = model.bert(input_ids=ids, token_type_ids=types, attention_mask=torch.ones_like(ids))
            logits = model.cls.seq_relationship(out.pooler_output)
            return logits[:, 0] - logits[:, 1]
    else:
        raise ValueError(f"{lm.name!r} has no classifier to patch into: load 'embedded-cls-tuned' or 'minilm-nsp', "
                         "or pass probe= (a probe fitted on the last layer's [CLS], see helpers.core.linear.fit_probe).")
    model.eval()
    emb = encoder.embeddings

    def embeddings(ids, types):
        return emb(input_ids=ids, token_type_ids=types)

    sc = Scorer(lm.name, what, embeddings, _blocks(encoder), head, lm.num_heads, lm.device, full)
    check_route(sc, *_ids(lm, "the film was great and the ending was sad", "we left early"))
    return sc


def _tensor(ids, device) -> torch.Tensor:
    return torch.tensor([list(ids)], dtype=torch.long, device=device)


def _run(sc: Scorer, hidden: torch.Tensor, start: int, masks: dict | None = None, keep: bool = False):
    """Run blocks ``start``.. on (B,T,H) ``hidden`` (hidden state ``start``); ``masks``: layer index -> (B,1,T,T)
    additive attention mask for that block. Returns the (B,) scores and, with ``keep``, every hidden state."""
    states = [hidden] if keep else None
    for i in range(start, sc.num_layers):
        out = sc.blocks[i](hidden, attention_mask=(masks or {}).get(i))
        hidden = out[0] if isinstance(out, tuple) else out
        if keep:
            states.append(hidden)
    return sc.head(hidden).float(), states


def states_and_score(sc: Scorer, ids, types) -> tuple[list[torch.Tensor], float]:
    """Every hidden state (L+1 tensors of (1,T,H)) and the score of one input."""
    with torch.inference_mode():
        h0 = sc.embeddings(_tensor(ids, sc.device), _tensor(types, sc.device))
        score, states = _run(sc, h0, 0, keep=True)
    return states, float(score[0])


def check_route(sc: Scorer, ids: Sequence[int], types: Sequence[int] | None = None) -> float:
    """The block-by-block route must give the model's own score (else every patch would measure another model)."""
    types = list(types) if types is not None else [0] * len(ids)
    _, mine = states_and_score(sc, ids, types)
    with torch.inference_mode():
        theirs = float(sc.full(_tensor(ids, sc.device), _tensor(types, sc.device))[0])
    if abs(mine - theirs) > 1e-5 * max(abs(theirs), 1e-2):  # the same float32 operations: equal to rounding
        raise PatchError(f"Running {sc.name!r} block by block gives {mine:.5f} but its own forward pass {theirs:.5f}: "
                         "the patching route does not reproduce the model.")
    return mine


# ----------------------------------------------------------------------------- activation patching


@dataclass
class Sweep:
    """One pair's activation-patching sweep.

    Attributes:
        restored: (L+1,T) share restored by restoring hidden state l at position t.
        span: (L+1,) share restored by restoring every changed position at once.
        every: (L+1,) share restored by restoring every position (1 by construction: the check that patching works).
        clean / corrupt: the two scores.
        noop: (L+1,T) True where the clean and corrupted states are equal (restoring them cannot change anything).
    """

    pair: MinimalPair
    restored: np.ndarray
    span: np.ndarray
    every: np.ndarray
    clean: float
    corrupt: float
    noop: np.ndarray
    what: str = ""

    @property
    def effect(self) -> float:
        """score(clean) - score(corrupted)."""
        return self.clean - self.corrupt


def _check_written(x: torch.Tensor, clean: torch.Tensor, corrupt: torch.Tensor, rows: Sequence[Sequence[int]]) -> None:
    """Row r of ``x`` must equal ``clean`` at ``rows[r]`` and ``corrupt`` everywhere else."""
    for r, pos in enumerate(rows):
        want = corrupt[0].clone()
        want[list(pos)] = clean[0, list(pos)]
        if not torch.equal(x[r], want):
            raise PatchError(f"patch row {r} does not hold the clean states at {list(pos)} and the corrupted ones "
                             "elsewhere: the patch was not written.")
        diff = (clean[0, list(pos)] != corrupt[0, list(pos)]).any()
        if diff and torch.equal(x[r], corrupt[0]):
            raise PatchError(f"patch row {r} at {list(pos)} left the corrupted run unchanged although the clean states "
                             "differ there: the patch silently did nothing.")


def restore(sc: Scorer, pair: MinimalPair, layer: int, positions: Sequence[int]) -> float:
    """The share restored by one patch: hidden state ``layer`` at ``positions`` from the clean run into the corrupted
    run (``positions`` empty: nothing restored, 0; every position: the clean run, 1)."""
    if not 0 <= layer <= sc.num_layers:
        raise ValueError(f"layer must be a hidden state 0..{sc.num_layers}, got {layer}.")
    bad = [t for t in positions if not 0 <= t < len(pair)]
    if bad:
        raise ValueError(f"positions {bad} are outside the {len(pair)} tokens of the pair.")
    clean_s, s_clean = states_and_score(sc, pair.ids_clean, pair.types)
    corr_s, s_corr = states_and_score(sc, pair.ids_corrupt, pair.types)
    with torch.inference_mode():
        x = corr_s[layer].clone()
        x[0, list(positions)] = clean_s[layer][0, list(positions)]
        _check_written(x, clean_s[layer], corr_s[layer], [list(positions)])
        score = float(_run(sc, x, layer)[0][0])
    return (score - s_corr) / (s_clean - s_corr)


def patch_sweep(sc: Scorer, pair: MinimalPair) -> Sweep:
    """Restore every (hidden state, position) of the clean run into the corrupted run, one row per position.

    For each hidden state l one batch of T + 2 rows runs layers l+1..L: row t restores position t, row T restores
    the changed positions together, row T+1 restores every position (which must give the clean score exactly).
    """
    clean_s, s_clean = states_and_score(sc, pair.ids_clean, pair.types)
    corr_s, s_corr = states_and_score(sc, pair.ids_corrupt, pair.types)
    n, n_states = len(pair), sc.num_layers + 1
    effect = s_clean - s_corr
    if abs(effect) < 1e-6:
        raise PairError(f"{pair.label}: the clean and corrupted inputs get the same score ({s_clean:.4f}), so there is "
                        "no difference to restore; change a word that matters to the classifier.")
    rows = [[t] for t in range(n)] + [list(pair.changed), list(range(n))]
    restored = np.zeros((n_states, n))
    span, every = np.zeros(n_states), np.zeros(n_states)
    noop = np.zeros((n_states, n), dtype=bool)
    with torch.inference_mode():
        for layer in range(n_states):
            c, x0 = clean_s[layer], corr_s[layer]
            noop[layer] = (c[0] == x0[0]).all(-1).cpu().numpy()
            # a row that restores only states equal in both runs IS the corrupted run: its share is 0, not computed
            live = [r for r, pos in enumerate(rows) if not noop[layer][pos].all()]
            x = x0.repeat(len(live), 1, 1)
            for j, r in enumerate(live):
                x[j, rows[r]] = c[0, rows[r]]
            _check_written(x, c, x0, [rows[r] for r in live])
            scores = np.zeros(len(rows))
            scores[live] = (_run(sc, x, layer)[0].cpu().numpy() - s_corr) / effect
            restored[layer], span[layer], every[layer] = scores[:n], scores[n], scores[n + 1]
    if np.abs(every - 1).max() > 1e-3 * max(1.0, 1 / abs(effect)):
        raise PatchError(f"restoring every position gave {every.round(4).tolist()} of the effect instead of 1: "
                         "the patched runs are not the clean run.")
    return Sweep(pair, restored, span, every, s_clean, s_corr, noop, sc.what)


def patch_sweep_loop(sc: Scorer, pair: MinimalPair) -> np.ndarray:
    """The same (L+1,T) shares, one full forward pass per patch (the baseline of bench/bench_patching.py)."""
    clean_s, s_clean = states_and_score(sc, pair.ids_clean, pair.types)
    _, s_corr = states_and_score(sc, pair.ids_corrupt, pair.types)
    n_states = sc.num_layers + 1
    out = np.zeros((n_states, len(pair)))
    ids = _tensor(pair.ids_corrupt, sc.device)
    types = _tensor(pair.types, sc.device)
    with torch.inference_mode():
        for layer in range(n_states):
            for t in range(len(pair)):
                h = sc.embeddings(ids, types)
                for i in range(sc.num_layers):
                    if i == layer:
                        h = h.clone()
                        h[0, t] = clean_s[layer][0, t]
                    o = sc.blocks[i](h)
                    h = o[0] if isinstance(o, tuple) else o
                if layer == sc.num_layers:
                    h = h.clone()
                    h[0, t] = clean_s[layer][0, t]
                out[layer, t] = (float(sc.head(h)[0]) - s_corr) / (s_clean - s_corr)
    return out


def where_restored(sw: Sweep) -> dict[str, np.ndarray]:
    """(L+1,) mean share restored per kind of position ("cls", "before", "changed", "after", "sep"; NaN where a
    pair has none of that kind), and "span" (the changed positions restored together)."""
    kinds = np.asarray(sw.pair.kinds)
    out = {k: (sw.restored[:, kinds == k].mean(1) if (kinds == k).any() else np.full(len(sw.span), np.nan))
           for k in ("cls", "before", "changed", "after", "sep")}
    out["span"] = sw.span
    return out


# ----------------------------------------------------------------------------- attention knockout, head ablation


def knockout(sc: Scorer, pair: MinimalPair, sources: str = "changed") -> np.ndarray:
    """(L,) share of the clean-vs-corrupted effect lost when [CLS] may not read ``sources`` in one layer.

    In the clean run, the attention edges from ``sources`` ("changed": the changed positions; "words": every
    position but [CLS] and [SEP]; "sep": the [SEP] tokens; or a list of positions) to [CLS] are blocked in layer l only (the softmax renormalises the rest of
    [CLS]'s row), one layer per row of one batch. Checks that only [CLS]'s state at that layer moved.
    """
    kinds = np.asarray(pair.kinds)
    if isinstance(sources, str) and sources == "changed":
        src = list(pair.changed)
    elif isinstance(sources, str) and sources == "words":
        src = [i for i, k in enumerate(kinds) if k not in ("cls", "sep")]
    elif isinstance(sources, str) and sources == "sep":
        src = [i for i, k in enumerate(kinds) if k == "sep"]
    elif not isinstance(sources, str):
        src = [int(t) for t in sources]
    else:
        raise ValueError(f"sources must be 'changed', 'words', 'sep' or a list of positions, got {sources!r}.")
    clean_s, s_clean = states_and_score(sc, pair.ids_clean, pair.types)
    _, s_corr = states_and_score(sc, pair.ids_corrupt, pair.types)
    L, n = sc.num_layers, len(pair)
    drops = np.zeros(L)
    with torch.inference_mode():
        for layer in range(L):
            h = clean_s[layer]
            mask = torch.zeros((1, 1, n, n), dtype=h.dtype, device=h.device)
            mask[0, 0, 0, src] = torch.finfo(h.dtype).min
            score, states = _run(sc, h, layer, masks={layer: mask}, keep=True)
            after, want = states[1][0], clean_s[layer + 1][0]
            if (after[0] - want[0]).abs().max() <= 1e-6 * want[0].abs().max():
                raise PatchError(f"blocking [CLS]'s reading of {sources} in layer {layer + 1} left [CLS] unchanged: the "
                                 "knockout did nothing.")
            if not torch.allclose(after[1:], want[1:], atol=ATOL, rtol=1e-4):
                raise PatchError(f"the knockout in layer {layer + 1} changed positions other than [CLS].")
            drops[layer] = (s_clean - float(score[0])) / (s_clean - s_corr)
    return drops


def head_ablation(sc: Scorer, pair: MinimalPair) -> np.ndarray:
    """(L,A) share of the clean-vs-corrupted effect lost when one head's output at [CLS] is zeroed (in the clean
    run, before the attention's output projection), one head per row of a batch for each layer."""
    clean_s, s_clean = states_and_score(sc, pair.ids_clean, pair.types)
    _, s_corr = states_and_score(sc, pair.ids_corrupt, pair.types)
    L, A = sc.num_layers, sc.num_heads
    out = np.zeros((L, A))
    for layer in range(L):
        dense = sc.blocks[layer].attention.output.dense
        d = dense.in_features // A
        fired = []

        def zero_head(module, args, d=d):
            x = args[0].clone()
            before = x[:, 0].clone()
            for h in range(A):
                x[h, 0, h * d : (h + 1) * d] = 0
            fired.append(bool((before != x[:, 0]).any(-1).all()))
            return (x,) + tuple(args[1:])

        handle = dense.register_forward_pre_hook(zero_head)
        try:
            with torch.inference_mode():
                score, states = _run(sc, clean_s[layer].repeat(A, 1, 1), layer, keep=True)
        finally:
            handle.remove()
        if fired != [True]:
            raise PatchError(f"the head ablation hook of layer {layer + 1} did not zero every head's output at [CLS].")
        after, want = states[1], clean_s[layer + 1][0]
        if not torch.allclose(after[:, 1:], want[1:].expand_as(after[:, 1:]), atol=ATOL, rtol=1e-4):
            raise PatchError(f"ablating a head at [CLS] in layer {layer + 1} changed other positions.")
        out[layer] = (s_clean - score.cpu().numpy()) / (s_clean - s_corr)
    return out


# ----------------------------------------------------------------------------- many pairs


@dataclass
class Tracing:
    """Patching, knockout and head ablation over many pairs of one model.

    Attributes:
        sweeps: one :class:`Sweep` per pair kept (|effect| >= ``min_effect``); skipped: pairs left out.
        curves: kind -> (P,L+1) share restored per pair (see :func:`where_restored`).
        knock_changed / knock_words / knock_sep: (P,L) knockout drops; heads: (P,L,A) head-ablation drops.
    """

    name: str
    what: str
    task: str
    sweeps: list
    curves: dict
    knock_changed: np.ndarray
    knock_words: np.ndarray
    knock_sep: np.ndarray
    heads: np.ndarray
    skipped: int = 0
    seconds: float = 0.0

    @property
    def layers(self) -> int:
        return self.knock_changed.shape[1]

    @property
    def tokens(self) -> int:
        """Token positions swept, summed over the pairs."""
        return sum(len(s.pair) for s in self.sweeps)

    def mean(self, kind: str) -> np.ndarray:
        """(L+1,) mean over pairs of one curve (NaN for a kind of position no pair has)."""
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: a kind no pair has
            return np.nanmean(self.curves[kind], 0)

    def interval(self, kind: str, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """(L+1,) lower and upper bootstrap bounds of :meth:`mean`."""
        from .stats import bootstrap_mean

        bounds = [bootstrap_mean(col[~np.isnan(col)], level) for col in self.curves[kind].T]
        return np.array([b[1] for b in bounds]), np.array([b[2] for b in bounds])


def trace(sc: Scorer, pairs: Sequence[MinimalPair], task: str, min_effect: float = MIN_EFFECT,
          heads: bool = True, knockouts: bool = True, limit: int | None = None, progress: bool = False) -> Tracing:
    """Run :func:`patch_sweep`, :func:`knockout` (changed word, all words, [SEP]) and :func:`head_ablation` on every pair
    whose clean and corrupted scores differ by at least ``min_effect`` (the first ``limit`` such pairs)."""
    import time

    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    sweeps, kc, kw, ks, hd = [], [], [], [], []
    skipped = 0
    for pair in tqdm(pairs, desc=f"patching {sc.name}", disable=not progress, leave=False):
        if limit is not None and len(sweeps) >= limit:
            break
        _, s_clean = states_and_score(sc, pair.ids_clean, pair.types)
        _, s_corr = states_and_score(sc, pair.ids_corrupt, pair.types)
        if abs(s_clean - s_corr) < min_effect:
            skipped += 1
            continue
        sweeps.append(patch_sweep(sc, pair))
        if knockouts:
            kc.append(knockout(sc, pair, "changed"))
            kw.append(knockout(sc, pair, "words"))
            ks.append(knockout(sc, pair, "sep"))
        if heads:
            hd.append(head_ablation(sc, pair))
    if not sweeps:
        raise PairError(f"None of the {len(pairs)} pairs moves {sc.name}'s score by {min_effect} or more: give pairs "
                        "whose change matters to the classifier (or lower min_effect).")
    per = [where_restored(s) for s in sweeps]
    curves = {k: np.stack([p[k] for p in per]) for k in per[0]}
    L, A = sc.num_layers, sc.num_heads
    return Tracing(sc.name, sc.what, task, sweeps, curves, np.array(kc).reshape(-1, L), np.array(kw).reshape(-1, L),
                   np.array(ks).reshape(-1, L), np.array(hd) if hd else np.zeros((0, L, A)), skipped, time.perf_counter() - t0)


def move_layer(tr: Tracing) -> int | None:
    """The first hidden state at which restoring [CLS] restores more than restoring the changed position(s)."""
    cls, changed = tr.mean("cls"), tr.mean("span")
    above = np.nonzero(cls > changed)[0]
    return int(above[0]) if len(above) else None


def summarize(tr: Tracing) -> dict:
    """The numbers the notebooks print: curves at the change and at [CLS], the move, knockout and heads."""
    return {"model": tr.name, "task": tr.task, "what": tr.what, "layers": tr.layers, "pairs": len(tr.sweeps),
            "skipped": tr.skipped, "changed": tr.mean("span").tolist(), "cls": tr.mean("cls").tolist(),
            "move_layer": move_layer(tr),
            "knock_changed": tr.knock_changed.mean(0).tolist() if len(tr.knock_changed) else None,
            "knock_words": tr.knock_words.mean(0).tolist() if len(tr.knock_words) else None,
            "knock_sep": tr.knock_sep.mean(0).tolist() if len(tr.knock_sep) else None,
            "heads": tr.heads.mean(0).tolist() if len(tr.heads) else None}


# ----------------------------------------------------------------------------- the three models of notebook 08

#: The models notebook 08 traces, and what each one's score is about.
TRACED = {
    "embedded-cls-tuned": "review sentiment (the fine-tuned [CLS] head)",
    "minilm-nsp": "next sentence (the NSP head on the pooler)",
    "embedded": "review sentiment (a frozen probe on the last layer's [CLS])",
}


def frozen_probe(lm, train=None):
    """The course's probe (:func:`helpers.core.linear.fit_probe`) on the last layer's [CLS] of the training
    reviews (features from the cache), for a model with no classifier of its own."""
    from .data import load_reviews
    from .features import FeatureCache
    from .linear import fit_probe

    train = train or load_reviews("train")
    x = FeatureCache().features(lm, train.texts, pooling="cls", layers=-1)
    return fit_probe(x, train.labels)


def scorer_and_pairs(name: str, lm=None, seed: int = 0) -> tuple[Scorer, list[MinimalPair], str]:
    """The scorer of a model and its candidate minimal pairs (unseen reviews with one sentiment word swapped, or
    unseen NSP documents' sentence pairs with the second sentence swapped), and the task in words."""
    from .data import load_reviews
    from .models import load_model

    lm = lm or load_model(name)
    if getattr(lm, "head", None) is not None:
        return scorer_of(lm), sentiment_pairs(lm, load_reviews("test").texts), "review sentiment"
    if lm.has_nsp:
        from .continued_nsp import corpus_split

        docs = corpus_split()["heldout_docs"] + corpus_split()["heldout_genres"]
        return scorer_of(lm), next_sentence_pairs(lm, docs, seed=seed), "next sentence"
    return scorer_of(lm, probe=frozen_probe(lm)), sentiment_pairs(lm, load_reviews("test").texts), "review sentiment"


def where_written(name: str, n_pairs: int = 24, lm=None) -> dict:
    """Activation patching only (no knockout, no heads) on the first ``n_pairs`` pairs of a model that move its
    score: :func:`summarize`'s dict ("changed", "cls", "move_layer", ...). Notebook 09's short form of 08."""
    sc, pairs, task = scorer_and_pairs(name, lm)
    return summarize(trace(sc, pairs, task, heads=False, knockouts=False, limit=n_pairs))


def where_written_sentence(summary: dict) -> str:
    """The finding of :func:`where_written` / :func:`summarize` in words, from its numbers."""
    changed, cls = np.asarray(summary["changed"]), np.asarray(summary["cls"])
    L, m = summary["layers"], summary["move_layer"]
    head = f"With {summary['model']} ({summary['task']}, {summary['pairs']} pairs)"
    if m is None:
        return (f"{head}, restoring [CLS] never restores more than restoring the changed word(s) before the output: at "
                f"the last hidden state [CLS] carries {cls[-1]:.0%} of the effect.")
    if m == 0:
        return (f"{head}, restoring [CLS] restores more than restoring the changed word(s) already at the embeddings "
                f"({cls[0]:.0%} against {changed[0]:.0%}).")
    where = "only in the last layer" if m == L else f"in layer {m} of {L}"
    return (f"{head}, the difference starts at the changed word(s) (all of it at the embeddings) and enters [CLS] "
            f"{where}: at hidden state {m - 1}, restoring the changed word(s) alone brings back {changed[m - 1]:.0%} of "
            f"it and restoring [CLS] {cls[m - 1]:.0%}; at hidden state {m}, [CLS] brings back {cls[m]:.0%}.")
