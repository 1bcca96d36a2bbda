"""Every notebook in a real browser: JupyterLab on 127.0.0.1, driven in Debian's Chromium by Playwright.

For each notebook: open it, Run All Cells through the menu, wait for the kernel, save, and check
that no cell raised, every code cell ran, widgets rendered (no "Loading widget..." fallback), and
that moving a widget as a user would changes what it shows. Screenshots go to test-artifacts/browser/.
Skipped (with how to install) where Chromium is absent, except in CI where .ci/run installs it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from conftest import free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import tryit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("CLS_CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
RUN_TIMEOUT_MS = 600_000

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def require_chromium() -> None:
    """Skip with advice where Chromium is missing; in CI that is a failure of the set-up."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run should have installed Debian's chromium")
    pytest.skip(
        f"Browser tests need Debian's Chromium at {CHROMIUM}: `sudo apt-get install chromium` "
        "(never `playwright install`, which downloads a browser)."
    )



class Lab:
    """A JupyterLab server on a temporary copy of the notebooks."""

    def __init__(self, workdir: Path):
        self.root = workdir / "course"
        shutil.copytree(ROOT / "notebooks", self.root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        # each Try it also runs with its solution and with a wrong answer (tools/tryit.py), so this one run through
        # JupyterLab checks the exercises too; the nbclient harness then need not execute the notebooks again
        for path in self.root.glob("[0-9][0-9]_*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            tryit.inject(nb)
            nbformat.write(nb, path)
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        settings = workdir / "settings"
        settings.mkdir()
        shutil.copy(ROOT / "jupyter" / "overrides.json", settings / "overrides.json")
        env = dict(
            os.environ,
            CLS_QUICK="1",
            HF_HUB_OFFLINE="1",
            JUPYTER_RUNTIME_DIR=str(workdir / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(workdir / "user-settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(workdir / "workspaces"),
        )
        cmd = [
            str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
            "--MultiKernelManager.default_kernel_name=inside-cls",
            f"--LabServerApp.app_settings_dir={settings}",
        ]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log = open(workdir / "lab.log", "w")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited; see {workdir / 'lab.log'}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("JupyterLab did not start within 120 s")

    def api(self, path: str, method: str = "GET"):
        req = urllib.request.Request(f"{self.base}{path}?token={self.token}", method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        for kernel in self.api("/api/kernels"):
            self.api(f"/api/kernels/{kernel['id']}", method="DELETE")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    require_chromium()
    server = Lab(tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield chromium
        chromium.close()


def wait_idle(page, timeout_ms: int = 120_000) -> None:
    page.wait_for_function(
        "() => /\\|\\s*Idle/.test(document.querySelector('.jp-StatusBar-Widget') ? "
        "document.querySelector('#jp-main-statusbar').innerText : '')",
        timeout=timeout_ms,
    )


def run_all_cells(page) -> None:
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].some(e => /[*\\d]/.test(e.textContent))",
        timeout=60_000,
    )
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].some(e => e.textContent.includes('*'))",
        timeout=RUN_TIMEOUT_MS,
        polling=500,
    )
    wait_idle(page)


def output_fingerprint(cell) -> str:
    """What a cell shows, apart from the widgets' own controls: images and output text."""
    return cell.evaluate(
        """(cell) => {
            const parts = [];
            cell.querySelectorAll('.jp-OutputArea img, .jp-OutputArea svg, .jp-OutputArea canvas').forEach(
                e => parts.push(e.getAttribute('src') || e.outerHTML.length + ':' + e.innerHTML.slice(0, 2000)));
            cell.querySelectorAll('.jp-OutputArea .jp-RenderedText, .jp-OutputArea .jp-RenderedHTMLCommon, '
                                + '.jp-OutputArea .widget-html-content, .jp-OutputArea table').forEach(
                e => parts.push(e.innerText));
            return parts.join('\\n');
        }"""
    )


def move_one_widget(page) -> tuple[str, bool]:
    """Move the first slider (keyboard), else pick another dropdown option, else type in a text box.

    Returns (what was moved, whether the cell's displayed output changed).
    """
    for kind, selector in (
        ("slider", ".jp-CodeCell:has(.widget-slider .noUi-handle)"),
        ("dropdown", ".jp-CodeCell:has(.widget-dropdown select)"),
        ("text", ".jp-CodeCell:has(.widget-text input, .widget-textarea textarea)"),
    ):
        cells = page.locator(selector)
        if cells.count() == 0:
            continue
        cell = cells.first
        cell.scroll_into_view_if_needed()
        before = output_fingerprint(cell)
        if kind == "slider":
            handle = cell.locator(".widget-slider .noUi-handle").first
            handle.focus()
            page.keyboard.press("End" if handle.get_attribute("aria-valuenow") != handle.get_attribute("aria-valuemax") else "Home")
        elif kind == "dropdown":
            select = cell.locator(".widget-dropdown select").first
            values = select.evaluate("s => [...s.options].map(o => o.value)")
            current = select.input_value()
            select.select_option(next(v for v in values if v != current))
        else:
            box = cell.locator(".widget-text input, .widget-textarea textarea").first
            box.fill("An unexpectedly moving film about tokenizers!")
            box.press("Enter")
        deadline = time.time() + 30
        while time.time() < deadline:
            page.wait_for_timeout(500)
            if output_fingerprint(cell) != before:
                return kind, True
        return kind, False
    return "", False


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_in_jupyterlab(lab, browser, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    console_errors: list[str] = []
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))
    try:
        # a fresh workspace per notebook, so no tab from an earlier test is restored beside it
        workspace = Path(name).stem.replace("_", "-")
        page.goto(f"{lab.base}/lab/workspaces/{workspace}/tree/{name}?reset&token={lab.token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        wait_idle(page)
        kernel = page.locator(".jp-Toolbar-kernelName").first.inner_text()
        assert "Inside [CLS]" in kernel, f"opened with kernel {kernel!r}"
        run_all_cells(page)
        page.keyboard.press("Control+s")
        page.wait_for_timeout(1500)
        saved = json.loads((lab.root / name).read_text())
        code = [c for c in saved["cells"] if c["cell_type"] == "code"]
        errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{name}: {errors[0]['ename']}: {errors[0]['evalue']}"
        assert all(c.get("execution_count") for c in code), f"{name}: not every code cell ran"
        bad = tryit.verdicts(nbformat.reads(json.dumps(saved), as_version=4))
        assert not bad, "\n".join(bad)
        assert tryit.marks_of(nbformat.reads(json.dumps(saved), as_version=4)), f"{name}: no Try it was checked"

        body = page.locator(".jp-Notebook").inner_text()
        assert "Loading widget..." not in body, "a widget did not render"
        assert "Error displaying widget" not in body
        has_widgets = any(
            "application/vnd.jupyter.widget-view+json" in o.get("data", {}) for c in code for o in c.get("outputs", [])
        )
        if has_widgets:
            assert page.locator(".jp-OutputArea .jupyter-widgets").count() > 0, "widgets left as raw text"
            moved, changed = move_one_widget(page)
            page.screenshot(path=str(ARTIFACTS / f"{Path(name).stem}_after_{moved or 'none'}.png"))
            assert moved, f"{name} shows widgets but none could be moved"
            assert changed, f"moving the first {moved} in {name} did not change what it shows"
        page.screenshot(path=str(ARTIFACTS / f"{Path(name).stem}.png"), full_page=True)
        print(f"screenshots: {ARTIFACTS}")
        assert not console_errors, f"JavaScript errors: {console_errors[:3]}"
    finally:
        page.close()
        lab.shutdown_kernels()



def _notebook_with_plots() -> str:
    """A notebook whose outputs include matplotlib figures (to check images in the export)."""
    for stem in ("02_position_of_cls", "05_slicing_the_output_cube", "03_attention_into_cls"):
        if f"{stem}.ipynb" in NOTEBOOKS:
            return stem
    for name in NOTEBOOKS:
        nb = json.loads((ROOT / "notebooks" / name).read_text())
        if any(k in "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code" for k in ("plot", "draw")):
            return Path(name).stem
    pytest.skip("no notebook draws a figure yet")


def export_and_serve(kind: str, stem: str, out: Path):
    """Run tools/export.py for one notebook in quick mode and serve the folder on 127.0.0.1."""
    import http.server
    import threading
    from functools import partial

    if shutil.which("npm") is None:
        if os.environ.get("CI"):
            pytest.fail("npm is missing in CI: .ci/run should have installed it")
        pytest.skip("The export needs npm (apt-get install npm) for its offline widget renderer and reveal.js.")
    env = dict(os.environ, CLS_QUICK="1", HF_HUB_OFFLINE="1")
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "export.py"), kind, "--out", str(out), "--only", stem],
                            capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def test_static_html_export_shows_plots_and_widgets(browser, tmp_path):
    require_chromium()
    stem = _notebook_with_plots()
    out = tmp_path / "html"
    server, base = export_and_serve("html", stem, out)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    failed: list[str] = []
    page.on("requestfailed", lambda req: failed.append(req.url))
    try:
        page.goto(f"{base}/index.html")
        link = page.get_by_role("link").first
        assert link.get_attribute("href") == f"{stem}.html"
        link.click()
        page.wait_for_load_state("load")
        page.wait_for_timeout(3000)  # let the widget manager render
        images = page.evaluate("() => [...document.images].map(i => [i.complete, i.naturalWidth])")
        assert images, f"{stem}.html shows no images"
        assert all(done and width > 0 for done, width in images), f"broken images: {images}"
        assert page.get_by_text("Loading widget").count() == 0
        if "application/vnd.jupyter.widget-view+json" in (out / f"{stem}.html").read_text():
            assert page.locator(".jupyter-widgets").count() > 0, "widgets were not rendered offline"
        assert not failed, f"requests that failed (missing files, or a CDN the page should not need): {failed}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"html_{stem}.png"))
    finally:
        page.close()
        server.shutdown()


def test_slides_run_offline_and_advance(browser, tmp_path):
    require_chromium()
    server, base = export_and_serve("slides", "00_start_here", tmp_path / "slides")
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    failed: list[str] = []
    errors: list[str] = []
    page.on("requestfailed", lambda req: failed.append(req.url))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{base}/index.html")
        assert page.get_by_role("link").first.get_attribute("href") == "00_start_here.slides.html"
        page.goto(f"{base}/00_start_here.slides.html")
        page.wait_for_selector(".reveal.ready", timeout=30_000)
        assert page.locator(".reveal .slides > section").count() >= 4, "one slide per section"
        first = page.locator(".reveal .slides section.present").first.inner_text()
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(800)
        second = page.locator(".reveal .slides section.present").first.inner_text()
        assert first != second, "the arrow key did not move to the next slide"
        assert not failed, f"requests that failed: {failed}"
        assert not errors, f"JavaScript errors: {errors}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "slides_00_start_here.png"))
    finally:
        page.close()
        server.shutdown()
