"""Execute the notebooks and export them for reading without Jupyter: HTML pages or reveal.js slides.

    python tools/export.py html   [--out build/html]   [--only 05_slicing_the_output_cube]
    python tools/export.py slides [--out build/slides] [--only ...]
    python tools/export.py tag-slides      (authors: set each cell's slide type from its headings)

Widgets keep their state (sliders show the values they were executed with, plots inside widgets
are drawn) through the Jupyter widgets HTML manager, and slides use reveal.js. Both JavaScript
packages are installed from the npm registry into build/_vendor once and served from the output
folder, so the pages need no CDN and work offline. Set CLS_QUICK=1 for a fast, smaller build.
"""

from __future__ import annotations

import argparse
import html
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
VENDOR = ROOT / "build" / "_vendor"
NPM_PACKAGES = {
    "@jupyter-widgets/html-manager": "1.0.15",
    "requirejs": "2.3.8",
    "reveal.js": "4.6.1",
    "jquery": "2.2.4",
}


class ExportError(RuntimeError):
    """The export cannot go on; the message says what to install or fix."""


def vendor_js() -> Path:
    """Install the widget renderer, require.js, jQuery and reveal.js from npm once; return node_modules."""
    modules = VENDOR / "node_modules"
    wanted = [modules / name / "package.json" for name in NPM_PACKAGES]
    if all(p.is_file() for p in wanted):
        return modules
    npm = shutil.which("npm")
    if npm is None:
        raise ExportError(
            "Exporting needs Node.js and npm to fetch the offline widget renderer and reveal.js "
            "(Debian: apt-get install nodejs npm)."
        )
    VENDOR.mkdir(parents=True, exist_ok=True)
    specs = [f"{name}@{version}" for name, version in NPM_PACKAGES.items()]
    cmd = [npm, "install", "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "--ignore-scripts",
           "--prefix", str(VENDOR), *specs]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0 or not all(p.is_file() for p in wanted):
        raise ExportError(f"npm could not install {', '.join(specs)}:\n{result.stderr[-2000:]}")
    return modules


#: The notebooks carry no LaTeX, so no MathJax is shipped; this stands in for the calls nbconvert's
#: templates make (page set-up, re-rendering on slide change) so pages run offline without errors.
MATHJAX_STAND_IN = """window.MathJax = {Hub: {
  Config: function () {}, Queue: function () {}, Typeset: function () {},
  getAllJax: function () { return []; }, Rerender: function () {}
}};
"""


#: No notebook draws a Mermaid diagram; the slides template imports Mermaid regardless, so it gets this
#: module inline (a data: URL also imports from a page opened as a file, where module files are blocked).
MERMAID_STAND_IN = "data:text/javascript,export default {initialize() {}, parse() {}, render() {return {svg: String()};}};"


def copy_static(out: Path, modules: Path, slides: bool) -> None:
    static = out / "_static"
    static.mkdir(parents=True, exist_ok=True)
    (static / "mathjax-stand-in.js").write_text(MATHJAX_STAND_IN, encoding="utf-8")
    shutil.copytree(modules / "@jupyter-widgets" / "html-manager" / "dist", static / "html-manager", dirs_exist_ok=True)
    shutil.copy(modules / "requirejs" / "require.js", static / "require.js")
    shutil.copy(modules / "jquery" / "dist" / "jquery.min.js", static / "jquery.min.js")
    if slides:
        for part in ("dist", "plugin"):
            shutil.copytree(modules / "reveal.js" / part, static / "reveal.js" / part, dirs_exist_ok=True)


def execute(path: Path):
    """Run a notebook top to bottom in its folder and return it with outputs and widget state."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                            store_widget_state=True)
    client.execute()
    return nb


def exporter(kind: str):
    from nbconvert import HTMLExporter, SlidesExporter

    common = dict(
        widget_renderer_url="_static/html-manager/embed-amd.js",
        require_js_url="_static/require.js",
        mathjax_url="_static/mathjax-stand-in.js",
        jquery_url="_static/jquery.min.js",
        mermaid_js_url=MERMAID_STAND_IN,
    )
    if kind == "slides":
        # the "white" theme uses fonts shipped with reveal.js ("simple" fetches them from a CDN)
        return SlidesExporter(reveal_url_prefix="_static/reveal.js", reveal_theme="white", reveal_scroll=True, **common)
    return HTMLExporter(template_name="lab", **common)


def slide_type(cell) -> str:
    """The reveal.js role of a cell: a new slide at each H1/H2, a sub-slide at H3, solutions skipped."""
    if cell.get("metadata", {}).get("jupyter", {}).get("source_hidden"):
        return "skip"
    if cell["cell_type"] == "markdown":
        first = "".join(cell["source"]).lstrip().split("\n", 1)[0]
        if first.startswith(("# ", "## ")):
            return "slide"
        if first.startswith("### "):
            return "subslide"
    return "-"


def tag_slides(paths: list[Path]) -> list[Path]:
    """Write slide metadata into notebooks (outputs untouched); return those that changed."""
    import nbformat

    changed = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        dirty = False
        for cell in nb.cells:
            want = slide_type(cell)
            if cell.metadata.get("slideshow", {}).get("slide_type") != want:
                cell.metadata["slideshow"] = {"slide_type": want}
                dirty = True
        if dirty:
            nbformat.write(nb, path)
            changed.append(path)
    return changed


def write_index(out: Path, pages: list[tuple[dict, str]], kind: str) -> Path:
    rows = "\n".join(
        f'<li><a href="{html.escape(href)}">{html.escape(row["title"])}</a>'
        f'<br><span class="q">{html.escape(row["question"])}</span></li>'
        for row, href in pages
    )
    what = "slides" if kind == "slides" else "notebooks"
    index = out / "index.html"
    index.write_text(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Inside [CLS]: {what}</title>
<style>body{{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.5}}
li{{margin:.8em 0}} .q{{color:#555}}</style></head>
<body><h1>Inside [CLS]</h1>
<p>Why do we classify a whole sentence with the output of one token, [CLS]? The course's {what}, in order.</p>
<ol start="0">
{rows}
</ol></body></html>
""",
        encoding="utf-8",
    )
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Execute and export the course notebooks.")
    parser.add_argument("kind", choices=["html", "slides", "tag-slides"])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default build/html or build/slides)")
    parser.add_argument("--only", action="append", default=[], help="notebook stem to export (repeatable)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    from helpers.core.course import course_map

    rows = course_map(NOTEBOOKS)
    if args.only:
        unknown = set(args.only) - {Path(r["file"]).stem for r in rows}
        if unknown:
            raise ExportError(f"No such notebook(s): {sorted(unknown)}; choose from {[Path(r['file']).stem for r in rows]}")
        rows = [r for r in rows if Path(r["file"]).stem in args.only]
    if args.kind == "tag-slides":
        for path in tag_slides([NOTEBOOKS / r["file"] for r in rows]):
            print(f"slide metadata written: {path.name}")
        return 0
    out = (args.out or ROOT / "build" / args.kind).resolve()
    modules = vendor_js()
    out.mkdir(parents=True, exist_ok=True)
    copy_static(out, modules, slides=args.kind == "slides")
    export = exporter(args.kind)
    pages = []
    for row in rows:
        start = time.perf_counter()
        nb = execute(NOTEBOOKS / row["file"])
        body, _ = export.from_notebook_node(nb)
        suffix = ".slides.html" if args.kind == "slides" else ".html"
        target = out / (Path(row["file"]).stem + suffix)
        target.write_text(body, encoding="utf-8")
        pages.append((row, target.name))
        print(f"{row['file']}: executed and exported in {time.perf_counter() - start:.0f} s -> {target}")
    index = write_index(out, pages, args.kind)
    print(f"index: {index}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
