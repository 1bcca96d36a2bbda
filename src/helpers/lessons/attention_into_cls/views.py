"""Notebook 03's views: figures of what [CLS] reads, the attention-map and flow explorers.

Every ``draw_*`` builds its Figure with ``ui.figures.new_figure`` and returns it (the notebook shows it
with ``helpers.show``). The explorers are ``ui.explorer.Explorer`` instances whose update functions call
pure helpers: :func:`attention_view` picks the matrix an explorer state shows, :func:`render_map_png`
draws it with Pillow in a few ms (no matplotlib layout), and the flow explorer redraws its bars with a
``Blitter``. Shapes: L = layers, A = heads, n = real tokens of one sentence.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ...core.attention import _check_square, cube_example, hide_columns, layer_means, rollout
from ...core.flow import FlowCache
from ...core.references import Reference
from ...core.stats import as_numpy as _np
from ...core.token_kinds import KIND_COLORS, KIND_LABELS, KINDS, special_tokens_of, token_kinds
from ...ui.explorer import Explorer
from ...ui.figures import Blitter, new_figure, pillow_font, save_figure
from .experiments import rank_agreement, shares_of

# ============================================================================ drawing (Figures, never shown here)


def draw_attention_map(att: np.ndarray, rows: Sequence[str], cols: Sequence[str] | None = None, title: str = ""):
    """Heatmap of one (q,k) attention matrix: rows are the reading tokens, columns the tokens read."""
    from matplotlib.colors import PowerNorm

    att = _np(att)
    cols = rows if cols is None else cols
    if att.shape != (len(rows), len(cols)):
        raise ValueError(f"att has shape {att.shape} but there are {len(rows)} row and {len(cols)} column labels.")
    size = 2.5 + 0.16 * max(len(rows), len(cols))
    fig = new_figure(size, size)
    ax = fig.add_subplot()
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
    if rows.ndim != 3 or rows.shape[-1] != len(tokens):
        raise ValueError(f"rows must be (L,A,n) with n = len(tokens) = {len(tokens)}, got shape {rows.shape}; "
                         "use core.attention.cls_rows(att).")
    n_layers, n_heads, n = rows.shape
    fig = new_figure(2.5 + 0.2 * n, 1.5 + 0.06 * n_layers * n_heads)
    ax = fig.add_subplot()
    im = ax.imshow(rows.reshape(n_layers * n_heads, n), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for layer in range(1, n_layers):
        ax.axhline(layer * n_heads - 0.5, color="black", lw=0.6)
    ax.set_yticks([(layer + 0.5) * n_heads - 0.5 for layer in range(n_layers)],
                  [f"layer {layer + 1}" for layer in range(n_layers)], fontsize=7)
    ax.set_xticks(range(n), tokens, rotation=90, fontsize=7)
    ax.set_title(title + f" ({n_heads} heads per band)", fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.6, label="attention weight")
    return fig


def _layer_axes(ax, layers: np.ndarray, ylim: tuple[float, float], ylabel: str, title: str) -> None:
    """The per-layer axes every attention curve shares: one tick per layer, a fixed y range, labels, a small title."""
    ax.set_xticks(layers)
    ax.set_ylim(*ylim)
    ax.set_xlabel("layer")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)


def draw_entropy(norm_entropy: np.ndarray, title: str = "How spread out what [CLS] reads is: entropy of its row / ln n"):
    """(L,A) normalised entropies: one dot per head, the layer mean as a line; 1 = uniform, 0 = one token."""
    ent = _np(norm_entropy)
    if ent.ndim != 2:
        raise ValueError(f"norm_entropy must be (L,A), got shape {ent.shape}; use core.attention.normalised_cls_entropy.")
    n_layers, n_heads = ent.shape
    fig = new_figure(6, 3.2)
    ax = fig.add_subplot()
    x = np.arange(1, n_layers + 1)
    ax.scatter(np.repeat(x, n_heads), ent.ravel(), s=12, alpha=0.5, color="tab:purple", label="one head")
    ax.plot(x, ent.mean(1), color="black", marker="o", label="layer mean")
    ax.axhline(1.0, ls="--", color="gray", lw=1, label="uniform (ln n)")
    _layer_axes(ax, x, (0, 1.05), "entropy of [CLS]'s row / ln n", title)
    ax.legend(fontsize=7, loc="lower left")
    return fig


def draw_shares(shares: Mapping[str, np.ndarray], title: str = "", references: Mapping[str, Reference] | None = None,
                kinds: Sequence[str] = ("cls", "sep", "punct")):
    """Per layer, how much tokens read each kind (the share of their rows landing on it): heads as dots, the layer mean as a line.

    Args:
        shares: kind -> (L,A) shares (``core.attention.cube_shares``).
        references: kind -> a published level from ``helpers.references`` (e.g. ``clark_references()``),
            drawn as a dashed segment over its ``extra["layers"]`` at ``values["level"]``.
        kinds: which kinds to draw.
    """
    unknown = [k for k in kinds if k not in KINDS or k not in shares]
    if unknown:
        raise ValueError(f"kinds {unknown} are not in shares; choose among {[k for k in KINDS if k in shares]}.")
    for k, ref in (references or {}).items():
        if not isinstance(ref, Reference):
            raise ValueError(f"references[{k!r}] must be a helpers.references Reference (e.g. from clark_references()), "
                             f"got {type(ref).__name__}.")
    fig = new_figure(6.5, 3.4)
    ax = fig.add_subplot()
    for k in kinds:
        s = _np(shares[k])
        n_layers, n_heads = s.shape
        x = np.arange(1, n_layers + 1)
        ax.scatter(np.repeat(x, n_heads) + (KINDS.index(k) - 1) * 0.08, s.ravel(), s=8, alpha=0.35, color=KIND_COLORS[k])
        ax.plot(x, s.mean(1), marker="o", color=KIND_COLORS[k], label=f"{KIND_LABELS[k]} (this model)")
        if references and k in references:
            ref = references[k]
            lo, hi = ref.extra["layers"]
            who = ref.source.split(",")[0]
            ax.plot([lo - 0.3, hi + 0.3], [ref.values["level"]] * 2, ls="--", lw=2.5, color=KIND_COLORS[k],
                    alpha=0.6, label=f"{who}, {ref.about}: {ref.sentence()}")
    _layer_axes(ax, x, (0, 1), "how much tokens read it (share of a row)", title)
    ax.legend(fontsize=6.5, loc="upper left")
    return fig


def draw_kind_bars(shares: Mapping[str, np.ndarray], title: str = "What [CLS] reads, per kind of token"):
    """Stacked bars per layer of the heads' mean share to each kind (e.g. core.attention.what_cls_reads)."""
    missing = [k for k in KINDS if k not in shares]
    if missing:
        raise ValueError(f"shares lacks the kinds {missing}; pass the whole dict from core.attention.cube_shares.")
    means = layer_means(shares)
    n_layers = len(next(iter(means.values())))
    fig = new_figure(6, 3.2)
    ax = fig.add_subplot()
    x = np.arange(1, n_layers + 1)
    bottom = np.zeros(n_layers)
    for k in KINDS:
        ax.bar(x, means[k], bottom=bottom, color=KIND_COLORS[k], label=KIND_LABELS[k])
        bottom += means[k]
    ax.set_xticks(x)
    ax.set_ylim(0, 1)
    ax.set_xlabel("layer")
    ax.set_ylabel("share of [CLS]'s row")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def draw_scores(tokens: Sequence[str], scores: Mapping[str, np.ndarray], title: str = ""):
    """Grouped bars, one group per token: each score normalised to sum 1 over the tokens."""
    bad = [name for name, v in scores.items() if len(v) != len(tokens)]
    if bad:
        raise ValueError(f"scores {bad} do not have one value per token ({len(tokens)}).")
    fig = new_figure(3 + 0.3 * len(tokens), 3.2)
    ax = fig.add_subplot()
    x = np.arange(len(tokens))
    width = 0.8 / max(len(scores), 1)
    for i, (name, v) in enumerate(shares_of(scores).items()):
        ax.bar(x + (i - (len(scores) - 1) / 2) * width, v, width, label=name)
    ax.set_xticks(x, tokens, rotation=90, fontsize=7)
    ax.set_ylabel("share (each method sums to 1)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return fig


# ============================================================================ the attention map view


@dataclass
class AttentionMapView:
    """What the attention explorer shows for one choice of example, layer and head."""

    matrix: np.ndarray  # (n, m) after hiding
    rows: list[str]
    cols: list[str]
    title: str


def attention_view(att: np.ndarray, tokens: Sequence[str], layer: int, head: int | None, hide_special: bool,
                   cls_token: str = "[CLS]", sep_token: str = "[SEP]") -> AttentionMapView:
    """The matrix one explorer state shows: layer (1-based), head (0-based; None = mean of heads).

    Args:
        att: (L,A,n,n) one example's attention (``core.attention.cube_example``).
        tokens: its n tokens.
        hide_special: remove the [CLS]/[SEP] columns and renormalise the rows (``core.attention.hide_columns``).
    """
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
    return AttentionMapView(m, list(tokens), cols, f"layer {layer}, {who}{extra}")


def _map_colours(matrix: np.ndarray) -> np.ndarray:
    """(n,m) weights -> (n,m,3) uint8 colours: the "Blues" map on a fixed 0..1 square-root scale (as drawn)."""
    from matplotlib import colormaps

    scaled = np.sqrt(np.clip(np.asarray(matrix, float), 0.0, 1.0))
    return (colormaps["Blues"](scaled)[..., :3] * 255).astype(np.uint8)


def render_map_png(view: AttentionMapView, max_grid: int = 600) -> bytes:
    """PNG of an attention map for the explorer, drawn with Pillow in a few ms (no matplotlib layout).

    Same content as draw_attention_map (rows = reading tokens, columns = tokens read, fixed 0..1
    square-root colour scale); use draw_attention_map for a Figure to save.
    """
    from PIL import Image, ImageDraw

    matrix = np.asarray(view.matrix, float)
    n_rows, n_cols = matrix.shape
    cell = int(max(8, min(24, max_grid // max(n_rows, n_cols, 1))))
    font, small = pillow_font(max(7, min(11, cell - 2))), pillow_font(10)
    row_w = int(max(font.getlength(t) for t in view.rows)) + 8
    col_h = int(max(font.getlength(t) for t in view.cols)) + 8
    top, left = 28, row_w + 6
    grid_w, grid_h = n_cols * cell, n_rows * cell
    width = left + grid_w + 80
    height = top + grid_h + col_h + 22
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.text((6, 6), view.title, fill="black", font=pillow_font(12))
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


# ============================================================================ explorers


def _example_options(cubes) -> list[tuple[str, tuple[int, int]]]:
    opts = []
    for c, cube in enumerate(cubes):
        for b in range(len(cube.tokens)):
            text = cube.texts[b] if cube.pairs is None else f"{cube.texts[b]} || {cube.pairs[b]}"
            label = f"{len(opts)}: {text[:60]}{'...' if len(text) > 60 else ''} ({len(cube.tokens[b])} tokens)"
            opts.append((label, (c, b)))
    return opts


def build_attention_explorer(cubes, lm=None, save_folder=None) -> Explorer:
    """Attention map explorer: example chooser, layer and head sliders, mean-of-heads and hide-[CLS]/[SEP] toggles.

    Args:
        cubes: one Cube or a list of them (e.g. single sentences and sentence pairs); every row of every
            cube is an example (its index in the padded batch), drawn without padding.
        lm: the LoadedModel (for its [CLS]/[SEP] strings), optional.
        save_folder: where the save button writes PNG and SVG (default .cache/figures).

    Returns:
        an Explorer with controls ``example``, ``layer``, ``head``, ``mean``, ``hide``, ``save`` and the view
        ``image``; ``state["view"]`` is the AttentionMapView drawn, ``.figure()`` its matplotlib Figure.
    """
    import ipywidgets as w

    cubes = [cubes] if not isinstance(cubes, (list, tuple)) else list(cubes)
    if not cubes or any(getattr(c, "attentions", None) is None for c in cubes):
        raise ValueError("Give cubes encoded with attentions=True: helpers.encode(lm, texts).")
    cls_tok, sep_tok = special_tokens_of(lm)
    n_layers, _, n_heads = cubes[0].attentions.shape[:3]
    examples: dict[tuple[int, int], tuple[np.ndarray, list[str]]] = {}

    def example(key) -> tuple[np.ndarray, list[str]]:
        if key not in examples:
            examples[key] = cube_example(cubes[key[0]], key[1])
        return examples[key]

    controls = {
        "example": w.Dropdown(options=_example_options(cubes), description="example", layout=w.Layout(width="95%")),
        "layer": w.IntSlider(value=1, min=1, max=n_layers, description="layer", continuous_update=False),
        "head": w.IntSlider(value=0, min=0, max=n_heads - 1, description="head", continuous_update=False),
        "mean": w.Checkbox(value=False, description="mean of heads"),
        "hide": w.Checkbox(value=False, description="hide [CLS]/[SEP] columns"),
        "save": w.Button(description="save PNG + SVG"),
    }
    views = {"image": w.Image(format="png")}

    def current(values) -> AttentionMapView:
        att, tokens = example(values["example"])
        head = None if values["mean"] else values["head"]
        return attention_view(att, tokens, values["layer"], head, values["hide"], cls_tok, sep_tok)

    def update(values, views) -> dict:
        controls["head"].disabled = values["mean"]
        view = current(values)
        views["image"].value = render_map_png(view)
        return {"view": view, "title": view.title}

    def figure():
        v = current(explorer.values())
        return draw_attention_map(v.matrix, v.rows, v.cols, v.title)

    def save(ex: Explorer) -> str:
        values = ex.values()
        name = (f"attention_{controls['example'].index}_L{values['layer']}_"
                f"{'mean' if values['mean'] else 'H' + str(values['head'])}")
        return "saved: " + ", ".join(save_figure(figure(), name, save_folder))

    explorer = Explorer(controls, views, update, buttons={"save": save},
                        rows=["example", ["layer", "head"], ["mean", "hide", "save"], "image"])
    explorer.figure = figure
    return explorer


def build_flow_explorer(att: np.ndarray, tokens: Sequence[str], attribution: np.ndarray | None = None,
                        cls_token: str = "[CLS]", sep_token: str = "[SEP]", precompute: bool = True,
                        words_only: bool = True) -> Explorer:
    """Layer slider over what [CLS] reads: raw attention, rollout and flow (flow computed once per layer, cached).

    Args:
        att: (L,A,n,n) one example's attention.
        tokens: its n tokens.
        attribution: optional (n,) blank-out attribution, drawn as |attribution| and ranked against.
        precompute: compute the flow of every layer now (slider moves then only redraw).
        words_only: draw only word and punctuation tokens, each method rescaled to sum to 1 over them
            (as the rank correlations are computed); False draws [CLS] and [SEP] too.

    Returns:
        an Explorer with the control ``layer`` and the views ``rho`` (the Spearman correlations) and ``image``;
        ``state`` holds the ``scores``, the ``drawn`` shares and the ``spearman`` dict; ``.scores(layer)``
        gives the data of any layer, ``.flow`` the FlowCache, ``.figure()`` the current Figure.
    """
    import ipywidgets as w

    att = _check_square(_np(att))
    tokens = list(tokens)
    if att.ndim != 4 or att.shape[-1] != len(tokens):
        raise ValueError(f"att must be (L,A,n,n) with n = len(tokens) = {len(tokens)}, got shape {att.shape}.")
    if attribution is not None and len(attribution) != len(tokens):
        raise ValueError(f"attribution must have one value per token ({len(tokens)}), got {len(attribution)}.")
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
        return shares_of({k: v[shown] for k, v in scores(top).items()})

    def title(top: int) -> str:
        return f"What [CLS] reads after layer {top}, traced to the input (each method sums to 1 over {over})"

    tops = range(1, n_layers + 1) if precompute else [n_layers]
    ymax = max(v.max() for top in tops for v in drawn(top).values()) * 1.05
    fig = draw_scores([tokens[i] for i in shown], drawn(n_layers), title(n_layers))
    ax = fig.axes[0]
    ax.set_ylim(0, max(ymax, 1e-6))
    ax.set_ylabel(f"share of {over}")
    bars = dict(zip(scores(n_layers), ax.containers))
    blit = Blitter(fig, [rect for c in ax.containers for rect in c] + [ax.title])

    controls = {"layer": w.IntSlider(value=n_layers, min=1, max=n_layers, description="layer", continuous_update=False)}
    views = {"rho": w.Label(""), "image": w.Image(format="png")}

    def update(values, views) -> dict:
        top = values["layer"]
        s = scores(top)
        h = drawn(top)
        for name, heights in h.items():
            for rect, value in zip(bars[name], heights):
                rect.set_height(min(value, ax.get_ylim()[1]))
        ax.title.set_text(title(top))
        rho = None
        if attribution is not None:
            rho = rank_agreement({k: v for k, v in s.items() if k != "|blank-out|"}, attribution, kinds)
            views["rho"].value = "Spearman with |blank-out| (words only): " + ", ".join(
                f"{k} {v:+.2f}" for k, v in rho.items())
        views["image"].value = blit.png()
        return {"scores": s, "drawn": h, "spearman": rho}

    explorer = Explorer(controls, views, update, rows=["layer", "rho", "image"])
    explorer.scores = scores
    explorer.flow = flow
    explorer.figure = lambda: draw_scores([tokens[i] for i in shown], drawn(explorer.values()["layer"]),
                                          title(explorer.values()["layer"]))
    return explorer
