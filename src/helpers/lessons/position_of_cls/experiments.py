"""Why is the first token's output the sentence's summary? Experiments on the position of [CLS].

Helpers for notebook 02. Shapes: N = sentences, T = tokens, H = width, L = layers (hidden states
have L+1 entries: 0 = embeddings). Compute functions return numbers/arrays; ``draw_*`` functions
return matplotlib Figures; ``build_*_explorer`` functions return widget trees over precomputed data.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from ..core.cube import Cube, encode, encode_ids
from ..core.models import LoadedModel
from ..core.models import available_locally as locally_available  # noqa: F401 - the name notebook 02 calls
from ..core.linear import ProbeResult, linear_probe
from ..core.checks import CheckResult
from ..core.checks import unanswered as _unanswered

#: Where [CLS] goes in each input layout. "standard" is what the tokenizer builds.
LAYOUTS: dict[str, str] = {
    "standard": "[CLS] words [SEP]",
    "cls_end": "words [SEP] [CLS]",
    "cls_middle": "first half [CLS] second half [SEP]",
    "no_cls": "words [SEP]",
}

#: Sentence vectors compared in the experiments: key -> (layout, what to read, label).
#: "cls" reads wherever [CLS] sits; "first"/"last" the first/last word piece; "sep" the final [SEP];
#: "mean" averages every real token of the row.
READOUTS: dict[str, tuple[str, str, str]] = {
    "cls": ("standard", "cls", "[CLS] at position 0 (the usual)"),
    "mean": ("standard", "mean", "mean of all tokens"),
    "first": ("standard", "first", "first word"),
    "last": ("standard", "last", "last word"),
    "sep": ("standard", "sep", "[SEP]"),
    "cls_end": ("cls_end", "cls", "[CLS] moved to the end"),
    "cls_middle": ("cls_middle", "cls", "[CLS] moved to the middle"),
    "nocls_first": ("no_cls", "first", "no [CLS]: first token"),
    "nocls_mean": ("no_cls", "mean", "no [CLS]: mean of all tokens"),
}


def _check_model(lm: Any) -> LoadedModel:
    if not hasattr(lm, "tokenizer") or not hasattr(lm, "encoder"):
        raise ValueError(f"Expected a LoadedModel from helpers.load_model(), got {type(lm).__name__}.")
    return lm


def _check_cube(cube: Any, need_layers: bool = True) -> Cube:
    if not isinstance(cube, Cube):
        raise ValueError(f"Expected a Cube from helpers.encode(), got {type(cube).__name__}.")
    if need_layers and cube.hidden_states is None:
        raise ValueError("This cube has no hidden_states: encode(..., hidden_states=True).")
    return cube


def _cos_rows(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(...,H),(...,H) -> (...) cosine similarity, 1 where both are zero vectors."""
    num = (a * b).sum(-1)
    den = a.norm(dim=-1) * b.norm(dim=-1)
    return torch.where(den > 0, num / den.clamp(min=1e-12), torch.ones_like(num))


def alikeness(vectors) -> float:
    """Mean cosine similarity between the vectors of different sentences: (N,H) -> float.

    1.0 means every sentence gets the same direction (the vector does not depend on the sentence).
    """
    x = torch.as_tensor(np.asarray(vectors.detach().cpu() if hasattr(vectors, "detach") else vectors), dtype=torch.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"alikeness needs an (N,H) array with N >= 2 sentences, got shape {tuple(x.shape)}.")
    n = x.shape[0]
    unit = x / x.norm(dim=1, keepdim=True).clamp(min=1e-12)
    total = float(unit.sum(0).pow(2).sum())
    return (total - float(unit.pow(2).sum())) / (n * (n - 1))


def cosine_matrix(vectors) -> np.ndarray:
    """(N,H) -> (N,N) cosine similarities."""
    x = torch.as_tensor(np.asarray(vectors.detach().cpu() if hasattr(vectors, "detach") else vectors), dtype=torch.float64)
    unit = x / x.norm(dim=1, keepdim=True).clamp(min=1e-12)
    return (unit @ unit.T).numpy()


# ----------------------------------------------------------------------------- 1. nothing of its own


def cls_identity(cube: Cube) -> dict[str, float]:
    """How different the [CLS] vectors of different sentences are at the input and at the output.

    Returns:
        dict with ``input_max_distance`` (largest L2 distance between two sentences' [CLS] input
        embeddings, hidden_states[0][:, 0]), ``output_min_distance`` / ``output_mean_distance``
        (between their last-layer [CLS] outputs), ``output_norm`` (mean norm of an output) and ``n``.
    """
    cube = _check_cube(cube)
    if len(cube) < 2:
        raise ValueError("cls_identity needs at least two sentences.")
    inp = cube.cls(0).double()
    out = cube.cls(-1).double()
    d_in = torch.cdist(inp, inp)
    d_out = torch.cdist(out, out)
    off = ~torch.eye(len(cube), dtype=torch.bool)
    return {
        "input_max_distance": float(d_in[off].max()),
        "output_min_distance": float(d_out[off].min()),
        "output_mean_distance": float(d_out[off].mean()),
        "output_norm": float(out.norm(dim=1).mean()),
        "n": len(cube),
    }


def cls_movement(cube: Cube) -> dict[str, np.ndarray]:
    """How far the [CLS] vector moves through the layers, next to the word tokens.

    Returns:
        dict with ``cls_from_input`` (L+1,): mean cosine distance of [CLS] at each layer from its input
        embedding; ``cls_step`` and ``word_step`` (L,): mean cosine distance between a token's vector
        before and after each layer, for [CLS] and for the word tokens (not [CLS]/[SEP]/padding).
    """
    cube = _check_cube(cube)
    hs = cube.hidden_states.double()  # (L+1,B,T,H)
    cls = hs[:, :, 0]  # (L+1,B,H)
    from_input = 1 - _cos_rows(cls, cls[0:1].expand_as(cls)).mean(1)
    step = 1 - _cos_rows(hs[1:], hs[:-1])  # (L,B,T)
    words = cube.attention_mask.bool().clone()
    words[:, 0] = False
    words[torch.arange(len(cube)), cube.lengths - 1] = False  # the final [SEP]
    if not words.any():
        raise ValueError("These sentences have no word tokens between [CLS] and [SEP].")
    return {
        "cls_from_input": from_input.numpy(),
        "cls_step": step[:, :, 0].mean(1).numpy(),
        "word_step": (step * words).sum((1, 2)).div(words.sum()).numpy(),
    }


def alikeness_by_layer(cube: Cube, hows: Sequence[str | int] = ("cls", "mean", "first", "sep")) -> dict[str, np.ndarray]:
    """Mean cosine between different sentences' vectors at every layer, per pooling: how -> (L+1,)."""
    cube = _check_cube(cube)
    return {
        str(how): np.array([alikeness(cube.pool(how, layer)) for layer in range(cube.num_layers + 1)]) for how in hows
    }


def layer_view(cube: Cube, layer: int) -> dict[str, Any]:
    """What the layer slider shows: the [CLS] cosine matrix between sentences at ``layer``.

    Returns:
        dict with ``layer``, ``matrix`` (N,N), ``alike`` (mean off-diagonal cosine), ``moved`` (mean
        cosine distance of [CLS] from its input embedding) and ``num_layers``.
    """
    cube = _check_cube(cube)
    if not isinstance(layer, (int, np.integer)) or not 0 <= layer <= cube.num_layers:
        raise ValueError(f"layer must be an integer from 0 (embeddings) to {cube.num_layers}, got {layer!r}.")
    vecs = cube.cls(int(layer))
    moved = 1 - _cos_rows(vecs.double(), cube.cls(0).double()).mean()
    return {
        "layer": int(layer),
        "matrix": cosine_matrix(vecs),
        "alike": alikeness(vecs),
        "moved": float(moved),
        "num_layers": cube.num_layers,
    }


# ----------------------------------------------------------------------------- 2. built from the other tokens


def far_word_effect(lm: LoadedModel, sentence: str, changed: str) -> dict[str, Any]:
    """Compare the [CLS] vectors of two sentences that differ in one word far from position 0.

    Returns:
        dict with ``tokens`` / ``changed_tokens``, ``positions`` (where the token rows differ) and
        ``cls_distance`` (L+1,): cosine distance between the two [CLS] vectors at every layer.
    """
    _check_model(lm)
    cube = encode(lm, [sentence, changed], attentions=False)
    a, b = cube.tokens
    diff = [i for i in range(max(len(a), len(b))) if i >= min(len(a), len(b)) or a[i] != b[i]]
    if not diff:
        raise ValueError("The two sentences tokenize the same: change a word.")
    dist = 1 - _cos_rows(cube.hidden_states[:, 0, 0].double(), cube.hidden_states[:, 1, 0].double())
    return {"tokens": a, "changed_tokens": b, "positions": diff, "cls_distance": dist.numpy()}


def _word_piece_ids(lm: LoadedModel, texts: Sequence[str]) -> list[list[int]]:
    tok = lm.tokenizer
    if isinstance(texts, str) or not texts:
        raise ValueError("texts must be a non-empty list of sentences.")
    for i, t in enumerate(texts):
        if not isinstance(t, str) or not t.strip():
            raise ValueError(f"texts[{i}] must be a non-empty string.")
    enc = tok(list(texts), add_special_tokens=False, truncation=True, max_length=lm.max_length - 2)
    return [list(map(int, r)) for r in enc["input_ids"]]


def strip_words(lm: LoadedModel, texts: Sequence[str], keeps: Sequence[int | None] = (None, 8, 4, 2, 1, 0)) -> dict[str, Any]:
    """Keep only the first k word pieces of each sentence and see how alike the [CLS] outputs become.

    Args:
        keeps: how many word pieces to keep (None: all of them); 0 leaves "[CLS] [SEP]".

    Returns:
        dict with ``keeps`` (list), ``alike`` (mean cosine between different sentences' last-layer
        [CLS]) and ``spread`` (largest L2 distance between two of them), one value per keep.
    """
    _check_model(lm)
    words = _word_piece_ids(lm, texts)
    if len(words) < 2:
        raise ValueError("strip_words needs at least two sentences.")
    tok = lm.tokenizer
    alike, spread = [], []
    for k in keeps:
        rows = [[tok.cls_token_id] + (w if k is None else w[:k]) + [tok.sep_token_id] for w in words]
        vecs = encode_ids(lm, rows, hidden_states=False, attentions=False).cls().double()
        alike.append(alikeness(vecs))
        spread.append(float(torch.cdist(vecs, vecs).max()))
    return {"keeps": list(keeps), "alike": np.array(alike), "spread": np.array(spread)}


def word_influence(lm: LoadedModel, sentence: str, layer: int = -1) -> dict[str, Any]:
    """Delete one word piece at a time and measure how far the [CLS] vector moves.

    Returns:
        dict with ``sentence``, ``tokens`` (the word pieces, no specials), ``distance`` (one cosine
        distance of [CLS] at ``layer`` per deleted piece) and ``layer``.
    """
    _check_model(lm)
    (words,) = _word_piece_ids(lm, [sentence])
    if len(words) < 2:
        raise ValueError("Give a sentence of at least two word pieces.")
    tok = lm.tokenizer
    rows = [[tok.cls_token_id] + words + [tok.sep_token_id]]
    rows += [[tok.cls_token_id] + words[:i] + words[i + 1:] + [tok.sep_token_id] for i in range(len(words))]
    last = layer in (-1, lm.num_layers)
    cube = encode_ids(lm, rows, hidden_states=not last, attentions=False)
    vecs = cube.cls(-1 if last else layer).double()
    dist = 1 - _cos_rows(vecs[1:], vecs[0:1].expand_as(vecs[1:]))
    return {
        "sentence": sentence,
        "tokens": tok.convert_ids_to_tokens(words),
        "distance": dist.numpy(),
        "layer": layer if layer >= 0 else lm.num_layers + 1 + layer,
    }


# ----------------------------------------------------------------------------- 3. why first? the position experiments


def layout_row(words: Sequence[int], layout: str, cls_id: int, sep_id: int) -> tuple[list[int], int | None]:
    """Build one id row for ``layout`` (see LAYOUTS); return (row, position of [CLS] or None)."""
    w = list(words)
    if layout == "standard":
        return [cls_id] + w + [sep_id], 0
    if layout == "cls_end":
        return w + [sep_id, cls_id], len(w) + 1
    if layout == "cls_middle":
        m = len(w) // 2
        return w[:m] + [cls_id] + w[m:] + [sep_id], m
    if layout == "no_cls":
        return w + [sep_id], None
    raise ValueError(f"Unknown layout {layout!r}: use one of {list(LAYOUTS)}.")


def _read(hs: torch.Tensor, mask: torch.Tensor, what: str, cls_pos: list[int | None], layout: str) -> torch.Tensor:
    """(L+1,B,T,H) -> (L+1,B,H) for one readout."""
    b = hs.shape[1]
    lengths = mask.sum(1)
    rows = torch.arange(b)
    if what == "mean":
        m = mask.to(hs.dtype)[None, :, :, None]
        return (hs * m).sum(2) / m.sum(2)
    if what == "cls":
        pos = torch.tensor(cls_pos)
    elif what == "first":
        pos = torch.full((b,), 0 if layout == "no_cls" else 1)
    elif what == "sep":  # the last [SEP]: final position, or one before [CLS] at the end
        pos = lengths - (2 if layout == "cls_end" else 1)
    elif what == "last":
        pos = lengths - (3 if layout == "cls_end" else 2)
    else:
        raise ValueError(f"Unknown readout {what!r}.")
    return hs[:, rows, pos]


def position_readouts(
    lm: LoadedModel,
    texts: Sequence[str],
    keys: Sequence[str] = tuple(READOUTS),
    *,
    all_layers: bool = True,
    chunk: int = 128,
) -> dict[str, np.ndarray]:
    """Sentence vectors of every readout in ``keys`` at every layer (or the last one only).

    Builds the id rows of each needed layout with :func:`layout_row`, runs them with
    ``helpers.encode_ids`` chunk by chunk, and keeps only the pooled vectors.

    Returns:
        key -> float32 array (L+1,N,H), or (1,N,H) with ``all_layers=False``.
    """
    _check_model(lm)
    unknown = [k for k in keys if k not in READOUTS]
    if unknown:
        raise ValueError(f"Unknown readout(s) {unknown}: use keys of READOUTS {list(READOUTS)}.")
    words = _word_piece_ids(lm, texts)
    tok = lm.tokenizer
    n, layers, h = len(words), (lm.num_layers + 1 if all_layers else 1), lm.hidden_size
    out = {k: np.zeros((layers, n, h), dtype=np.float32) for k in keys}
    for layout in LAYOUTS:
        wanted = [k for k in keys if READOUTS[k][0] == layout]
        if not wanted:
            continue
        built = [layout_row(w[: lm.max_length - 2], layout, tok.cls_token_id, tok.sep_token_id) for w in words]
        for start in range(0, n, chunk):
            part = built[start : start + chunk]
            cube = encode_ids(lm, [r for r, _ in part], hidden_states=all_layers, attentions=False)
            states = cube.hidden_states if all_layers else cube.last_hidden[None]
            cls_pos = [p for _, p in part]
            for k in wanted:
                vec = _read(states, cube.attention_mask, READOUTS[k][1], cls_pos, layout)
                out[k][:, start : start + len(part)] = vec.numpy()
    return out


@dataclass
class PositionResult:
    """One readout's measurements.

    Attributes:
        key / label / layout: which vector (see READOUTS).
        probe: linear-probe accuracy on the last layer (mean ± std over seeds).
        alike: (L+1,) mean cosine between different sentences' vectors per layer (1 = ignores the sentence).
    """

    key: str
    label: str
    layout: str
    probe: ProbeResult
    alike: np.ndarray

    @property
    def depends(self) -> float:
        """1 - alikeness at the last layer: how much the vector changes from sentence to sentence."""
        return 1.0 - float(self.alike[-1])


@dataclass
class PositionStudy:
    """All results of :func:`position_experiment`, in READOUTS order, plus what they were measured on."""

    results: list[PositionResult]
    model_name: str
    n_train: int
    n_test: int
    seeds: tuple[int, ...]
    extra: dict = field(default_factory=dict)

    def __getitem__(self, key: str) -> PositionResult:
        for r in self.results:
            if r.key == key:
                return r
        raise KeyError(f"No readout {key!r} in this study; it has {[r.key for r in self.results]}.")

    def keys(self) -> list[str]:
        return [r.key for r in self.results]


def position_experiment(
    lm: LoadedModel,
    train,
    test,
    *,
    keys: Sequence[str] = tuple(READOUTS),
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    alike_sentences: int = 200,
    C: float = 0.1,
) -> PositionStudy:
    """Measure every readout: probe accuracy on the reviews and how much the vector depends on the sentence.

    Args:
        train / test: TextSets (e.g. ``load_reviews("train")``) with ``.texts`` and ``.labels``.
        seeds: one probe per seed (each trains on its own 90% of ``train``).
        alike_sentences: how many test sentences the per-layer alikeness uses.
        C: the probes' inverse regularisation; 0.1 fits several times faster than 1.0 on a few hundred
            reviews of 384+ dimensions, and generalises no worse.
    """
    for name, s in (("train", train), ("test", test)):
        if not hasattr(s, "texts") or not hasattr(s, "labels") or len(s.texts) < 4:
            raise ValueError(f"{name} must be a TextSet with at least 4 sentences (e.g. helpers.load_reviews('{name}')).")
    seeds = tuple(seeds)
    vec_train = position_readouts(lm, train.texts, keys, all_layers=False)  # probes read the last layer
    vec_test = position_readouts(lm, test.texts, keys)
    results = []
    for k in keys:
        layout, _, label = READOUTS[k]
        probe = linear_probe(vec_train[k][-1], train.labels, vec_test[k][-1], test.labels, seeds=seeds, name=label, C=C)
        sub = vec_test[k][:, :alike_sentences]
        alike = np.array([alikeness(sub[layer]) for layer in range(sub.shape[0])])
        results.append(PositionResult(k, label, layout, probe, alike))
    return PositionStudy(results, lm.name, len(train.texts), len(test.texts), seeds)


def results_table(study: PositionStudy) -> str:
    """A plain-text table: readout, probe accuracy ± std, alikeness at the input and at the last layer."""
    width = max(len(r.label) for r in study.results)
    lines = [f"{'sentence vector':<{width}}  probe accuracy   alike@input  alike@last",
             "-" * (width + 43)]
    for r in study.results:
        lines.append(
            f"{r.label:<{width}}  {r.probe.mean:.3f} ± {r.probe.std:.3f}    {r.alike[0]:10.3f}  {r.alike[-1]:10.3f}"
        )
    chance = study.results[0].probe.chance
    lines.append(f"(chance {chance:.3f}; {study.n_train} train / {study.n_test} test reviews; {len(study.seeds)} seeds; "
                 "alike = mean cosine between different sentences, 1 = the same for every sentence)")
    return "\n".join(lines)


def margin(a: ProbeResult, b: ProbeResult) -> float:
    """How far apart two probe accuracies must be to call them different.

    The larger of: the two seed spreads added, two binomial standard errors of the test set
    (a test set of n sentences cannot resolve much less than that), and 0.01.
    """
    p = min(max((a.mean + b.mean) / 2, 0.0), 1.0)
    n = max(1, min(a.n_test, b.n_test))
    return max(0.01, a.std + b.std, 2 * math.sqrt(p * (1 - p) / n))


def compare(a: ProbeResult, b: ProbeResult) -> str:
    """"higher", "lower" or "about the same": ``a`` against ``b`` (see :func:`margin`)."""
    margin_ = margin(a, b)
    d = a.mean - b.mean
    if abs(d) <= margin_:
        return "about the same"
    return "higher" if d > 0 else "lower"


def conclusion(study: PositionStudy) -> str:
    """The lesson's conclusion, phrased from the numbers in ``study``."""
    base = study["cls"].probe
    lines = [
        f"[CLS] at position 0 reaches {base.mean:.3f} ± {base.std:.3f} (chance {base.chance:.3f}).",
        f"Differences under about {margin(base, base):.3f} are within the noise: the seeds' spread, or two "
        f"standard errors of a {base.n_test}-review test set.",
    ]
    for key in ("cls_end", "cls_middle", "nocls_first", "first", "last", "sep", "mean"):
        if key not in study.keys():
            continue
        r = study[key]
        verdict = compare(r.probe, base)
        lines.append(f"- {r.label}: {r.probe.mean:.3f} ± {r.probe.std:.3f}, {verdict} than the usual [CLS]"
                     .replace("about the same than", "about the same as"))
    best = max(study.results, key=lambda r: r.probe.mean)
    lines.append(f"Best readout here: {best.label} ({best.probe.mean:.3f}).")
    moved = [study[k] for k in ("cls_end", "cls_middle") if k in study.keys()]
    if base.mean - base.chance <= margin(base, base):
        lines.append("[CLS] itself is not clearly above chance here (an untrained model, or too few reviews), "
                     "so moving it cannot show whether its position matters.")
    elif moved:
        same = [r.label for r in moved if compare(r.probe, base) != "lower"]
        if len(same) == len(moved):
            lines.append("Moving [CLS] away from position 0 did not make it measurably worse (within the noise): "
                         "for this model, index 0 itself is not what makes the vector useful.")
        elif same:
            lines.append(f"Only some moves kept the accuracy ({', '.join(same)}): the position matters somewhat here.")
        else:
            lines.append("Moving [CLS] made it measurably worse for this model: it only ever saw [CLS] at 0 in "
                         "training, so what it learned to gather there does not carry over to other positions.")
    if moved:
        fixed = study["cls"].alike[0]
        varied = [f"{r.label} {r.alike[0]:.3f}" for r in moved]
        lines.append(f"At the input, [CLS] at 0 is the same vector for every sentence (alike {fixed:.3f}); "
                     f"moved, it already differs ({'; '.join(varied)}) because its position embedding changes with the length.")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- drawing


def draw_movement(movement: dict[str, np.ndarray], alike: dict[str, np.ndarray] | None = None):
    """Left: how far [CLS] and the words move per layer. Right: alikeness between sentences per layer."""
    import matplotlib.pyplot as plt

    panels = 2 if alike else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.6), squeeze=False)
    ax = axes[0, 0]
    steps = np.arange(1, len(movement["cls_step"]) + 1)
    ax.plot(steps, movement["cls_step"], "o-", label="[CLS]: change made by this layer")
    ax.plot(steps, movement["word_step"], "s--", label="word tokens: change made by this layer")
    ax.plot(np.arange(len(movement["cls_from_input"])), movement["cls_from_input"], "^:", label="[CLS]: distance from its input")
    ax.set_xlabel("layer")
    ax.set_ylabel("cosine distance")
    ax.set_title("How far the vectors move")
    ax.legend(fontsize=8)
    if alike:
        ax = axes[0, 1]
        for how, values in alike.items():
            ax.plot(np.arange(len(values)), values, "o-", label=how)
        ax.set_xlabel("layer (0 = embeddings)")
        ax.set_ylabel("mean cosine, different sentences")
        ax.set_title("How alike different sentences' vectors are")
        ax.legend(fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def draw_layer_view(view: dict[str, Any], labels: Sequence[str] | None = None):
    """Heatmap of the [CLS] cosine matrix between sentences at one layer."""
    import matplotlib.pyplot as plt

    m = view["matrix"]
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    im = ax.imshow(m, vmin=min(0.0, float(m.min())), vmax=1.0, cmap="viridis")
    ticks = labels if labels is not None else [str(i) for i in range(len(m))]
    ax.set_xticks(range(len(m)))
    ax.set_yticks(range(len(m)))
    ax.set_xticklabels([str(i) for i in range(len(m))], fontsize=7)
    ax.set_yticklabels([t[:28] for t in ticks], fontsize=7)
    ax.set_title(f"[CLS] cosine between sentences, layer {view['layer']}", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    plt.close(fig)
    return fig


def draw_word_influence(influence: dict[str, Any]):
    """Bars: how far [CLS] moves when each word piece is deleted."""
    import matplotlib.pyplot as plt

    tokens, dist = influence["tokens"], influence["distance"]
    fig, ax = plt.subplots(figsize=(6, 0.25 * len(tokens) + 1.2))
    ax.barh(range(len(tokens)), dist, color="#5b8fc7")
    ax.set_yticks(range(len(tokens)))
    ax.set_yticklabels(tokens, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"cosine distance of [CLS] (layer {influence['layer']}) when the piece is deleted")
    fig.tight_layout()
    plt.close(fig)
    return fig


def draw_far_word(effect: dict[str, Any], strip: dict[str, Any] | None = None):
    """Left: [CLS] distance per layer after changing one far word. Right: alikeness as words are stripped."""
    import matplotlib.pyplot as plt

    panels = 2 if strip else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.4), squeeze=False)
    ax = axes[0, 0]
    d = effect["cls_distance"]
    ax.plot(range(len(d)), d, "o-")
    ax.set_xlabel("layer (0 = embeddings)")
    ax.set_ylabel("cosine distance of the two [CLS]")
    ax.set_title(f"One word changed at position {effect['positions'][0]}")
    if strip:
        ax = axes[0, 1]
        labels = ["all" if k is None else str(k) for k in strip["keeps"]]
        ax.plot(range(len(labels)), strip["alike"], "o-")
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels)
        ax.set_xlabel("word pieces kept")
        ax.set_ylabel("mean cosine between sentences' [CLS]")
        ax.set_title("Strip the words: [CLS] collapses")
    fig.tight_layout()
    plt.close(fig)
    return fig


def draw_position_results(study: PositionStudy):
    """Left: probe accuracy ± std per readout. Right: how much each vector depends on the sentence."""
    import matplotlib.pyplot as plt

    res = study.results
    y = np.arange(len(res))
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.4 * len(res) + 1.6), sharey=True)
    ax = axes[0]
    ax.barh(y, [r.probe.mean for r in res], xerr=[r.probe.std for r in res], color="#5b8fc7", capsize=3)
    ax.axvline(res[0].probe.chance, color="grey", ls=":", label="chance")
    lo = min(r.probe.mean - r.probe.std for r in res)
    ax.set_xlim(max(0.0, min(lo, res[0].probe.chance) - 0.05), 1.0)
    ax.set_yticks(y)
    ax.set_yticklabels([r.label for r in res], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"probe accuracy on the reviews ({len(study.seeds)} seeds)")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.barh(y, [r.depends for r in res], color="#e39b54")
    ax.set_xlabel("1 - mean cosine between sentences (last layer)")
    ax.set_title("How much the vector depends on the sentence", fontsize=9)
    fig.tight_layout()
    plt.close(fig)
    return fig


# ----------------------------------------------------------------------------- widgets (HTML views: fast to redraw)


def layer_html(view: dict[str, Any]) -> str:
    """The numbers under the layer slider."""
    return (
        f"<p>layer {view['layer']} of {view['num_layers']}: mean cosine between different sentences' [CLS] = "
        f"<b>{view['alike']:.3f}</b>; [CLS] has moved {view['moved']:.3f} (cosine distance) from its input embedding.</p>"
    )


def build_layer_explorer(cube: Cube, labels: Sequence[str] | None = None, layer: int = 0):
    """A layer slider over the [CLS] similarity between sentences.

    Returns:
        ipywidgets.VBox whose children are [IntSlider (layer), HTML (numbers), HTML (cosine matrix)].
    """
    import ipywidgets as W

    cube = _check_cube(cube)
    labels = list(labels) if labels is not None else list(cube.texts)
    slider = W.IntSlider(value=layer, min=0, max=cube.num_layers, description="layer", continuous_update=False)
    text, grid = W.HTML(), W.HTML()
    views = [layer_view(cube, i) for i in range(cube.num_layers + 1)]  # small: one (N,N) matrix per layer

    def redraw(_change=None) -> None:
        view = views[slider.value]
        text.value = layer_html(view)
        grid.value = matrix_html(view["matrix"], labels, vmin=min(0.0, float(view["matrix"].min())))

    slider.observe(redraw, names="value")
    redraw()
    return W.VBox([slider, text, grid])


def build_sentence_explorer(lm: LoadedModel, sentences: Sequence[str], layer: int = -1):
    """A sentence chooser: which word pieces move the [CLS] output most when deleted.

    Everything is computed when the explorer is built; choosing a sentence only redraws.

    Returns:
        ipywidgets.VBox whose children are [Dropdown (sentence), HTML (summary), HTML (bars)].
    """
    import ipywidgets as W

    if isinstance(sentences, str) or len(sentences) == 0:
        raise ValueError("sentences must be a non-empty list of strings.")
    influence = {s: word_influence(lm, s, layer) for s in sentences}
    chooser = W.Dropdown(options=list(sentences), value=sentences[0], description="sentence",
                         layout=W.Layout(width="95%"))
    text, bars = W.HTML(), W.HTML()

    def redraw(_change=None) -> None:
        inf = influence[chooser.value]
        top = int(np.argmax(inf["distance"]))
        text.value = (f"<p>[CLS] at layer {inf['layer']}: deleting <code>{html.escape(inf['tokens'][top])}</code> "
                      f"moves it the most ({inf['distance'][top]:.3f} cosine distance); the least: "
                      f"{float(inf['distance'].min()):.3f}.</p>")
        bars.value = bars_html(inf["tokens"], {"[CLS] moves when this piece is deleted": inf["distance"]})

    chooser.observe(redraw, names="value")
    redraw()
    return W.VBox([chooser, text, bars])


def position_html(study: PositionStudy, key: str, layer: int) -> str:
    """The numbers the position chooser shows for one readout and layer."""
    r, base = study[key], study["cls"]
    verdict = compare(r.probe, base.probe)
    return (
        f"<p><b>{html.escape(r.label)}</b> (input layout: <code>{html.escape(LAYOUTS[r.layout])}</code>)<br>"
        f"probe accuracy (last layer): <b>{r.probe.mean:.3f} ± {r.probe.std:.3f}</b> "
        f"({verdict} {'as' if verdict == 'about the same' else 'than'} "
        f"the usual [CLS]: {base.probe.mean:.3f} ± {base.probe.std:.3f})<br>"
        f"mean cosine between sentences at layer {layer}: <b>{r.alike[layer]:.3f}</b> "
        f"(usual [CLS]: {base.alike[layer]:.3f})</p>"
    )


def build_position_explorer(study: PositionStudy, key: str = "cls_end", layer: int | None = None):
    """A position chooser (which vector stands for the sentence) and a layer slider, over a PositionStudy.

    Returns:
        ipywidgets.VBox whose children are [Dropdown (readout), IntSlider (layer), HTML (numbers),
        HTML (per-layer bars)].
    """
    import ipywidgets as W

    if not isinstance(study, PositionStudy):
        raise ValueError("Pass the PositionStudy returned by position_experiment().")
    last = len(study.results[0].alike) - 1
    chooser = W.Dropdown(options=[(r.label, r.key) for r in study.results], value=key, description="vector")
    slider = W.IntSlider(value=last if layer is None else layer, min=0, max=last, description="layer",
                         continuous_update=False)
    text, bars = W.HTML(), W.HTML()

    def redraw(_change=None) -> None:
        r, base = study[chooser.value], study["cls"]
        text.value = position_html(study, chooser.value, slider.value)
        labels = [f"{'▶ ' if i == slider.value else ''}layer {i}" for i in range(last + 1)]
        series = {f"1 - alike: {r.label}": 1 - r.alike, f"1 - alike: {base.label}": 1 - base.alike}
        bars.value = "<p>How much the vector depends on the sentence, per layer:</p>" + bars_html(labels, series)

    chooser.observe(redraw, names="value")
    slider.observe(redraw, names="value")
    redraw()
    return W.VBox([chooser, slider, text, bars])


# ----------------------------------------------------------------------------- mean pooling vs [CLS], other models


def cls_vs_mean(lm: LoadedModel, train, test, seeds: Sequence[int] = (0, 1, 2)) -> dict[str, ProbeResult]:
    """Probe accuracy of the last-layer [CLS] and of the mean of all tokens: {"cls": ..., "mean": ...}."""
    study = position_experiment(lm, train, test, keys=("cls", "mean"), seeds=seeds, alike_sentences=2)
    return {"cls": study["cls"].probe, "mean": study["mean"].probe}


# ----------------------------------------------------------------------------- checks for the "Try it" cells


def check_input_cls(answer: Any, identity: dict[str, float]) -> CheckResult:
    """"Do two different sentences get the same [CLS] input embedding?" answered True/False."""
    if _unanswered(answer):
        return CheckResult(None, "Not answered yet: set answer to True or False.")
    if not isinstance(answer, bool):
        return CheckResult(False, f"Answer True or False, not {answer!r}.")
    same = identity["input_max_distance"] < 1e-5
    if answer == same:
        return CheckResult(True, f"Right: the largest distance between two sentences' [CLS] input vectors is "
                                 f"{identity['input_max_distance']:.2g}. Token, position 0 and segment A are the same "
                                 "for every sentence, and nothing else enters before the first layer.")
    return CheckResult(False, f"Not quite: the largest distance is {identity['input_max_distance']:.2g}. At the input "
                              "[CLS] is the sum of its token, position-0 and segment-A embeddings (then LayerNorm): "
                              "which of those depends on the sentence?")


def check_best_readout(answer: Any, study: PositionStudy) -> CheckResult:
    """Is ``answer`` (a READOUTS key) the readout with the highest mean probe accuracy, or tied with it?"""
    if _unanswered(answer):
        return CheckResult(None, f"Not answered yet: set answer to one of {study.keys()}.")
    if answer not in study.keys():
        return CheckResult(False, f"{answer!r} is not a readout of this study: use one of {study.keys()}.")
    best = max(study.results, key=lambda r: r.probe.mean)
    chosen = study[answer]
    if chosen.key == best.key:
        return CheckResult(True, f"Right: {best.label} is best here ({best.probe.mean:.3f} ± {best.probe.std:.3f}).")
    if compare(chosen.probe, best.probe) == "about the same":
        return CheckResult(True, f"Close enough: {chosen.label} ({chosen.probe.mean:.3f} ± {chosen.probe.std:.3f}) is "
                                 f"within the error bars of the best, {best.label} ({best.probe.mean:.3f}).")
    return CheckResult(False, f"Not quite: {chosen.label} gets {chosen.probe.mean:.3f}; the best is {best.label} "
                              f"({best.probe.mean:.3f} ± {best.probe.std:.3f}). Look at the table again.")
