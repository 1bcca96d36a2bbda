"""Write the README's notebook table from the notebooks themselves (``make readme``); ``--check`` only compares.

The table sits between the markers ``<!-- course-map -->`` and ``<!-- /course-map -->``; tests/test_course.py
fails when it differs from what this script would write.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from helpers.core.course import course_map, format_course_map  # noqa: E402

START, END = "<!-- course-map -->", "<!-- /course-map -->"


def rendered(readme: str) -> str:
    """The README text with the table between the markers regenerated."""
    if START not in readme or END not in readme:
        raise SystemExit(f"README.md lacks the markers {START} ... {END} around the notebook table.")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{format_course_map(course_map())}\n{END}{tail}"


def main(argv: list[str]) -> int:
    path = ROOT / "README.md"
    text = path.read_text(encoding="utf-8")
    new = rendered(text)
    if "--check" in argv:
        if new != text:
            print("README.md's notebook table is out of date: run `make readme`.")
            return 1
        return 0
    path.write_text(new, encoding="utf-8")
    print("README.md: notebook table written from the notebooks.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
