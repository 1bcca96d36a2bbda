"""Notebook 01 · drawing: the HTML token tables and the two explorers (WordPiece live, truncation slider).

The ``*_html`` functions render the plain data of :mod:`.facts`; the ``build_*_explorer`` functions wire it to
widgets as :class:`~helpers.ui.explorer.Explorer` instances.
"""

from __future__ import annotations

import html
from typing import Any, Sequence

from ...core.models import LoadedModel
from ...ui.explorer import Explorer
from . import facts
from .facts import token_rows, truncation_view

#: Colours for the display kinds of :func:`display_kind` in the HTML tables.
KIND_COLOURS = {"special": "#dbe9f6", "piece": "#fdebd0", "unk": "#f5b7b1", "pad": "#eeeeee", "word": "#ffffff"}


# ----------------------------------------------------------------------------- rendering


def _cell(text: Any, colour: str = "#ffffff", bold: bool = False) -> str:
    weight = "font-weight:bold;" if bold else ""
    return (
        f'<td style="background:{colour};{weight}padding:2px 6px;border:1px solid #ccc;'
        f'font-family:monospace;text-align:center">{html.escape(str(text))}</td>'
    )


def tokens_html(rows: Sequence[dict[str, Any]], caption: str = "") -> str:
    """An HTML table of :func:`token_rows` output: one column per position, one row per field."""
    if not rows:
        return f"<p><i>{html.escape(caption or 'no tokens')}</i></p>"
    lines = ['<table style="border-collapse:collapse">']
    if caption:
        lines.append(f'<caption style="text-align:left">{html.escape(caption)}</caption>')
    fields = [("position", "position"), ("token", "token"), ("id", "input_ids"),
              ("token_type_id", "token_type_ids"), ("attention_mask", "attention_mask")]
    for key, label in fields:
        cells = "".join(_cell(r[key], KIND_COLOURS[r["kind"]], bold=key == "token") for r in rows)
        lines.append(f'<tr><th style="text-align:right;padding-right:6px">{label}</th>{cells}</tr>')
    lines.append("</table>")
    legend = " ".join(
        f'<span style="background:{c};border:1px solid #ccc;padding:0 4px">{k}</span>' for k, c in KIND_COLOURS.items()
    )
    lines.append(f'<div style="font-size:85%">colours: {legend} (piece = a "##" continuation)</div>')
    return "\n".join(lines)


def wordpiece_view_html(view: dict[str, Any]) -> str:
    """Render :func:`wordpiece_view` output: normalised text, counts and the token table."""
    if view["summary"] is None:
        return "<p><i>Type a sentence in the box.</i></p>"
    s = view["summary"]
    info = (
        f"<p>normalised: <code>{html.escape(view['normalized'])}</code><br>"
        f"{s['tokens']} tokens from {s['words']} words: {s['pieces']} '##' piece(s), "
        f"{s['unknown']} [UNK], {s['special']} special</p>"
    )
    return info + tokens_html(view["rows"])


def wordpiece_html(lm: LoadedModel, text: str, pair: str = "", add_special_tokens: bool = True) -> str:
    """The live WordPiece view for one text box state: normalised text, counts and the token table."""
    return wordpiece_view_html(facts.wordpiece_view(lm, text, pair, add_special_tokens))


def batch_html(batch: dict[str, Any]) -> str:
    """An HTML grid of a padded batch: tokens, ids and attention mask per row."""
    tok_rows = batch["tokens"]
    lines = ['<table style="border-collapse:collapse">']
    for b, tokens in enumerate(tok_rows):
        for label, values in (("token", tokens), ("input_ids", batch["input_ids"][b]),
                              ("attention_mask", batch["attention_mask"][b])):
            cells = "".join(
                _cell(v, KIND_COLOURS["pad"] if m == 0 else "#ffffff", bold=label == "token")
                for v, m in zip(values, batch["attention_mask"][b])
            )
            lines.append(f'<tr><th style="text-align:right;padding-right:6px">row {b} {label}</th>{cells}</tr>')
        lines.append('<tr><td style="height:6px"></td></tr>')
    lines.append("</table>")
    return "\n".join(lines)


def truncation_html(view: dict[str, Any]) -> str:
    """Kept tokens, then the cut ones struck through, and whether the row still ends with [SEP]."""
    kept = " ".join(f"<code>{html.escape(t)}</code>" for t in view["kept"])
    cut = " ".join(f'<code style="color:#b03a2e"><s>{html.escape(t)}</s></code>' for t in view["cut"]) or "<i>nothing</i>"
    return (
        f"<p>max_length = {view['max_length']} (the full input has {view['full_length']} tokens)</p>"
        f"<p><b>kept</b> ({len(view['kept'])}): {kept}</p>"
        f"<p><b>cut</b> ({len(view['cut'])}): {cut}</p>"
        f"<p>last token: <code>{html.escape(view['last_token'])}</code>"
        f" ({'still [SEP]' if view['ends_with_sep'] else 'not [SEP]'})</p>"
    )


# ----------------------------------------------------------------------------- widgets


def build_wordpiece_explorer(lm: LoadedModel, text: str = "The unbelievably long film was très boring!",
                             pair: str = "") -> Explorer:
    """A text box (and an optional second sentence) that re-tokenizes as you type.

    Returns:
        Explorer with controls ``text``, ``pair`` (Text) and ``add_special_tokens`` (Checkbox), view
        ``table`` (HTML); its state holds :func:`wordpiece_view`'s ``rows``, ``summary`` and ``normalized``.
    """
    import ipywidgets as W

    controls = {
        "text": W.Text(value=text, description="sentence", continuous_update=True, layout=W.Layout(width="95%")),
        "pair": W.Text(value=pair, description="pair (opt.)", placeholder="a second sentence (segment 1)",
                       continuous_update=True, layout=W.Layout(width="95%")),
        "add_special_tokens": W.Checkbox(value=True, description="add_special_tokens"),
    }

    def update(values: dict, views: dict) -> dict:
        view = facts.wordpiece_view(lm, values["text"], values["pair"], values["add_special_tokens"])
        views["table"].value = wordpiece_view_html(view)
        return view

    return Explorer(controls, {"table": W.HTML()}, update)


def build_truncation_explorer(lm: LoadedModel, text: str, pair: str | None = None,
                              start: int | None = None) -> Explorer:
    """A max_length slider that shows what the cut keeps, what it drops and where [SEP] ends up.

    Returns:
        Explorer with control ``max_length`` (IntSlider) and view ``cut`` (HTML); its state holds
        :func:`truncation_view`'s output (``kept``, ``cut``, ``full_length``, ``last_token``, ``ends_with_sep``).
    """
    import ipywidgets as W

    full = len(token_rows(lm, text, pair))
    floor = 3 if pair is None else 4
    slider = W.IntSlider(value=start or max(floor, full // 2), min=floor, max=max(full, floor),
                         description="max_length", continuous_update=True)

    def update(values: dict, views: dict) -> dict:
        view = truncation_view(lm, text, values["max_length"], pair)
        views["cut"].value = truncation_html(view)
        return view

    return Explorer({"max_length": slider}, {"cut": W.HTML()}, update)


