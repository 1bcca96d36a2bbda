"""Notebook 09 · views: an answer as a slide-sized card (the verdict big, the evidence under it), and every answer on
one closing table. HTML only, no figure: the cards render the same in JupyterLab, the exported pages and the slides.
"""

from __future__ import annotations

import html
from typing import Sequence

from .answers import Answer

#: Colours of a claim's verdict (question cards use the neutral one).
VERDICT_COLOURS = {"right": "#1b7837", "wrong": "#b2182b"}
NEUTRAL = "#2166ac"
PARTLY = "#b35806"


def _colour(answer: Answer) -> str:
    if not answer.verdict:
        return NEUTRAL
    return VERDICT_COLOURS.get(answer.verdict, PARTLY)


class AnswerCard:
    """What a notebook cell shows for one answer: HTML in a browser, the plain sentences anywhere else."""

    def __init__(self, answer: Answer):
        self.answer = answer

    def __repr__(self) -> str:
        return str(self.answer)

    def _repr_html_(self) -> str:
        a, colour = self.answer, _colour(self.answer)
        return (f'<div class="cls-answer" style="border-left:6px solid {colour};padding:0.4em 0.9em;margin:0.3em 0">'
                f'<div style="font-size:1.7em;font-weight:700;line-height:1.2;color:{colour}">{html.escape(a.headline)}</div>'
                f'<div style="font-size:1.0em;line-height:1.45;margin-top:0.5em">{html.escape(a.finding)}</div></div>')


def answer_card(answer: Answer) -> AnswerCard:
    """The card of one answer (display it as a cell's last expression)."""
    if not isinstance(answer, Answer):
        raise ValueError(f"answer_card takes an Answer from helpers.lessons.the_answers, got {type(answer).__name__}.")
    return AnswerCard(answer)


class AnswerTable:
    """Every answer on one slide: question or claim, and its verdict."""

    def __init__(self, answers: Sequence[Answer]):
        self.answers = list(answers)

    def __repr__(self) -> str:
        width = max(len(a.asked) for a in self.answers)
        return "\n".join(f"{a.asked:<{width}}  ->  {a.headline}" for a in self.answers)

    def _repr_html_(self) -> str:
        rows = "".join(
            f'<tr><td style="text-align:left;padding:0.25em 0.8em 0.25em 0">{html.escape(a.asked)}</td>'
            f'<td style="text-align:left;font-weight:700;color:{_colour(a)}">{html.escape(a.headline)}</td></tr>'
            for a in self.answers)
        return ('<table style="border-collapse:collapse;font-size:1.05em"><tr><th style="text-align:left">asked</th>'
                f'<th style="text-align:left">answered, from the numbers</th></tr>{rows}</table>')


def answers_table(answers: Sequence[Answer]) -> AnswerTable:
    """One table of every answer's headline (the closing slide)."""
    if not answers:
        raise ValueError("answers_table needs at least one Answer.")
    return AnswerTable(answers)
