"""Execute every notebook as a reader would and print its wall time and the kernel's peak memory.

    .venv/bin/python bench/bench_notebooks.py [--quick] [--only 04_nsp_pretraining]

Full mode by default (the lesson as readers get it); targets on 2 CPU cores: each notebook within
its issue's budget (3 minutes for 00, 01 and 03; 5 minutes for 02 and 04-07) and a kernel peak resident memory
under 2.5 GB. Quick mode prints the same table for the test-suite setting.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = {"00": 180, "01": 180, "02": 300, "03": 180, "04": 300, "05": 300, "06": 300, "07": 300}
MEMORY_TARGET_GB = 2.5


class PeakMemory:
    """Samples the resident memory of a process and its children every 0.2 s."""

    def __init__(self, pid: int):
        self.proc, self.peak, self._stop = psutil.Process(pid), 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs))
            except psutil.Error:
                pass
            self._stop.wait(0.2)

    def stop(self) -> float:
        self._stop.set()
        self.thread.join()
        return self.peak / 1e9


def run(path: Path) -> tuple[float, float]:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    with client.setup_kernel():
        monitor = PeakMemory(client.km.provisioner.process.pid)
        try:
            client.execute(cleanup_kc=False)
        finally:
            peak = monitor.stop()
    return time.perf_counter() - start, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", action="append", default=[])
    args = parser.parse_args()
    if args.quick:
        os.environ["CLS_QUICK"] = "1"
    else:
        os.environ.pop("CLS_QUICK", None)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        paths = [p for p in paths if p.stem in args.only]
    print(f"{'quick' if args.quick else 'full'} mode, {os.cpu_count()} CPU cores\n")
    print(f"{'notebook':<30} {'time':>8} {'budget':>8} {'peak RSS':>9}  verdict")
    total = 0.0
    for path in paths:
        seconds, peak = run(path)
        total += seconds
        budget = BUDGET_S.get(path.stem[:2], 300)
        ok = (args.quick or seconds <= budget) and peak < MEMORY_TARGET_GB
        print(f"{path.stem:<30} {seconds:7.0f}s {budget:7d}s {peak:8.2f}G  {'ok' if ok else 'OVER'}", flush=True)
    print(f"\nall notebooks: {total:.0f} s; memory target {MEMORY_TARGET_GB} GB per kernel")


if __name__ == "__main__":
    main()
