"""Merge data/reviews_new.tsv (the 2,800 rows written for the verdict experiments) into data/reviews.tsv.

Run once; kept so the merge can be read and repeated. The original 1,244 rows keep their text, label, kind and
split and become subset "v1"; the new rows become subset "v2" with a split stratified by kind and label
(800 of them held out, so that the whole file has at least 1,000 test rows). The merged file is shuffled with a
fixed seed; the column `row` keeps each row's place in its original file, so that load_reviews(subset="v1")
returns the original rows in their original order. Usage: python tools/merge_reviews.py
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / "data"
NEW_TEST = 800
SEED = 12


def read(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def main() -> int:
    old, new = read(DATA / "reviews.tsv"), read(DATA / "reviews_new.tsv")
    if "subset" in old[0]:
        print("data/reviews.tsv already has a subset column: nothing to merge.")
        return 0
    seen = {r["text"].lower() for r in old}
    clash = [r["text"] for r in new if r["text"].lower() in seen]
    if clash:
        raise SystemExit(f"{len(clash)} new rows repeat an old one, e.g. {clash[0]!r}")
    rng = np.random.default_rng(SEED)
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(new):
        groups.setdefault((r["kind"], r["label"]), []).append(i)
    # largest-remainder allocation of the held-out rows over the kind x label groups
    quota = {g: NEW_TEST * len(m) / len(new) for g, m in groups.items()}
    take = {g: int(q) for g, q in quota.items()}
    for g in sorted(quota, key=lambda g: quota[g] - take[g], reverse=True)[: NEW_TEST - sum(take.values())]:
        take[g] += 1
    test = set()
    for g in sorted(groups):
        test.update(rng.permutation(groups[g])[: take[g]].tolist())
    rows = [dict(r, subset="v1", row=str(i)) for i, r in enumerate(old)]
    rows += [dict(r, split="test" if i in test else "train", subset="v2", row=str(i)) for i, r in enumerate(new)]
    rows = [rows[i] for i in rng.permutation(len(rows))]
    with open(DATA / "reviews.tsv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, ["text", "label", "kind", "split", "subset", "row"], delimiter="\t",
                           quoting=csv.QUOTE_NONE, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    (DATA / "reviews_new.tsv").unlink()
    print(f"data/reviews.tsv: {len(rows)} rows ({len(old)} v1, {len(new)} v2; "
          f"{sum(r['split'] == 'test' for r in rows)} test)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
