"""The references registry: every published figure the course prints, each with its source; none retyped in a notebook."""

import json
import re
from pathlib import Path

import pytest

from helpers.core import references

ROOT = Path(__file__).resolve().parents[1]


def test_every_reference_has_a_source_and_fills_its_text():
    assert references.REFERENCES
    for key, ref in references.REFERENCES.items():
        assert ref.key == key and ref.source and ref.where
        sentence = ref.sentence()
        assert "{" not in sentence, f"{key}: a field of its text has no value"
        for v in ref.values.values():
            assert isinstance(v, (int, float))
        assert ref.source in references.cite(key)


def test_lookups_and_their_errors():
    assert references.value("sbert_sts", "cls") == 29.19
    with pytest.raises(KeyError, match="registry has"):
        references.get("no-such-paper")
    with pytest.raises(KeyError, match="has no value"):
        references.value("sbert_sts", "max")


def _published_numbers() -> set[str]:
    """The registry's decimal figures as they would be typed (e.g. '29.19', '0.82').

    Whole numbers and the fractions 0.25 and 0.5 (Clark et al.'s levels) are too common in ordinary code
    (ranges, chance, halves) to police this way.
    """
    out = set()
    for ref in references.REFERENCES.values():
        for v in ref.values.values():
            if isinstance(v, float) and v != int(v) and v not in (0.25, 0.5):
                out.add(f"{v:g}")
    return out


def test_no_notebook_retypes_a_published_figure():
    numbers = _published_numbers()
    found = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for i, cell in enumerate(json.loads(path.read_text())["cells"]):
            text = "".join(cell["source"])
            for m in re.finditer(r"(?<![\d.])\d+\.\d+(?![\d.])", text):
                if m.group(0) in numbers:
                    found.append(f"{path.name} cell {i}: {m.group(0)}")
    assert not found, "published figures typed into notebooks (print them from helpers.references): " + ", ".join(found)


def test_summary_token_table_reads_the_installed_configs():
    import transformers

    from helpers.core.summary_tokens import format_table, summary_token_table

    rows = {r.model: r for r in summary_token_table()}
    assert rows["XLNet"].where == "last token" and transformers.XLNetConfig().summary_type == "last"
    assert "XLNetConfig().summary_type = 'last'" in rows["XLNet"].source
    assert rows["ELECTRA"].where == "first token"
    assert rows["BERT"].where == "first token" and "Devlin" in rows["BERT"].source
    assert rows["Sentence-BERT"].where == "mean of the tokens"
    assert rows["GPT"].where == "last token"
    text = format_table(list(rows.values()))
    assert text.count("\n") == len(rows) + 1
