"""Reading the shipped fine-tuning sweep (data/results/finetune_sweep.json): its table, its verdicts on the
forum's claims, the published figures beside it, and the check that a live rerun agrees with it.

Notebooks 02 and 06 both show the sweep; this is the one place its numbers are turned into tables and words.
The figures are in :mod:`helpers.ui.results`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .readouts import get_readout
from .results import load_results
from .stats import Estimate, paired_difference
from .sweep import CHECK_CELL, PLATEAU_TOLERANCE, RESULT_NAME, bits_to_array, correct_of

#: The forum's claims, checked one by one against the shipped sweep.
FORUM_CLAIMS = {
    "any_token": "\"if you fine-tune any of them, it can also perform as good as [CLS]\"",
    "global_pooling": "\"The use of GlobalPooling1D is not inferior to [CLS]\"",
}
#: A difference smaller than this is too small to matter here: the resolution the sweep was built for (issue 12).
NON_INFERIORITY_MARGIN = 0.02
#: The quick check's tolerance against the shipped check cell: test accuracy within this, and at least
#: CHECK_AGREEMENT of the test sentences judged the same (float sums differ with thread counts and CPUs).
CHECK_TOLERANCE = 0.01
CHECK_AGREEMENT = 0.98


def load_sweep(folder=None) -> dict:
    """The shipped sweep: {"provenance": ..., "results": ...} (a clear error if it is missing)."""
    return load_results(RESULT_NAME, folder)


def readouts_of(sweep: dict) -> list[str]:
    """The sweep's readouts in display order ([CLS] first), as its provenance lists them."""
    table = sweep["results"]["table"]
    return [k for k in sweep["provenance"].get("readouts", list(table)) if k in table]


def correct_matrix(sweep: dict, readout: str) -> np.ndarray:
    """(seeds, N_test) right/wrong of the fine-tuned heads on ``readout``."""
    return correct_of(sweep["results"]["cells"], readout)


def shipped_frozen(sweep: dict, readout: str) -> np.ndarray:
    """(N_test,) right/wrong of the frozen probe on ``readout``."""
    return bits_to_array(sweep["results"]["frozen"][readout]["correct"])


def frozen_difference(sweep: dict, readout: str, reference: str = "cls"):
    """The frozen probe on ``readout`` minus the one on ``reference``, paired on the sweep's test sentences
    (:class:`helpers.core.stats.PairedDifference`; the fine-tuned heads' differences ship in the table's "vs_cls")."""
    return paired_difference(shipped_frozen(sweep, readout), shipped_frozen(sweep, reference),
                             names=(f"frozen, {get_readout(readout).label}", get_readout(reference).label))


def per_seed(sweep: dict, readout: str) -> Estimate:
    """The fine-tuned test accuracy of ``readout`` per seed."""
    return Estimate(sweep["results"]["table"][readout]["per_seed"], name=get_readout(readout).label)


def describe_sweep(sweep: dict) -> str:
    """Where the numbers come from: model, data, budget, seeds, time, machine, code version."""
    p = sweep["provenance"]
    b = p["budget"]
    layers = b.get("train_layers")
    return (f"Shipped sweep ({p['written']}): model {p['model']} (fingerprint {p['model_fingerprint']}), "
            f"{p['data']} data {p['data_hash']} ({p['n_fit']} fit / {p['n_val']} validation / {p['n_test']} test "
            f"sentences); {b['steps']} steps of batch {b['batch_size']}, top {layers} layers + a linear head, "
            f"precision {b['precision']}, seeds {p['seeds']}; {p['wall_seconds'] / 60:.0f} min of training, "
            f"{p.get('wall_clock_seconds', 0) / 60:.0f} min wall clock in {p['jobs']} process(es) on "
            f"{p['machine']['cpu_count']} CPU cores; code {p['code_version']}.")


def table_text(sweep: dict, readouts: Sequence[str] | None = None) -> str:
    """Readout, frozen probe, fine-tuned head (seeds pooled), the gain, and the paired interval against [CLS]
    (``readouts``: which rows, default all)."""
    t = {k: sweep["results"]["table"][k] for k in readouts_of(sweep) if readouts is None or k in readouts}
    width = max(len(r["label"]) for r in t.values())
    lines = [f"{'readout':<{width}}  frozen  fine-tuned  gain [95% interval]      fine-tuned minus [CLS] [95% interval]",
             "-" * (width + 88)]
    for key, r in t.items():
        g = r["gain"]
        vs = r.get("vs_cls")
        vs_txt = "(the reference)" if vs is None else f"{vs['diff']:+.3f} [{vs['lo']:+.3f}, {vs['hi']:+.3f}] {vs['outcome']}"
        lines.append(f"{r['label']:<{width}}  {r['frozen']:.3f}   {r['fine_tuned']:.3f}     "
                     f"{g['diff']:+.3f} [{g['lo']:+.3f}, {g['hi']:+.3f}]   {vs_txt}")
    p = sweep["provenance"]
    lines.append(f"(paired bootstrap over the {p['n_test']} test sentences, {len(p['seeds'])} seeds pooled; frozen = a "
                 "logistic-regression probe on the frozen model's last layer, C chosen by cross-validation on the "
                 "training sentences)")
    return "\n".join(lines)


def half_widths(sweep: dict) -> dict[str, float]:
    """readout -> half-width of its paired interval against [CLS] (the resolution of each comparison)."""
    return {k: (r["vs_cls"]["hi"] - r["vs_cls"]["lo"]) / 2 for k, r in sweep["results"]["table"].items() if "vs_cls" in r}


def plateau_text(sweep: dict) -> str:
    """Did the budget reach the plateau? One sentence from the curves."""
    t = sweep["results"]["table"]
    gains = {k: r["late_gain"] for k, r in t.items()}
    worst = max(gains, key=gains.get)
    steps = sweep["provenance"]["budget"]["steps"]
    still = [get_readout(k).label for k, g in gains.items() if g >= PLATEAU_TOLERANCE]
    head = (f"With this model we found: over the last quarter of the {steps} steps, validation accuracy rose by at most "
            f"{gains[worst]:+.3f} on average ({get_readout(worst).label})")
    if not still:
        return head + f", under the plateau tolerance of {PLATEAU_TOLERANCE}: the budget is enough for every readout."
    return head + f"; still rising for {', '.join(still)}: a longer budget could change those rows."


def _names(keys: Sequence[str]) -> str:
    labels = [get_readout(k).label for k in keys]
    if not labels:
        return "none"
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def forum_verdicts(sweep: dict) -> list[str]:
    """One "With this model we found" sentence per forum claim (and on fine-tuning itself), from the shipped numbers."""
    t = sweep["results"]["table"]
    others = [k for k in readouts_of(sweep) if k != "cls"]
    by = {o: [k for k in others if t[k]["vs_cls"]["outcome"] == o] for o in ("indistinguishable", "lower", "higher")}
    widest = max(half_widths(sweep).values())
    out = []
    n_same = len(by["indistinguishable"])
    verdict = ("holds" if n_same == len(others) else "holds for some readouts only" if n_same else "does not hold")
    line = (f"Claim {FORUM_CLAIMS['any_token']}: with this model we found that it {verdict}. After fine-tuning, "
            f"{n_same} of the {len(others)} other readouts are indistinguishable from the [CLS] head "
            f"(each interval within ±{widest:.3f})")
    if by["indistinguishable"]:
        line += f": {_names(by['indistinguishable'])}"
    if by["lower"]:
        line += f"; lower than [CLS]: {_names(by['lower'])}"
    if by["higher"]:
        line += f"; higher than [CLS]: {_names(by['higher'])}"
    out.append(line + ".")
    m = t["mean"]["vs_cls"] if "mean" in t else None
    if m is not None:
        if m["lo"] > -NON_INFERIORITY_MARGIN:
            word = (f"holds: the mean head is at worst {m['lo']:+.3f} from the [CLS] head (95% interval "
                    f"[{m['lo']:+.3f}, {m['hi']:+.3f}]), inside the margin of {NON_INFERIORITY_MARGIN} that this data "
                    "can resolve")
        elif m["hi"] < -NON_INFERIORITY_MARGIN:
            word = (f"does not hold: the mean head is below the [CLS] head by more than the margin "
                    f"({m['diff']:+.3f} [{m['lo']:+.3f}, {m['hi']:+.3f}])")
        else:
            word = (f"cannot be settled here: the interval [{m['lo']:+.3f}, {m['hi']:+.3f}] reaches below the "
                    f"margin of -{NON_INFERIORITY_MARGIN}")
        out.append(f"Claim {FORUM_CLAIMS['global_pooling']}: with this model we found that it {word}.")
    c = t["cls"]
    g = c["gain"]
    out.append(f"Fine-tuning itself: with this model we found that the [CLS] head scores {c['fine_tuned']:.3f} against "
               f"{c['frozen']:.3f} for a probe on the frozen [CLS]: {g['outcome']} by {abs(g['diff']):.3f} "
               f"[{g['lo']:+.3f}, {g['hi']:+.3f}].")
    return out


def precision_text(sweep: dict) -> str:
    """bf16 autocast against fp32 on the same cell, from the shipped twin run."""
    p = sweep["results"]["precision"]
    speed = p["fp32_seconds"] / p["auto_seconds"] if p["auto_seconds"] else float("nan")
    return (f"Precision: the [CLS] head of seed 0 trained in {p['auto']} ({p['auto_accuracy']:.3f}) and in fp32 "
            f"({p['fp32_accuracy']:.3f}): {p['verdict']}; training took {speed:.2f}x less time in {p['auto']}.")


def live_agreement(sweep: dict, live: dict[str, dict]) -> tuple[bool, list[str]]:
    """Does a live rerun (readout -> a cell from helpers.core.sweep.run_cell, one seed, the shipped budget) fall
    inside the shipped results? Each live accuracy must lie in the prediction interval of one more run from the
    shipped seeds; its paired difference from the shipped run of the same seed is printed beside it."""
    ok, lines = True, []
    steps = sweep["provenance"]["budget"]["steps"]
    for key, cell in live.items():
        if cell["steps"] != steps:
            raise ValueError(f"The live {key} run used {cell['steps']} steps; the shipped sweep {steps}: rerun with the same budget.")
        est = per_seed(sweep, key)
        lo, hi = est.prediction_interval()
        inside = lo <= cell["accuracy"] <= hi
        ok &= inside
        same_seed = next((c for c in sweep["results"]["cells"]
                          if c["readout"] == key and c["seed"] == cell["seed"]), None)
        line = (f"{get_readout(key).label}: live {cell['accuracy']:.3f}; shipped seeds {', '.join(f'{v:.3f}' for v in est.values)} "
                f"-> one more run expected in [{lo:.3f}, {hi:.3f}]: {'inside' if inside else 'OUTSIDE'}")
        if same_seed is not None:
            d = paired_difference(bits_to_array(cell["correct"]), bits_to_array(same_seed["correct"]),
                                  names=("live", f"shipped seed {cell['seed']}"))
            line += f"; against the shipped seed {cell['seed']}: {d.verdict()}"
        lines.append(line)
    return bool(ok), lines


def agreement(recomputed: np.ndarray, shipped: np.ndarray) -> tuple[bool, float]:
    """(agrees, share of sentences judged the same) of two right/wrong rows of the same code on the same sentences:
    accuracy within CHECK_TOLERANCE and at least CHECK_AGREEMENT of the sentences the same."""
    same = float((recomputed == shipped).mean())
    return bool(abs(recomputed.mean() - shipped.mean()) <= CHECK_TOLERANCE and same >= CHECK_AGREEMENT), same


def check_cell_agreement(sweep: dict, cell: dict) -> tuple[bool, str]:
    """Does a recomputed CHECK_CELL (helpers.core.sweep.recompute_check_cell) match the shipped one?"""
    shipped = sweep["results"]["check_cell"]
    for k in ("readout", "seed", "steps", "precision"):
        if cell[k] != shipped[k]:
            raise ValueError(f"The recomputed cell has {k}={cell[k]!r}, the shipped one {shipped[k]!r}.")
    ok, same = agreement(bits_to_array(cell["correct"]), bits_to_array(shipped["correct"]))
    return ok, (f"check cell ({CHECK_CELL['readout']} head, seed {CHECK_CELL['seed']}, {CHECK_CELL['steps']} steps "
                f"{CHECK_CELL['precision']} on {CHECK_CELL['n_fit']} sentences): recomputed {cell['accuracy']:.3f}, "
                f"shipped {shipped['accuracy']:.3f} (tolerance {CHECK_TOLERANCE}); {same:.1%} of the test sentences "
                f"judged the same (at least {CHECK_AGREEMENT:.0%} required): {'agrees' if ok else 'DOES NOT AGREE'}")


def position_verdict(sweep: dict) -> str:
    """Notebook 02's question on the shipped sweep: does [CLS] moved to the end do as well, frozen and fine-tuned?"""
    t = sweep["results"]["table"]
    if "cls_end" not in t:
        raise ValueError("This sweep has no 'cls_end' readout: run `make experiments` with the default readouts.")
    frozen = paired_difference(shipped_frozen(sweep, "cls_end"), shipped_frozen(sweep, "cls"),
                               names=("frozen, [CLS] at the end", "at position 0"))
    tuned = t["cls_end"]["vs_cls"]
    tuned_txt = (f"indistinguishable from the head on [CLS] at position 0 (the difference lies within "
                 f"[{tuned['lo']:+.3f}, {tuned['hi']:+.3f}])" if tuned["outcome"] == "indistinguishable" else
                 f"{tuned['outcome']} than the head on [CLS] at position 0 by {abs(tuned['diff']):.3f} "
                 f"[{tuned['lo']:+.3f}, {tuned['hi']:+.3f}]")
    meaning = {
        ("indistinguishable", "indistinguishable"): "position 0 is not what makes [CLS] useful here, frozen or fine-tuned",
        ("lower", "indistinguishable"): ("the frozen cost was a habit of pretraining, which fine-tuning the top layers "
                                         "removes"),
        ("indistinguishable", "lower"): ("the position matters once the layers learn: at position 0 [CLS] has the same "
                                         "position embedding in every sentence, at the end its position changes with "
                                         "the sentence's length, and the fine-tuned layers make better use of the first"),
        ("lower", "lower"): "[CLS] at position 0 does better both ways",
    }.get((frozen.outcome, tuned["outcome"]), "the two layouts trade places between frozen and fine-tuned")
    return (f"With this model we found: before fine-tuning, {frozen.verdict()}; after fine-tuning, a head on [CLS] "
            f"moved to the end is {tuned_txt}. So {meaning}.")


def frozen_rerun(lm, sweep: dict, readouts: Sequence[str]) -> tuple[bool | None, list[str]]:
    """Recompute the frozen probes of ``readouts`` on the sweep's data and compare with the shipped column
    (the same code on the same sentences: they must agree to CHECK_TOLERANCE). None for another model."""
    from .features import model_fingerprint
    from .sweep import frozen_correct, sweep_data

    if model_fingerprint(lm) != sweep["provenance"]["model_fingerprint"]:
        return None, [f"the shipped sweep is for {sweep['provenance']['model']}; {lm.name} has no shipped frozen column"]
    train, test = sweep_data()
    live = frozen_correct(lm, readouts, train, test)
    ok, lines = True, []
    for key in readouts:
        a, b = bits_to_array(live[key]["correct"]), shipped_frozen(sweep, key)
        good, same = agreement(a, b)
        ok &= good
        lines.append(f"{get_readout(key).label}: frozen probe live {a.mean():.3f}, shipped {b.mean():.3f}; "
                     f"{same:.1%} of the test sentences judged the same: {'agrees' if good else 'DOES NOT AGREE'}")
    return bool(ok), lines


def published_beside(sweep: dict) -> list[str]:
    """The published figures the issue asks to show beside ours, from the references registry."""
    from .references import cite

    return [cite(k) for k in ("bert_cls_footnote", "alammar_sst2_frozen", "alammar_sst2_finetuned",
                              "sbert_pooling_ablation", "raschka_gpt2_token")]
