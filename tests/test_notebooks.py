"""The notebook harness: every notebooks/NN_*.ipynb executes headless in quick mode without errors,
is committed without outputs, follows the course's shape (title, question, first cell, recap), types no
measurement into its prose, and teaches: every "Try it" is filled with its solution and its check must
say right, and with a wrong answer its check must say wrong (tools/tryit.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import re
import sys

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import tryit  # noqa: E402
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
KERNEL = "inside-cls"


def _kernel_name() -> str:
    from jupyter_client.kernelspec import KernelSpecManager

    return KERNEL if KERNEL in KernelSpecManager().find_kernel_specs() else "python3"


def test_there_are_notebooks():
    assert (ROOT / "notebooks" / "00_start_here.ipynb") in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"
    assert nb.metadata.get("kernelspec", {}).get("name") == KERNEL


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_carries_slide_metadata(path):
    """`make slides` needs each cell's slide type; `python tools/export.py tag-slides` sets them."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("export", ROOT / "tools" / "export.py")
    export = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(export)
    nb = nbformat.read(path, as_version=4)
    wrong = [i for i, c in enumerate(nb.cells) if c.metadata.get("slideshow", {}).get("slide_type") != export.slide_type(c)]
    assert not wrong, f"{path.name}: cells {wrong} lack slide metadata; run `python tools/export.py tag-slides`"
    assert nb.cells[0].metadata["slideshow"]["slide_type"] == "slide"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_shape_of_a_lesson(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("# "), "open with an H1 title"
    assert "you will" in first.source.lower(), "the first cell lists what you will do"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "import helpers" in code[0].source and "helpers.start(" in code[0].source
    assert "import *" not in "".join(c.source for c in code), "no star imports"
    assert "pip install" not in "".join(c.source for c in code), "no pip install cells"
    last_md = [c for c in nb.cells if c.cell_type == "markdown"][-1].source.lower()
    assert "recap" in last_md or "questions to try" in last_md


#: Where Debian's Chromium is, the browser tests execute every notebook in JupyterLab with its Try-its filled in
#: (tests/test_browser.py), so executing them here as well would only double the suite's time.
CHROMIUM = Path(os.environ.get("CLS_CHROMIUM", "/usr/bin/chromium"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_executes_in_quick_mode(path, monkeypatch, tmp_path):
    if CHROMIUM.exists() and not os.environ.get("CLS_RUN_BOTH"):
        pytest.skip("executed with its Try-its by the browser test (tests/test_browser.py); CLS_RUN_BOTH=1 runs it here too")
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv("CLS_QUICK", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(path, as_version=4)
    marks = tryit.inject(nb)  # each Try it is also run with its solution and with a wrong answer
    client = NotebookClient(
        nb, timeout=600, kernel_name=_kernel_name(), resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name} failed in quick mode:\n{exc}")
    elapsed = time.perf_counter() - start
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    bad = tryit.verdicts(nb, marks)
    assert not bad, "\n".join(bad)
    print(f"{path.name}: {elapsed:.1f} s in quick mode, {len(marks)} Try it(s) checked with their solutions")
    if os.environ.get("CLS_KEEP_EXECUTED"):
        nbformat.write(nb, tmp_path / path.name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_try_it_is_tagged_for_the_harness(path):
    nb = nbformat.read(path, as_version=4)
    headings = [c for c in nb.cells if c.cell_type == "markdown" and re.search(r"^#+ Try it", c.source, re.M)]
    found = tryit.tryits(nb)
    assert len(found) == len(headings) >= 2, (
        f"{path.name}: {len(headings)} 'Try it' headings but {len(found)} tagged Try-its (see tools/tryit.py)")
    problems = tryit.problems(nb)
    assert not problems, "\n".join(problems)
    for tid in found:
        assert tid.startswith(path.name[:2] + "-"), f"{path.name}: Try-it id {tid!r} should start with {path.name[:2]}-"


#: A timing typed into prose ("146 s of CPU time", "about 2 minutes") or a measured figure with 2+ decimals.
TYPED_TIMING = re.compile(r"\b\d+(\.\d+)?\s?(ms|s|sec|seconds|min|minutes)\b(?! ?[-a-z])")
TYPED_DECIMAL = re.compile(r"(?<![\w.])\d+\.\d{2,}(?![\w.])")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_prose_types_no_measurement(path):
    """Numbers in markdown are computed in a code cell, phrased as what to look for, or printed from the registry."""
    nb = nbformat.read(path, as_version=4)
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown" or "solution" in cell.metadata.get("inside_cls", {}):
            continue
        prose = re.sub(r"```.*?```|`[^`]*`", "", cell.source, flags=re.S)  # code is code, not prose
        found += [f"cell {i}: {m.group(0)!r}" for m in TYPED_TIMING.finditer(prose)]
        found += [f"cell {i}: {m.group(0)!r}" for m in TYPED_DECIMAL.finditer(prose)]
    assert not found, f"{path.name} types measurements into its prose: {found}"
