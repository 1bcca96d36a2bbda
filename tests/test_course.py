"""The course map and notebook 00's exercise checks (right, wrong and unanswered)."""

from helpers import encode
from helpers.core.course import course_map, format_course_map
from helpers.lessons.start_here import check_cls_position, check_cube_shape


def test_course_map_reads_every_notebook():
    rows = course_map()
    assert rows[0]["file"] == "00_start_here.ipynb"
    assert all(r["title"] and r["question"].endswith("?") or r["question"] == "" for r in rows)
    assert rows[0]["question"].endswith("?")
    table = format_course_map(rows)
    assert table.count("\n") == len(rows) + 1


def test_check_cls_position(tiny):
    cube = encode(tiny, ["the film", "a very long boring film"])
    assert check_cls_position(cube, ...).ok is None
    assert check_cls_position(cube, 0).ok is True
    wrong = check_cls_position(cube, -1)
    assert wrong.ok is False and "[SEP]" in wrong.message
    assert check_cls_position(cube, 2).ok is False
    assert check_cls_position(cube, "0").ok is False


def test_check_cube_shape(tiny):
    cube = encode(tiny, ["the film", "a very long boring film"])
    truth = tuple(cube.last_hidden.shape)
    assert check_cube_shape(cube, None).ok is None
    assert check_cube_shape(cube, truth).ok is True
    assert check_cube_shape(cube, list(truth)).ok is True
    wrong = check_cube_shape(cube, (truth[0], truth[1] - 1, truth[2]))
    assert wrong.ok is False and "tokens" in wrong.message
    assert check_cube_shape(cube, (2, 3)).ok is False
    assert check_cube_shape(cube, "big").ok is False


def test_readme_table_is_the_course_map():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, str(root / "tools" / "readme.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    readme = (root / "README.md").read_text()
    for row in course_map():
        assert f"| `{row['file']}` | {row['title']} | {row['question']} |" in readme
