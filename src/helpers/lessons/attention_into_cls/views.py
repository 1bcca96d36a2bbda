"""Where does [CLS] read from? Attention statistics, rollout, flow, attribution, plots and explorers.

Shapes: L = layers, B = sentences, A = heads, T = padded tokens, n = real tokens of one sentence.
Attention matrices are row-stochastic: row q (the query token) holds the weights of the tokens it
reads from (the columns), and every real row sums to 1. Padded query rows are zero in a Cube and are
never counted here; padded columns are cut away before anything is drawn.

The module keeps compute apart from render: statistics return arrays or dicts, ``draw_*`` functions
return matplotlib Figures, ``build_*_explorer`` functions return ipywidgets trees whose callbacks call
the pure functions, and ``check_*`` functions mark the notebook's exercises.
"""

from __future__ import annotations

import functools
import io
import math
import string
import unicodedata
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..core.checks import CheckResult as Check
from ..core.checks import unanswered as _unanswered

#: The token kinds shares are computed for, in display order.
KINDS = ("cls", "sep", "punct", "word")
KIND_LABELS = {"cls": "[CLS]", "sep": "[SEP]", "punct": "punctuation", "word": "words"}
KIND_COLORS = {"cls": "tab:red", "sep": "tab:blue", "punct": "tab:green", "word": "tab:gray"}

#: What Clark et al. (2019, "What Does BERT Look At?", section 3 and figure 2) report for
#: bert-base-uncased, as ranges of 1-based layers and a level: these are figures read from
#: the paper's text, not a curve we computed. Only comparable when the loaded model is bert-base.
CLARK_BERT_BASE = {
    "cls": {"layers": (2, 3), "level": 0.25, "text": "about a quarter of all attention goes to [CLS] in layers 2-3"},
    "sep": {"layers": (6, 10), "level": 0.5, "text": "over half of all attention goes to [SEP] in layers 6-10"},
    "punct": {"layers": (11, 12), "level": 0.5, "text": "over half goes to periods and commas in layers 11-12"},
}


# ============================================================================ attribution and rank correlation


@dataclass
class ClsClassifier:
    """A logistic regression on the last layer's [CLS] vector; ``score(X)`` is its decision value (logit)."""

    model: object
    label_names: list[str]
    train_accuracy: float
    test_accuracy: float | None = None

    def score(self, cls_vec: np.ndarray) -> np.ndarray:
        """(B,H) [CLS] vectors -> (B,) logit for the second label."""
        return self.model.decision_function(_np(cls_vec))


def fit_cls_classifier(lm, texts: Sequence[str], labels, test_texts=None, test_labels=None, C: float = 1.0):
    """Train a logistic regression on the last layer's [CLS] vectors of ``texts`` (helpers.embed, pooling cls)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ..core.cube import embed

    y = np.asarray(labels)
    if len(np.unique(y)) < 2:
        raise ValueError("labels hold a single class: a classifier needs at least two.")
    x = embed(lm, list(texts), pooling="cls")
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000)).fit(x, y)
    out = ClsClassifier(clf, [str(v) for v in np.unique(y)], float((clf.predict(x) == y).mean()))
    if test_texts is not None:
        xt = embed(lm, list(test_texts), pooling="cls")
        out.test_accuracy = float((clf.predict(xt) == np.asarray(test_labels)).mean())
    return out


def blank_out_attribution(lm, text: str, score: Callable[[np.ndarray], np.ndarray], pair: str | None = None):
    """How much the classifier's score on [CLS] drops when each token is blanked out.

    A token is blanked by setting its attention-mask entry to 0, so no other token can read it while
    every other position keeps its place. [CLS] itself is never blanked (its vector is what is scored).

    Args:
        lm: a LoadedModel.
        text (and optional pair): one input.
        score: (B,H) last-layer [CLS] vectors -> (B,) scores, e.g. ClsClassifier.score.

    Returns:
        (n,) score(full input) - score(input without token i); 0 at position 0.
    """
    import torch

    from ..core.cube import tokenize

    rows, _ = tokenize(lm, [text], None if pair is None else [pair])
    ids = torch.tensor(rows[0]["input_ids"])
    types = torch.tensor(rows[0]["token_type_ids"])
    n = len(ids)
    mask = torch.ones((n, n), dtype=torch.long)  # row 0: full input; row i: token i blanked
    mask[torch.arange(1, n), torch.arange(1, n)] = 0
    inputs = {"input_ids": ids.repeat(n, 1), "attention_mask": mask}
    if "token_type_ids" in lm.tokenizer.model_input_names:
        inputs["token_type_ids"] = types.repeat(n, 1)
    inputs = {k: v.to(lm.device) for k, v in inputs.items()}
    with torch.inference_mode():
        out = lm.encoder(**inputs, return_dict=True)
    cls_vec = out.last_hidden_state[:, 0].float().cpu().numpy()
    s = np.asarray(score(cls_vec), dtype=np.float64)
    attr = s[0] - s
    attr[0] = 0.0
    return attr


def explanation_scores(att: np.ndarray, layer: int | None = None, flow: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """(n,) scores of every input token for [CLS] after ``layer`` (default last): raw attention, rollout, flow.

    raw: the head-averaged [CLS] row of that layer; rollout: row 0 of the rollout; flow: attention_flow
    (pass a precomputed one to skip the max-flow).
    """
    att = _check_square(_np(att))
    top = att.shape[0] if layer is None else int(layer)
    return {
        "raw attention": att[top - 1].mean(0)[0],
        "rollout": rollout(att)[top - 1][0],
        "flow": attention_flow(att, top) if flow is None else np.asarray(flow),
    }


def rank_agreement(scores: dict[str, np.ndarray], attribution: np.ndarray, kinds: Sequence[str]) -> dict[str, float]:
    """Spearman correlation of each score with |attribution| over the word and punctuation tokens only."""
    kinds = np.asarray(kinds, dtype=object)
    sel = np.isin(kinds, ["word", "punct"])
    if sel.sum() < 3:
        raise ValueError("Need at least 3 non-special tokens to rank; use a longer sentence.")
    target = np.abs(np.asarray(attribution))[sel]
    return {name: spearman(v[sel], target) for name, v in scores.items()}


# ============================================================================ the "no-op" check: value norms


def value_norms(lm, cube) -> np.ndarray:
    """(L,B,A,T) size of what each token would contribute through each head: ||W_O^h (W_V^h x + b_V^h)||.

    Kobayashi et al. (2020) weigh attention by these norms: a token with a large weight but a tiny
    transformed value adds almost nothing, which is one way to test the "no-op" reading. Zero at padding.
    """
    import torch

    if cube.hidden_states is None:
        raise ValueError("value_norms needs hidden states: encode with hidden_states=True.")
    layers = getattr(getattr(lm.encoder, "encoder", None), "layer", None)
    if layers is None:
        raise ValueError("value_norms works for BERT-style encoders (encoder.layer[i].attention.self/output).")
    heads = lm.num_heads
    out = []
    with torch.inference_mode():
        for i, block in enumerate(layers):
            x = cube.hidden_states[i].to(lm.device)
            v = block.attention.self.value(x)  # (B,T,H)
            b_, t_, h_ = v.shape
            v = v.view(b_, t_, heads, h_ // heads)
            w = block.attention.output.dense.weight.view(h_, heads, h_ // heads)  # (H_out, A, d)
            fx = torch.einsum("btad,oad->btao", v, w)
            out.append(fx.norm(dim=-1).float().cpu() * cube.attention_mask[:, :, None].float())
    return torch.stack(out).permute(0, 1, 3, 2).numpy()


def norm_weighted_shares(attentions, norms: np.ndarray, attention_mask, kinds) -> dict[str, np.ndarray]:
    """attention_shares() of alpha_qt * ||f(x_t)|| renormalised per row: where the heads' *output* comes from."""
    a = _np(attentions, np.float32) * norms[:, :, :, None, :].astype(np.float32)
    total = a.sum(-1, keepdims=True)
    a = np.divide(a, total, out=np.zeros_like(a), where=total > 0)
    return attention_shares(a, attention_mask, kinds)


# ============================================================================ drawing (Figures, never shown here)


def draw_attention_map(att: np.ndarray, rows: Sequence[str], cols: Sequence[str] | None = None, title: str = ""):
    """Heatmap of one (q,k) attention matrix: rows are the reading tokens, columns the tokens read."""
    att = _np(att)
    cols = rows if cols is None else cols
    size = 2.5 + 0.16 * max(len(rows), len(cols))
    fig = _figure(size, size)
    ax = fig.add_subplot()
    from matplotlib.colors import PowerNorm

    # one fixed scale for every map (0 to 1; the square-root stretch makes small weights visible)
    im = ax.imshow(att, cmap="Blues", norm=PowerNorm(0.5, vmin=0.0, vmax=1.0), aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=90, fontsize=7)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    ax.set_xlabel("read from (key)")
    ax.set_ylabel("reading token (query)")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.6)
    return fig


def draw_cls_rows(rows: np.ndarray, tokens: Sequence[str], title: str = "What [CLS] reads, per layer and head"):
    """(L,A,n) [CLS] rows as one image: a band of A heads per layer, one column per token."""
    rows = _np(rows)
    n_layers, n_heads, n = rows.shape
    fig = _figure(2.5 + 0.2 * n, 1.5 + 0.06 * n_layers * n_heads)
    ax = fig.add_subplot()
    im = ax.imshow(rows.reshape(n_layers * n_heads, n), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for layer in range(1, n_layers):
        ax.axhline(layer * n_heads - 0.5, color="black", lw=0.6)
    ax.set_yticks([(layer + 0.5) * n_heads - 0.5 for layer in range(n_layers)], [f"layer {layer + 1}" for layer in range(n_layers)], fontsize=7)
    ax.set_xticks(range(n), tokens, rotation=90, fontsize=7)
    ax.set_title(title + f" ({n_heads} heads per band)", fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.6, label="attention weight")
    return fig


def draw_entropy(norm_entropy: np.ndarray, title: str = "Entropy of the [CLS] row / ln n"):
    """(L,A) normalised entropies: one dot per head, the layer mean as a line; 1 = uniform, 0 = one token."""
    ent = _np(norm_entropy)
    n_layers, n_heads = ent.shape
    fig = _figure(6, 3.2)
    ax = fig.add_subplot()
    x = np.arange(1, n_layers + 1)
    ax.scatter(np.repeat(x, n_heads), ent.ravel(), s=12, alpha=0.5, color="tab:purple", label="one head")
    ax.plot(x, ent.mean(1), color="black", marker="o", label="layer mean")
    ax.axhline(1.0, ls="--", color="gray", lw=1, label="uniform (ln n)")
    ax.set_xticks(x)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("layer")
    ax.set_ylabel("entropy / ln n")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    return fig


def draw_shares(shares: dict[str, np.ndarray], title: str = "", reference: dict | None = None, kinds=("cls", "sep", "punct")):
    """Per layer, the share of attention landing on each kind: heads as dots, the layer mean as a line.

    ``reference`` (e.g. CLARK_BERT_BASE) adds the published bert-base levels as dashed segments.
    """
    fig = _figure(6.5, 3.4)
    ax = fig.add_subplot()
    for k in kinds:
        s = _np(shares[k])
        n_layers, n_heads = s.shape
        x = np.arange(1, n_layers + 1)
        ax.scatter(np.repeat(x, n_heads) + (KINDS.index(k) - 1) * 0.08, s.ravel(), s=8, alpha=0.35, color=KIND_COLORS[k])
        ax.plot(x, s.mean(1), marker="o", color=KIND_COLORS[k], label=f"to {KIND_LABELS[k]} (this model)")
        if reference and k in reference:
            lo, hi = reference[k]["layers"]
            ax.plot([lo - 0.3, hi + 0.3], [reference[k]["level"]] * 2, ls="--", lw=2.5, color=KIND_COLORS[k],
                    alpha=0.6, label=f"Clark et al. bert-base: {reference[k]['text']}")
        ax.set_xticks(x)
    ax.set_ylim(0, 1)
    ax.set_xlabel("layer")
    ax.set_ylabel("average share of attention")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6.5, loc="upper left")
    return fig


def draw_kind_bars(shares: dict[str, np.ndarray], title: str = "Where [CLS]'s attention goes"):
    """Stacked bars per layer of the heads' mean share to each kind (e.g. attention_shares(query='cls'))."""
    means = layer_means(shares)
    n_layers = len(next(iter(means.values())))
    fig = _figure(6, 3.2)
    ax = fig.add_subplot()
    x = np.arange(1, n_layers + 1)
    bottom = np.zeros(n_layers)
    for k in KINDS:
        ax.bar(x, means[k], bottom=bottom, color=KIND_COLORS[k], label=KIND_LABELS[k])
        bottom += means[k]
    ax.set_xticks(x)
    ax.set_ylim(0, 1)
    ax.set_xlabel("layer")
    ax.set_ylabel("share of attention")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def draw_scores(tokens: Sequence[str], scores: dict[str, np.ndarray], title: str = ""):
    """Grouped bars, one group per token: each score normalised to sum 1 over the tokens."""
    fig = _figure(3 + 0.3 * len(tokens), 3.2)
    ax = fig.add_subplot()
    x = np.arange(len(tokens))
    width = 0.8 / max(len(scores), 1)
    for i, (name, v) in enumerate(scores.items()):
        v = np.abs(np.asarray(v, float))
        total = v.sum()
        ax.bar(x + (i - (len(scores) - 1) / 2) * width, v / total if total > 0 else v, width, label=name)
    ax.set_xticks(x, tokens, rotation=90, fontsize=7)
    ax.set_ylabel("share (each method sums to 1)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return fig


# ============================================================================ explorers


@dataclass
class MapView:
    """What the attention explorer shows for one choice of example, layer and head."""

    matrix: np.ndarray  # (n, m) after hiding
    rows: list[str]
    cols: list[str]
    title: str


def attention_view(att: np.ndarray, tokens: Sequence[str], layer: int, head: int | None, hide_special: bool,
                   cls_token: str = "[CLS]", sep_token: str = "[SEP]") -> MapView:
    """The matrix one explorer state shows: layer (1-based), head (0-based; None = mean of heads)."""
    att = _np(att)
    n_layers, n_heads = att.shape[:2]
    if not 1 <= layer <= n_layers:
        raise ValueError(f"layer must be 1..{n_layers}, got {layer}.")
    if head is not None and not 0 <= head < n_heads:
        raise ValueError(f"head must be 0..{n_heads - 1} (or None for the mean), got {head}.")
    m = att[layer - 1].mean(0) if head is None else att[layer - 1, head]
    cols = list(tokens)
    if hide_special:
        kinds = token_kinds(tokens, cls_token, sep_token)
        m, kept = hide_columns(m, np.isin(kinds, ["cls", "sep"]))
        cols = [tokens[i] for i in kept]
    who = "mean of heads" if head is None else f"head {head}"
    extra = ", [CLS]/[SEP] columns hidden, rows renormalised" if hide_special else ""
    return MapView(m, list(tokens), cols, f"layer {layer}, {who}{extra}")


def _map_colours(matrix: np.ndarray) -> np.ndarray:
    """(n,m) weights -> (n,m,3) uint8 colours: the "Blues" map on a fixed 0..1 square-root scale (as drawn)."""
    from matplotlib import colormaps

    scaled = np.sqrt(np.clip(np.asarray(matrix, float), 0.0, 1.0))
    return (colormaps["Blues"](scaled)[..., :3] * 255).astype(np.uint8)


def render_map_png(view: MapView, max_grid: int = 600) -> bytes:
    """PNG of an attention map for the explorer, drawn with Pillow in a few ms (no matplotlib layout).

    Same content as draw_attention_map (rows = reading tokens, columns = tokens read, fixed 0..1
    square-root colour scale); use draw_attention_map for a Figure to save.
    """
    from PIL import Image, ImageDraw

    matrix = np.asarray(view.matrix, float)
    n_rows, n_cols = matrix.shape
    cell = int(max(8, min(24, max_grid // max(n_rows, n_cols, 1))))
    font, small = _font(max(7, min(11, cell - 2))), _font(10)
    row_w = int(max(font.getlength(t) for t in view.rows)) + 8
    col_h = int(max(font.getlength(t) for t in view.cols)) + 8
    top, left = 28, row_w + 6
    grid_w, grid_h = n_cols * cell, n_rows * cell
    width = left + grid_w + 80
    height = top + grid_h + col_h + 22
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.text((6, 6), view.title, fill="black", font=_font(12))
    # the cells
    cells = Image.fromarray(_map_colours(matrix)).resize((grid_w, grid_h), Image.NEAREST)
    img.paste(cells, (left, top))
    draw.rectangle([left - 1, top - 1, left + grid_w, top + grid_h], outline="black")
    # row labels, right-aligned beside the grid
    for i, t in enumerate(view.rows):
        draw.text((left - 4, top + i * cell + cell / 2), t, fill="black", font=font, anchor="rm")
    # column labels: written horizontally, then the strip is turned a quarter turn (read bottom to top)
    strip = Image.new("RGB", (col_h, grid_w), "white")
    sdraw = ImageDraw.Draw(strip)
    for j, t in enumerate(view.cols):
        sdraw.text((col_h - 4, j * cell + cell / 2), t, fill="black", font=font, anchor="rm")
    img.paste(strip.transpose(Image.Transpose.ROTATE_90), (left, top + grid_h + 1))
    draw.text((left + grid_w / 2, height - 4), "columns: read from (key)   rows: reading token (query)",
              fill="black", font=small, anchor="ms")
    # colour bar on the same square-root scale
    bar_x, bar_h = left + grid_w + 14, max(min(grid_h, 240), 60)
    ramp = np.linspace(1.0, 0.0, bar_h)[:, None].repeat(12, 1)
    img.paste(Image.fromarray(_map_colours(ramp)), (bar_x, top))
    draw.rectangle([bar_x - 1, top - 1, bar_x + 12, top + bar_h], outline="black")
    for tick in (0.0, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0):
        y = top + (1 - math.sqrt(tick)) * (bar_h - 1)
        draw.line([bar_x + 12, y, bar_x + 16, y], fill="black")
        draw.text((bar_x + 19, y), f"{tick:g}", fill="black", font=small, anchor="lm")
    buf = io.BytesIO()
    img.save(buf, format="png", compress_level=1)
    return buf.getvalue()


def _example_options(cubes) -> list[tuple[str, tuple[int, int]]]:
    opts = []
    for c, cube in enumerate(cubes):
        for b in range(len(cube.tokens)):
            text = cube.texts[b] if cube.pairs is None else f"{cube.texts[b]} || {cube.pairs[b]}"
            label = f"{len(opts)}: {text[:60]}{'...' if len(text) > 60 else ''} ({len(cube.tokens[b])} tokens)"
            opts.append((label, (c, b)))
    return opts


def build_attention_explorer(cubes, lm=None, save_folder=None):
    """Attention map explorer: sentence chooser, layer and head sliders, mean-of-heads and hide-[CLS]/[SEP] toggles.

    Args:
        cubes: one Cube or a list of them (e.g. single sentences and sentence pairs); every row of every
            cube is an example (its index in the padded batch), drawn without padding.
        lm: the LoadedModel (for its [CLS]/[SEP] strings), optional.
        save_folder: where the save button writes PNG and SVG (default .cache/figures).

    Returns:
        a VBox; ``.controls`` holds the widgets by name, ``.view()`` the current MapView, ``.figure()`` the Figure.
    """
    import ipywidgets as w

    cubes = [cubes] if not isinstance(cubes, (list, tuple)) else list(cubes)
    if not cubes or any(c.attentions is None for c in cubes):
        raise ValueError("Give cubes encoded with attentions=True.")
    cls_tok, sep_tok = special_tokens_of(lm)
    n_layers, _, n_heads = cubes[0].attentions.shape[:3]
    examples = {}

    def example(key):
        if key not in examples:
            examples[key] = cube_example(cubes[key[0]], key[1])
        return examples[key]

    chooser = w.Dropdown(options=_example_options(cubes), description="example", layout=w.Layout(width="95%"))
    layer = w.IntSlider(value=1, min=1, max=n_layers, description="layer", continuous_update=False)
    head = w.IntSlider(value=0, min=0, max=n_heads - 1, description="head", continuous_update=False)
    mean = w.Checkbox(value=False, description="mean of heads")
    hide = w.Checkbox(value=False, description="hide [CLS]/[SEP] columns")
    save = w.Button(description="save PNG + SVG")
    status = w.Label("")
    image = w.Image(format="png")

    def view() -> MapView:
        att, tokens = example(chooser.value)
        return attention_view(att, tokens, layer.value, None if mean.value else head.value, hide.value, cls_tok, sep_tok)

    def redraw(_=None):
        head.disabled = mean.value
        try:
            image.value = render_map_png(view())
            status.value = ""
        except ValueError as exc:  # shown, never raised into the event loop
            status.value = f"error: {exc}"

    def on_save(_):
        v = view()
        name = f"attention_{chooser.index}_L{layer.value}_{'mean' if mean.value else 'H' + str(head.value)}"
        fig = draw_attention_map(v.matrix, v.rows, v.cols, v.title)
        status.value = "saved: " + ", ".join(save_figure(fig, name, save_folder))

    for control in (chooser, layer, head, mean, hide):
        control.observe(redraw, names="value")
    save.on_click(on_save)
    redraw()
    box = w.VBox([chooser, w.HBox([layer, head]), w.HBox([mean, hide, save]), status, image])
    box.controls = {"example": chooser, "layer": layer, "head": head, "mean": mean, "hide": hide, "save": save,
                    "image": image, "status": status}
    box.view = view
    box.figure = lambda: draw_attention_map(view().matrix, view().rows, view().cols, view().title)
    return box


def _shares_of(scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for name, v in scores.items():
        v = np.abs(np.asarray(v, float))
        out[name] = v / v.sum() if v.sum() > 0 else v
    return out


def build_flow_explorer(att: np.ndarray, tokens: Sequence[str], attribution: np.ndarray | None = None,
                        cls_token: str = "[CLS]", sep_token: str = "[SEP]", precompute: bool = True,
                        words_only: bool = True):
    """Layer slider over raw attention, rollout and flow into [CLS] (flow computed once per layer, cached).

    Args:
        att: (L,A,n,n) one example's attention.
        tokens: its n tokens.
        attribution: optional (n,) blank-out attribution, drawn as |attribution| and ranked against.
        precompute: compute the flow of every layer now (slider moves then only redraw).
        words_only: draw only word and punctuation tokens, each method rescaled to sum to 1 over them
            (as the rank correlations are computed); False draws [CLS] and [SEP] too.

    Returns:
        a VBox; ``.controls`` holds the widgets, ``.scores(layer)`` the data drawn, ``.flow`` the FlowCache.
    """
    import ipywidgets as w

    att = _check_square(_np(att))
    tokens = list(tokens)
    if att.ndim != 4 or att.shape[-1] != len(tokens):
        raise ValueError(f"att must be (L,A,n,n) with n = len(tokens) = {len(tokens)}, got shape {att.shape}.")
    kinds = token_kinds(tokens, cls_token, sep_token)
    roll = rollout(att)
    flow = FlowCache(att)
    n_layers = att.shape[0]

    def scores(top: int) -> dict[str, np.ndarray]:
        if not 1 <= top <= n_layers:
            raise ValueError(f"layer must be 1..{n_layers}, got {top}.")
        out = {"raw attention": att[top - 1].mean(0)[0], "rollout": roll[top - 1][0], "flow": flow(top)}
        if attribution is not None:
            out["|blank-out|"] = np.abs(np.asarray(attribution, float))
        return out

    shown = np.flatnonzero(np.isin(kinds, ["word", "punct"])) if words_only else np.arange(len(tokens))
    if len(shown) == 0:
        raise ValueError("The example has no word tokens to show; use a real sentence or words_only=False.")
    over = "the words" if words_only else "all tokens"

    def drawn(top: int) -> dict[str, np.ndarray]:
        return _shares_of({k: v[shown] for k, v in scores(top).items()})

    def title(top: int) -> str:
        return f"What flows into [CLS] after layer {top} (each method sums to 1 over {over})"

    tops = range(1, n_layers + 1) if precompute else [n_layers]
    ymax = max(v.max() for top in tops for v in drawn(top).values()) * 1.05
    layer = w.IntSlider(value=n_layers, min=1, max=n_layers, description="layer", continuous_update=False)
    status = w.Label("")
    image = w.Image(format="png")
    fig = draw_scores([tokens[i] for i in shown], drawn(n_layers), title(n_layers))
    ax = fig.axes[0]
    ax.set_ylim(0, max(ymax, 1e-6))
    ax.set_ylabel(f"share of {over}")
    bars = dict(zip(scores(n_layers), ax.containers))
    blit = Blitter(fig, [rect for c in ax.containers for rect in c] + [ax.title])

    def redraw(_=None):
        s = scores(layer.value)
        for name, h in drawn(layer.value).items():
            for rect, value in zip(bars[name], h):
                rect.set_height(min(value, ax.get_ylim()[1]))
        ax.title.set_text(title(layer.value))
        if attribution is not None:
            rho = rank_agreement({k: v for k, v in s.items() if k != "|blank-out|"}, attribution, kinds)
            status.value = "Spearman with |blank-out| (words only): " + ", ".join(f"{k} {v:+.2f}" for k, v in rho.items())
        image.value = blit.png()

    layer.observe(redraw, names="value")
    redraw()
    box = w.VBox([layer, status, image])
    box.controls = {"layer": layer, "image": image, "status": status}
    box.scores = scores
    box.flow = flow
    box.figure = lambda: draw_scores([tokens[i] for i in shown], drawn(layer.value), title(layer.value))
    return box


# ============================================================================ exercise checks


def check_peak_layer(answer, shares: dict[str, np.ndarray], kind: str = "sep") -> Check:
    """Is ``answer`` the 1-based layer whose heads, on average, give ``kind`` the largest share?"""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}.")
    means = layer_means(shares)[kind]
    best = int(np.argmax(means)) + 1
    label = KIND_LABELS[kind]
    if _unanswered(answer):
        return Check(None, f"Not answered yet: put the layer number (1 to {len(means)}) in the cell above.")
    try:
        guess = int(answer)
    except (TypeError, ValueError):
        return Check(False, f"{answer!r} is not a layer number: give an integer from 1 to {len(means)}.")
    if guess != answer:
        return Check(False, f"{answer!r} is not a whole layer number: give an integer from 1 to {len(means)}.")
    if not 1 <= guess <= len(means):
        return Check(False, f"Layer {guess} does not exist: this model has layers 1 to {len(means)}.")
    if guess == best:
        return Check(True, f"Right: layer {best} gives {label} {means[best - 1]:.0%} of all attention, the most of any layer.",
                     {"best": best})
    return Check(False, f"Not quite: layer {guess} gives {label} {means[guess - 1]:.0%}; another layer gives more. "
                        "Read the line for that kind in the figure above and find its highest point.", {"best": best})


#: The matrices of the hand rollout exercise: two layers, two tokens ([CLS], "good"), heads already averaged.
EXERCISE_LAYERS = np.array([[[0.0, 1.0], [0.0, 1.0]], [[0.5, 0.5], [1.0, 0.0]]])


def check_rollout_answer(answer) -> Check:
    """Is ``answer`` the [CLS] row of the rollout of EXERCISE_LAYERS after layer 2 (two numbers)?"""
    truth = rollout(EXERCISE_LAYERS, head_axis=False)[-1][0]
    if _unanswered(answer):
        return Check(None, "Not answered yet: write the two numbers [to [CLS], to 'good'] in the cell above.")
    try:
        guess = np.asarray(answer, dtype=float).ravel()
    except (TypeError, ValueError):
        return Check(False, f"{answer!r} is not two numbers: write a list like [0.1, 0.9].")
    if guess.shape != (2,):
        return Check(False, f"Give exactly two numbers (how much of [CLS] comes from [CLS] and from 'good'), got {guess.size}.")
    if np.allclose(guess, truth, atol=0.01):
        return Check(True, f"Right: {truth.round(4).tolist()}. The residual keeps part of [CLS] in place at every layer.")
    hints = []
    no_residual = rollout(EXERCISE_LAYERS, head_axis=False, residual=False)[-1][0]
    wrong_order = (residual_attention(EXERCISE_LAYERS, False)[0] @ residual_attention(EXERCISE_LAYERS, False)[1])[0]
    if np.allclose(guess, no_residual, atol=0.01):
        hints.append("you multiplied the raw attention: first add the identity (the residual) and renormalise each row")
    elif np.allclose(guess, wrong_order, atol=0.01):
        hints.append("the order is reversed: the later layer goes on the left, R = Â2 @ Â1")
    elif not np.isclose(guess.sum(), 1.0, atol=0.01):
        hints.append(f"your numbers sum to {guess.sum():.3f}, but a rollout row always sums to 1")
    else:
        hints.append("compute Â = (A + I) / 2 for each layer, then Â2 @ Â1, and read row 0")
    return Check(False, "Not quite: " + "; ".join(hints) + ".")
