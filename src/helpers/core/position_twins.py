"""Where the summary token sits, tested in pretraining: the shipped results of the mini-BERT's position twins.

Every layout below was pretrained from scratch with the same corpus, vocabulary, recipe, budget and seeds
(notebook 04's lesson trains them: ``make mini-bert-twins``); only the place the pair head reads changes. This
module reads their shipped results (``data/results/position_twins.json``) for notebooks 02 and 04: the table over
seeds, the curves, time to 0.90, and the paired comparison of each layout with the start layout on the same
held-out pairs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .results import RESULTS_DIR
from .stats import PairedDifference, seed_and_pair_difference

#: layout -> (how a pair is laid out, the name load_model() knows its shipped twin by). "start" is BERT's layout
#: and the shipped mini-BERT's; "last" is XLNet's; "middle" puts [CLS] after the first segment; "none" has no
#: [CLS] and reads the masked mean of the last layer. The same pooler and NSP head follow in every layout.
PAIR_LAYOUTS = {
    "start": ("[CLS] A [SEP] B [SEP]", "mini-bert"),
    "last": ("A [SEP] B [SEP] [CLS]", "mini-bert-cls-last"),
    "middle": ("A [SEP] [CLS] B [SEP]", "mini-bert-cls-middle"),
    "none": ("A [SEP] B [SEP], mean", "mini-bert-no-cls"),
}
#: The seeds every layout is pretrained with (the corpus and vocabulary stay those of seed 0).
TWIN_SEEDS = (0, 1, 2)
#: "Time to 0.90": the first evaluation at which held-out NSP accuracy reaches this.
NSP_LEVEL = 0.90
#: The shipped results file (under data/results).
TWINS_FILE = "position_twins"


def check_layout(layout: str) -> str:
    """``layout`` itself when it is a key of :data:`PAIR_LAYOUTS`; a ValueError naming them otherwise."""
    if layout not in PAIR_LAYOUTS:
        raise ValueError(f"layout must be one of {tuple(PAIR_LAYOUTS)}, got {layout!r}.")
    return layout


def time_to_level(evals, level: float = NSP_LEVEL, key: str = "nsp_acc") -> dict | None:
    """The first evaluation whose held-out ``key`` reaches ``level``: {"step", "seconds"}; None if none does."""
    for e in evals:
        if e.get(key, 0.0) >= level:
            return {"step": int(e["step"]), "seconds": float(e["seconds"])}
    return None


def load_twins(folder: str | Path | None = None) -> dict:
    """The shipped twins' results; a clear error when the file is missing."""
    path = (Path(folder) if folder is not None else RESULTS_DIR) / f"{TWINS_FILE}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: it ships with the course; rebuild it with `make mini-bert-twins`.")
    return json.loads(path.read_text())


def twin_table(data: dict) -> dict[str, dict]:
    """Per layout, over seeds: final NSP and MLM accuracy (mean, min, max, per seed) and time to 0.90 per seed."""
    out: dict[str, dict] = {}
    for rec in data["results"]["runs"]:
        row = out.setdefault(rec["layout"], {"seeds": [], "final": [], "mlm": [], "to_level": []})
        row["seeds"].append(rec["seed"])
        row["final"].append(rec["final"]["nsp_acc"])
        row["mlm"].append(rec["final"]["mlm_acc"])
        row["to_level"].append(time_to_level(rec["evals"], data["results"].get("level", NSP_LEVEL)))
    for row in out.values():
        acc = np.asarray(row["final"])
        row.update(mean=float(acc.mean()), low=float(acc.min()), high=float(acc.max()),
                   mlm_mean=float(np.mean(row["mlm"])))
        steps = [t["step"] for t in row["to_level"] if t]
        row["steps_to_level"] = float(np.mean(steps)) if len(steps) == len(row["to_level"]) else None
    return out


def curves(data: dict) -> dict[str, list[tuple[int, list, list]]]:
    """Per layout: (seed, steps, held-out NSP accuracies) of every run, for the figure."""
    out: dict[str, list] = {}
    for rec in data["results"]["runs"]:
        out.setdefault(rec["layout"], []).append(
            (rec["seed"], [e["step"] for e in rec["evals"]], [e["nsp_acc"] for e in rec["evals"]]))
    return out


def bits_array(bits: str) -> np.ndarray:
    """"0101..." -> (N,) float array of right (1) / wrong (0)."""
    return np.frombuffer(bits.encode("ascii"), dtype=np.uint8).astype(float) - ord("0")


def correct_matrix(data: dict, layout: str) -> np.ndarray:
    """(S,N) right/wrong of every seed of ``layout`` on its held-out pairs (row s: seed s's evaluation set)."""
    correct = data["results"].get("correct", {})
    if layout not in correct:
        raise ValueError(f"The results file has no per-pair results for {layout!r}: rebuild it with "
                         "`make mini-bert-twins`.")
    return np.stack([bits_array(b) for b in correct[layout]])


def layout_differences(data: dict, reference: str = "start") -> dict[str, PairedDifference]:
    """Each layout's held-out NSP accuracy minus ``reference``'s: seed s of every layout is scored on the same
    held-out pairs (those of seed s, shipped as right/wrong per pair), and the interval resamples both the seeds
    and the pairs (``stats.seed_and_pair_difference``), because one pretraining seed can land far from the others."""
    ref = correct_matrix(data, reference)
    return {layout: seed_and_pair_difference(correct_matrix(data, layout), ref,
                                      names=(PAIR_LAYOUTS[layout][0], PAIR_LAYOUTS[reference][0]))
            for layout in data["results"]["correct"] if layout != reference}


def format_twin_table(table: dict[str, dict], level: float = NSP_LEVEL) -> str:
    """The twins table as text: layout, NSP accuracy at the end (mean and range over seeds), steps to ``level``."""
    head = f"steps to {level:.2f}"
    rows = [(PAIR_LAYOUTS[layout][0], f"{row['mean']:.3f}", f"{row['low']:.3f}-{row['high']:.3f}",
             ", ".join("never" if t is None else str(t["step"]) for t in row["to_level"]), f"{row['mlm_mean']:.3f}")
            for layout, row in table.items()]
    titles = ("layout", "NSP at the end", "range over seeds", head, "MLM acc")
    widths = [max(len(r[k]) for r in [titles, *rows]) for k in range(len(titles))]
    fmt = "  ".join(["{:<%d}" % widths[0]] + ["{:>%d}" % w for w in widths[1:]])
    lines = [fmt.format(*titles), "-" * (sum(widths) + 2 * (len(widths) - 1))]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(lines)


def _speed(row: dict, level: float) -> str:
    """"reached 0.90 in k of n seeds (after s steps on average)" for a row of :func:`twin_table`."""
    steps = [t["step"] for t in row["to_level"] if t]
    n = len(row["to_level"])
    if not steps:
        return f"never reached {level:.2f} in {n} seeds"
    return f"reached {level:.2f} in {len(steps)} of {n} seeds (after {np.mean(steps):.0f} steps on average)"


def twin_finding(data: dict) -> str:
    """"With these twins we found: ..." from the shipped table and the paired differences against the start."""
    table = twin_table(data)
    diffs = layout_differences(data)
    start = table["start"]
    level = data["results"].get("level", NSP_LEVEL)
    seeds = len(start["seeds"])
    parts = []
    for layout, d in diffs.items():
        row = table[layout]
        parts.append(f"{PAIR_LAYOUTS[layout][0]} ends at {row['mean']:.3f} (seeds {row['low']:.3f}-{row['high']:.3f}) "
                     f"and {_speed(row, level)}; against the start (same held-out pairs, seeds and pairs resampled): "
                     f"{d.verdict()}")
    same = [l for l, d in diffs.items() if d.outcome == "indistinguishable"]
    worse = [l for l, d in diffs.items() if d.outcome == "lower"]
    better = [l for l, d in diffs.items() if d.outcome == "higher"]
    start_speed = _speed(start, level)
    if len(same) == len(diffs):
        verdict = ("so no other place could be told apart from the start, not even no summary token at all (the "
                   "mean): on this evidence the first position is a convention, not a discovery"
                   if "none" in same else "so no other place for [CLS] could be told apart from the start")
    else:
        bits = []
        if worse:
            bits.append("lower with " + ", ".join(PAIR_LAYOUTS[l][0] for l in worse))
        if better:
            bits.append("higher with " + ", ".join(PAIR_LAYOUTS[l][0] for l in better))
        verdict = ("so where the summary is read changes what NSP pretraining reaches here (" + "; ".join(bits) + ")"
                   + (f", while {' and '.join(PAIR_LAYOUTS[l][0] for l in same)} could not be told apart from the start"
                      if same else ""))
    return (f"With these twins ({seeds} seeds each, same corpus, recipe and budget) we found: [CLS] at the start ends at "
            f"{start['mean']:.3f} (seeds {start['low']:.3f}-{start['high']:.3f}) and {start_speed}. "
            + ". ".join(p[0].upper() + p[1:] for p in parts) + f"; {verdict}.")
