"""The notebook harness: every notebooks/NN_*.ipynb executes headless in quick mode without errors,
is committed without outputs, and follows the course's shape (title, question, first cell, recap)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
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


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_executes_in_quick_mode(path, monkeypatch, tmp_path):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv("CLS_QUICK", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(path, as_version=4)
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
    print(f"{path.name}: {elapsed:.1f} s in quick mode")
    if os.environ.get("CLS_KEEP_EXECUTED"):
        nbformat.write(nb, tmp_path / path.name)
