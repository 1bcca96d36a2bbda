"""Loaders for the course's datasets in data/ and for SST-2-format TSV files."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import config

REVIEW_LABELS = ["negative", "positive"]


@dataclass
class TextSet:
    """Labelled sentences.

    Attributes:
        texts: the sentences.
        labels: (N,) int array, indices into ``label_names``.
        label_names: the class names.
        columns: any further per-row columns (e.g. ``kind``, ``split``).
        name: where it came from.
    """

    texts: list[str]
    labels: np.ndarray
    label_names: list[str]
    columns: dict[str, list[str]] = field(default_factory=dict)
    name: str = ""

    def __len__(self) -> int:
        return len(self.texts)

    def __repr__(self) -> str:
        counts = ", ".join(f"{n}: {int((self.labels == i).sum())}" for i, n in enumerate(self.label_names))
        return f"TextSet({self.name!r}, {len(self)} sentences; {counts})"

    def select(self, index) -> "TextSet":
        """The rows at ``index`` (a list/array of ints or a boolean mask), in that order."""
        idx = np.arange(len(self))[np.asarray(index)] if np.asarray(index).dtype == bool else np.asarray(index, int)
        return TextSet(
            texts=[self.texts[i] for i in idx],
            labels=self.labels[idx],
            label_names=list(self.label_names),
            columns={k: [v[i] for i in idx] for k, v in self.columns.items()},
            name=self.name,
        )

    def sample(self, n: int | None, seed: int = config.DEFAULT_SEED) -> "TextSet":
        """At most ``n`` rows, stratified by label and reproducible; None or n >= len keeps all."""
        if n is None or n >= len(self):
            return self
        if n < 1:
            raise ValueError(f"sample size must be at least 1, got {n}.")
        rng = np.random.default_rng(seed)
        classes = np.unique(self.labels)
        picked: list[int] = []
        for j, c in enumerate(classes):
            members = np.flatnonzero(self.labels == c)
            share = n // len(classes) + (1 if j < n % len(classes) else 0)
            picked.extend(rng.permutation(members)[:share].tolist())
        return self.select(sorted(picked))


def _read_tsv(path: Path, required: list[str]) -> list[dict[str, str]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: it ships with the course; restore it with `git checkout -- {path.name}`.")
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path} lacks the column(s) {missing}; its header is {reader.fieldnames}.")
        return list(reader)


REVIEW_SUBSETS = ("v1", "v2", "all")


def load_reviews(split: str | None = None, limit: int | None = None, subset: str = "all") -> TextSet:
    """The course's movie-review snippets (data/reviews.tsv), label 1 = positive.

    Args:
        split: "train", "test" or None for both.
        limit: keep at most this many, stratified by label (quick mode uses this).
        subset: "all" (4,040 rows, 1,047 held out: enough to resolve a difference of 0.02 between two
            fine-tuned heads), "v1" (the original 1,244 rows, their split and their order, so earlier results
            stay comparable) or "v2" (the 2,796 rows added for the verdict experiments).
    """
    if split not in (None, "train", "test"):
        raise ValueError(f"split must be 'train', 'test' or None, got {split!r}.")
    if subset not in REVIEW_SUBSETS:
        raise ValueError(f"subset must be one of {REVIEW_SUBSETS}, got {subset!r}.")
    rows = _read_tsv(config.DATA_DIR / "reviews.tsv", ["text", "label", "kind", "split", "subset", "row"])
    if subset != "all":  # one subset alone comes in its own original order (so its samples are the same as before)
        rows = sorted((r for r in rows if r["subset"] == subset), key=lambda r: int(r["row"]))
    if split is not None:
        rows = [r for r in rows if r["split"] == split]
    name = "reviews" + ("" if subset == "all" else f"-{subset}") + (f"/{split}" if split else "")
    data = TextSet(
        texts=[r["text"] for r in rows],
        labels=np.array([int(r["label"]) for r in rows], dtype=int),
        label_names=list(REVIEW_LABELS),
        columns={"kind": [r["kind"] for r in rows], "split": [r["split"] for r in rows],
                 "subset": [r["subset"] for r in rows]},
        name=name,
    )
    return data.sample(limit)


def load_topics(limit: int | None = None) -> TextSet:
    """The course's topic sentences (data/topics.tsv); label names are the sorted topics."""
    rows = _read_tsv(config.DATA_DIR / "topics.tsv", ["text", "topic"])
    names = sorted({r["topic"] for r in rows})
    data = TextSet(
        texts=[r["text"] for r in rows],
        labels=np.array([names.index(r["topic"]) for r in rows], dtype=int),
        label_names=names,
        name="topics",
    )
    return data.sample(limit)


def load_sst2(path: str | Path | None = None, split: str = "train", limit: int | None = None) -> TextSet:
    """SST-2 in its TSV format (``sentence<TAB>label``, header optional), label 1 = positive.

    Args:
        path: a local .tsv file. None: fetch GLUE SST-2 through the ``datasets`` library
            (needs ``pip install datasets`` and the internet, or its cache).
        split: which split to fetch when ``path`` is None.
        limit: keep at most this many, stratified by label.
    """
    if path is None:
        return _sst2_from_hub(split, limit)
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"No SST-2 file at {path}. Give the path of a TSV with lines 'sentence<TAB>label'.")
    texts, labels = [], []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                continue
            parts = line.rsplit("\t", 1)
            if len(parts) != 2:
                raise ValueError(f"{path}:{lineno}: expected 'sentence<TAB>label', found no tab.")
            sentence, label = parts[0].strip(), parts[1].strip()
            if lineno == 1 and label.lower() == "label":
                continue  # header
            if label not in {"0", "1"}:
                raise ValueError(f"{path}:{lineno}: label must be 0 or 1, found {label!r}.")
            if not sentence:
                raise ValueError(f"{path}:{lineno}: the sentence is empty.")
            texts.append(sentence)
            labels.append(int(label))
    if not texts:
        raise ValueError(f"{path} has no sentences.")
    data = TextSet(texts, np.array(labels, dtype=int), list(REVIEW_LABELS), name=f"sst2:{path.name}")
    return data.sample(limit)


def _sst2_from_hub(split: str, limit: int | None) -> TextSet:
    try:
        import datasets
    except ImportError as exc:
        raise ImportError(
            "load_sst2() without a path needs the `datasets` library and the internet: `pip install datasets`, "
            "or download SST-2's train.tsv and call load_sst2('path/to/train.tsv')."
        ) from exc
    from .models import hub_offline_flag, probe_hub

    reason = "HF_HUB_OFFLINE is set" if hub_offline_flag() else probe_hub()
    if reason is not None:
        raise ConnectionError(
            f"Cannot fetch SST-2: the hub cannot be reached ({reason}). Pass a local TSV: load_sst2('train.tsv')."
        )
    ds = datasets.load_dataset("glue", "sst2", split=split)
    data = TextSet(list(ds["sentence"]), np.array(ds["label"], dtype=int), list(REVIEW_LABELS), name=f"sst2/{split}")
    return data.sample(limit)


#: The original multi-genre corpus for next-sentence prediction (one JSON-lines file per genre).
NSP_CORPUS_DIR = config.DATA_DIR / "nsp_corpus"


@dataclass(frozen=True)
class GenreDocument:
    """One document of the NSP corpus: its id, its genre and its sentences in order."""

    doc_id: str
    genre: str
    sentences: tuple[str, ...]


def load_nsp_corpus(folder: str | Path | None = None) -> list[GenreDocument]:
    """Every document of data/nsp_corpus, genre by genre (files sorted by name), in file order."""
    import json

    folder = Path(folder) if folder is not None else NSP_CORPUS_DIR
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise FileNotFoundError(f"No *.jsonl files in {folder}: the NSP corpus ships with the course "
                                "(restore it with `git checkout -- data/nsp_corpus`).")
    docs = []
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if len(row.get("sentences", ())) < 2:
                raise ValueError(f"{path.name} line {n}: a document needs at least two sentences.")
            docs.append(GenreDocument(row["id"], row["genre"], tuple(row["sentences"])))
    return docs
