"""Fill every "Try it" of a notebook with its solution and check that the check says right (and a wrong answer wrong).

A Try it is three tagged cells (cell metadata key ``inside_cls``):
    * the answer cell, ``{"tryit": ID, "wrong": CODE}``: the reader's cell with ``...`` placeholders; CODE assigns a
      wrong answer to the same variable(s);
    * the check cell, ``{"check": ID}``: its last expression is the CheckResult;
    * the solution cell, ``{"solution": ID}``: collapsed markdown holding one fenced python block.

:func:`inject` adds, right after each check cell: the solution, the check again (must show ✅), the wrong answer,
the check again (must show ❌), and the original answer cell (so later cells see what a reader who skipped it sees).
:func:`verdicts` reads those outputs after execution. ``python tools/tryit.py 03`` runs one notebook this way.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"```python\n(.*?)```", re.S)
KEY = "inside_cls"


def tryits(nb) -> dict[str, dict]:
    """ID -> {"answer": index, "check": index, "solution": code, "wrong": code} for every tagged Try it."""
    found: dict[str, dict] = {}
    for i, cell in enumerate(nb.cells):
        tag = cell.metadata.get(KEY, {})
        if "tryit" in tag:
            found.setdefault(tag["tryit"], {})["answer"] = i
            found[tag["tryit"]]["wrong"] = tag.get("wrong")
        if "check" in tag:
            found.setdefault(tag["check"], {})["check"] = i
        if "solution" in tag:
            blocks = FENCE.findall(cell.source)
            found.setdefault(tag["solution"], {})["solution"] = blocks[0] if len(blocks) == 1 else None
            found[tag["solution"]]["blocks"] = len(blocks)
    return found


def problems(nb) -> list[str]:
    """What is missing or malformed in the Try-it tags (empty when every Try it is complete)."""
    out = []
    for tid, parts in tryits(nb).items():
        for part in ("answer", "check", "solution", "wrong"):
            if parts.get(part) is None:
                out.append(f"Try it {tid!r}: no {part}" + (f" (solution cell has {parts.get('blocks')} python blocks, "
                                                           "needs exactly 1)" if part == "solution" and "blocks" in parts else ""))
        if parts.get("answer") is not None and parts.get("check") is not None and parts["check"] < parts["answer"]:
            out.append(f"Try it {tid!r}: the check cell comes before the answer cell")
    return out


def inject(nb) -> dict[str, tuple[int, int]]:
    """Insert the solution/wrong runs after each check cell (in place). Returns ID -> (right_cell, wrong_cell)."""
    items = sorted(tryits(nb).items(), key=lambda kv: -kv[1]["check"])  # from the end, so indices stay valid
    for tid, parts in items:
        check_src = nb.cells[parts["check"]].source
        answer_src = nb.cells[parts["answer"]].source
        new = [
            nbformat.v4.new_code_cell(parts["solution"]),
            nbformat.v4.new_code_cell(check_src, metadata={KEY: {"expect": "right", "id": tid}}),
            nbformat.v4.new_code_cell(parts["wrong"]),
            nbformat.v4.new_code_cell(check_src, metadata={KEY: {"expect": "wrong", "id": tid}}),
            nbformat.v4.new_code_cell(answer_src),
        ]
        at = parts["check"] + 1
        nb.cells[at:at] = new
    return marks_of(nb)


def marks_of(nb) -> dict[str, tuple[int, int]]:
    """ID -> (right_cell, wrong_cell) read back from the injected cells' metadata (e.g. after JupyterLab saved them)."""
    marks: dict[str, tuple[int | None, int | None]] = {}
    for i, cell in enumerate(nb.cells):
        tag = cell.metadata.get(KEY, {})
        if "expect" in tag:
            right, wrong = marks.get(tag["id"], (None, None))
            marks[tag["id"]] = (i, wrong) if tag["expect"] == "right" else (right, i)
    return marks


def _shown(cell) -> str:
    texts = []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        texts.append(data.get("text/markdown", "") + data.get("text/plain", ""))
        if out.get("output_type") == "error":
            texts.append(f"ERROR {out.get('ename')}: {out.get('evalue')}")
    return "\n".join(texts)


def verdicts(nb, marks: dict[str, tuple[int, int]] | None = None) -> list[str]:
    """After execution: what went wrong (empty when every solution is right and every wrong answer wrong).

    ``marks`` defaults to what :func:`marks_of` reads from the notebook's own cell metadata.
    """
    marks = marks_of(nb) if marks is None else marks
    bad = []
    for tid, (right, wrong) in marks.items():
        shown_right, shown_wrong = _shown(nb.cells[right]), _shown(nb.cells[wrong])
        if not shown_right.lstrip().startswith("✅"):
            bad.append(f"Try it {tid!r}: the solution does not pass its check: {shown_right.strip()[:300]!r}")
        if not shown_wrong.lstrip().startswith("❌"):
            bad.append(f"Try it {tid!r}: the wrong answer is not marked wrong: {shown_wrong.strip()[:300]!r}")
    return bad


def main(argv: list[str]) -> int:
    import os

    from nbclient import NotebookClient

    os.environ.setdefault("CLS_QUICK", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    status = 0
    for prefix in argv or ["[0-9][0-9]"]:
        for path in sorted((ROOT / "notebooks").glob(f"{prefix}*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            issues = problems(nb)
            marks = inject(nb) if not issues else {}
            if not issues:
                NotebookClient(nb, timeout=900, kernel_name="inside-cls", allow_errors=True,
                               resources={"metadata": {"path": str(path.parent)}}).execute()
                issues = verdicts(nb, marks)
            print(f"{path.name}: {len(marks)} Try it(s) checked; " + ("OK" if not issues else "PROBLEMS:"))
            for line in issues:
                print("  -", line)
            status |= bool(issues)
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
