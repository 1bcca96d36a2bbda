"""The package keeps its shape: core / ui / lessons layering, one definition per concept, one figure convention.

These tests read the source (no model needed), so they are fast and say exactly which file breaks a rule.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "helpers"
MODULES = sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: A module longer than this may not mix drawing or widgets with computation.
MAX_MIXED_LINES = 600


def layer_of(path: Path) -> str:
    rel = path.relative_to(PKG).parts
    return rel[0] if len(rel) > 1 else "top"


def lesson_of(path: Path) -> str | None:
    rel = path.relative_to(PKG).parts
    if rel[0] != "lessons" or rel[-1] == "__init__.py" and len(rel) == 2:
        return None
    return rel[1].removesuffix(".py")


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_helpers_modules(path: Path) -> set[str]:
    """Every helpers.* module this file imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("helpers"):
                out.add(target)
                for alias in node.names:  # "from ..core import stats" imports helpers.core.stats
                    out.add(f"{target}.{alias.name}")
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("helpers")}
    return out


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_layering(path):
    layer = layer_of(path)
    imports = imported_helpers_modules(path)
    if layer == "core":
        bad = [m for m in imports if not m.startswith("helpers.core")]
        assert not bad, f"core modules import only the core; {path.name} imports {bad}"
    elif layer == "ui":
        bad = [m for m in imports if not m.startswith(("helpers.core", "helpers.ui"))]
        assert not bad, f"ui modules import only core and ui; {path.name} imports {bad}"
    elif layer == "lessons":
        mine = lesson_of(path)
        others = [m for m in imports if m.startswith("helpers.lessons.") and m.split(".")[2] != mine]
        assert not others, f"a lesson never imports another lesson; {path.relative_to(PKG)} imports {others}"


#: Conventional entry-point names every command-line module may define.
ENTRY_POINTS = {"main"}


def _definitions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))
            and not n.name.startswith("_") and n.name not in ENTRY_POINTS}


def test_no_lesson_redefines_a_core_name():
    core = {}
    for path in MODULES:
        if layer_of(path) in ("core", "ui"):
            for name in _definitions(path):
                core.setdefault(name, path.relative_to(PKG))
    clashes = []
    for path in MODULES:
        if layer_of(path) == "lessons":
            clashes += [f"{path.relative_to(PKG)} defines {n} (core: {core[n]})" for n in _definitions(path) if n in core]
    assert not clashes, "one concept, one definition: " + "; ".join(clashes)


def test_no_two_lessons_define_the_same_public_name():
    seen: dict[str, str] = {}
    clashes = []
    for path in MODULES:
        lesson = lesson_of(path)
        if lesson is None:
            continue
        for name in _definitions(path):
            if name in seen and seen[name] != lesson:
                clashes.append(f"{name} in {seen[name]} and {lesson}")
            seen.setdefault(name, lesson)
    assert not clashes, "a name two lessons define is either one concept (move it to the core) or two (rename one): " + \
        "; ".join(clashes)


def test_loaded_model_is_built_in_one_place():
    offenders = []
    for path in MODULES:
        if path.name == "models.py" and layer_of(path) == "core":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "LoadedModel":
                offenders.append(str(path.relative_to(PKG)))
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "replace" and \
                    any(isinstance(a, ast.Name) and a.id == "lm" for a in node.args):
                offenders.append(f"{path.relative_to(PKG)} (dataclasses.replace of a LoadedModel)")
    assert not offenders, f"build a LoadedModel with helpers.core.models.from_module, not in {offenders}"


def test_one_figure_convention_no_pyplot():
    offenders = [str(p.relative_to(PKG)) for p in MODULES if any("pyplot" in m for m in _imports(p))]
    assert not offenders, f"figures are built with helpers.ui.figures.new_figure, never pyplot: {offenders}"
    for path in NOTEBOOKS:
        code = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
        assert "pyplot" not in code, f"{path.name} uses pyplot; show figures with helpers.show(fig)"


def _imports(path: Path) -> set[str]:
    """Every module name an import statement of ``path`` names (``import a.b``, ``from a.b import c`` -> a.b, a.b.c)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return out


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_long_modules_do_not_mix_computing_with_drawing(path):
    lines = path.read_text(encoding="utf-8").count("\n")
    if lines <= MAX_MIXED_LINES:
        return
    names = _definitions(path)
    drawing = sorted(n for n in names if n.startswith(("draw_", "build_", "render_")) or n.endswith(("_html", "_png")))
    assert not drawing, f"{path.relative_to(PKG)} has {lines} lines and mixes computation with drawing/widgets ({drawing[:4]}): split it"


def test_every_notebook_has_its_lesson_module():
    lessons = {lesson_of(p) for p in MODULES if lesson_of(p)}
    for path in NOTEBOOKS:
        slug = path.stem.split("_", 1)[1]
        assert slug in lessons, f"{path.name} has no lesson module helpers.lessons.{slug}"


def test_global_state_is_not_mutated_by_functions():
    offenders = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Global):
                offenders.append(f"{path.relative_to(PKG)}: global {', '.join(node.names)}")
    assert not offenders, f"keep state in objects, not module globals: {offenders}"
