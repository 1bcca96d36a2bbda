"""The course's own table of contents, read from the notebooks themselves so it is always true."""

from __future__ import annotations

import json
from pathlib import Path

from . import config


def course_map(folder: str | Path | None = None) -> list[dict[str, str]]:
    """One row per notebooks/NN_*.ipynb: file, title (the H1) and question (the first bold/quoted line).

    The question is the first line of the opening cell that ends with "?" after the title.
    """
    folder = Path(folder) if folder else config.REPO_ROOT / "notebooks"
    rows = []
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        text = "".join(cells[0]["source"]) if cells and cells[0]["cell_type"] == "markdown" else ""
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        title = next((ln.lstrip("# ").strip() for ln in lines if ln.startswith("# ")), path.stem)
        question = next((ln.strip("*_> ") for ln in lines[1:] if ln.rstrip("*_ ").endswith("?")), "")
        rows.append({"file": path.name, "title": title, "question": question})
    return rows


def format_course_map(rows: list[dict[str, str]]) -> str:
    """A Markdown table of course_map() rows."""
    out = ["| notebook | title | the question it answers |", "|---|---|---|"]
    out += [f"| `{r['file']}` | {r['title']} | {r['question']} |" for r in rows]
    return "\n".join(out)
