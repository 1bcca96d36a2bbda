"""Check the original multi-genre NSP corpus in data/nsp_corpus/ (issue 13): one JSON-lines file per genre.

Each line is one document: {"id": "<genre>-<nnn>", "genre": "<genre>", "sentences": ["...", ...]}.
Rules checked: 4 to 10 sentences per document; each sentence 4 to 40 words, ends with . ! ? or a closing quote,
contains no tab or newline; ids unique; no sentence appears twice in the whole corpus (case- and
punctuation-insensitive); no document starts like another one (first six words). Usage:

    python tools/check_corpus.py [genre ...]
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

FOLDER = Path(__file__).resolve().parents[1] / "data" / "nsp_corpus"


def norm(s: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", s.lower()).strip()


def main(argv: list[str]) -> int:
    files = sorted(FOLDER.glob("*.jsonl"))
    if argv:
        files = [f for f in files if f.stem in argv]
    problems, sentences, starts, ids = [], Counter(), Counter(), Counter()
    per_genre = {}
    for f in files:
        docs = 0
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{f.name}:{n}: not JSON ({exc})")
                continue
            docs += 1
            ids[doc.get("id")] += 1
            if doc.get("genre") != f.stem:
                problems.append(f"{f.name}:{n}: genre {doc.get('genre')!r} is not the file's {f.stem!r}")
            sents = doc.get("sentences", [])
            if not 4 <= len(sents) <= 10:
                problems.append(f"{f.name}:{n}: {len(sents)} sentences (4 to 10)")
            for s in sents:
                words = len(s.split())
                if not 4 <= words <= 40:
                    problems.append(f"{f.name}:{n}: {words} words in {s[:50]!r}")
                if "\t" in s or "\n" in s:
                    problems.append(f"{f.name}:{n}: tab or newline in {s[:50]!r}")
                if not re.search(r"[.!?][\"'”’)]?$", s.strip()):
                    problems.append(f"{f.name}:{n}: no final punctuation in {s[:50]!r}")
                sentences[norm(s)] += 1
            if sents:
                starts[" ".join(norm(sents[0]).split()[:6])] += 1
        per_genre[f.stem] = docs
    problems += [f"duplicate id {i!r}" for i, c in ids.items() if c > 1]
    problems += [f"sentence used {c} times: {s[:60]!r}" for s, c in sentences.items() if c > 1]
    problems += [f"{c} documents start with {s!r}" for s, c in starts.items() if c > 1]
    for g, n in per_genre.items():
        print(f"{g:<24} {n:4d} documents")
    print(f"{sum(per_genre.values())} documents in {len(per_genre)} genres; {sum(sentences.values())} sentences")
    for p in problems[:60]:
        print("PROBLEM:", p)
    if len(problems) > 60:
        print(f"... and {len(problems) - 60} more problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
