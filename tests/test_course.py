"""The course map and notebook 00's exercise checks (right, wrong and unanswered)."""

import pytest

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


def test_layer_numbering_on_the_cube(tiny):
    from helpers.lessons.start_here import describe_layer_numbering, layer_numbering

    cube = encode(tiny, ["the film", "a very long boring film"])
    numbering = layer_numbering(cube)
    assert numbering["num_layers"] == tiny.num_layers == 2 and numbering["num_heads"] == tiny.num_heads == 2
    assert numbering["hidden_states"][0] == 3 and numbering["attentions"][0] == 2  # L+1 hidden states, L attentions
    assert numbering["last_is_last_hidden"] is True
    text = describe_layer_numbering(numbering)
    assert "hidden state 0 = the embeddings" in text and "l = 1..2" in text and "numbered 0..1" in text
    assert "cube.attentions[l - 1]" in text
    bare = encode(tiny, ["the film"], attentions=False)
    with pytest.raises(ValueError, match="attentions=True"):
        layer_numbering(bare)


def test_describe_layer_numbering_follows_the_numbers():
    from helpers.lessons.start_here import describe_layer_numbering

    big = describe_layer_numbering({"hidden_states": (13, 1, 5, 768), "attentions": (12, 1, 12, 5, 5),
                                    "num_layers": 12, "num_heads": 12, "last_is_last_hidden": True})
    assert "13 entries" in big and "l = 1..12" in big and "numbered 0..11" in big and "hidden state 12 = the last" in big
    small = describe_layer_numbering({"hidden_states": (5, 2, 7, 256), "attentions": (4, 2, 4, 7, 7),
                                      "num_layers": 4, "num_heads": 4, "last_is_last_hidden": True})
    assert "5 entries" in small and "l = 1..4" in small and "numbered 0..3" in small


def test_layer_numbering_of_the_embedded_model(embedded):
    from helpers.lessons.start_here import layer_numbering

    numbering = layer_numbering(encode(embedded, ["The film was a quiet delight."]))
    assert numbering["hidden_states"][0] == 7 and numbering["attentions"][0] == 6 and numbering["num_heads"] == 12


def test_unanswered_placeholders():
    from helpers.core.checks import unanswered

    assert unanswered(...) and unanswered(None) and unanswered((..., ...)) and unanswered([3, ...])
    assert not unanswered(0) and not unanswered((2, 5)) and not unanswered("") and not unanswered([])


def test_number_answer():
    from helpers.core.checks import CheckResult, number_answer

    assert number_answer("0.5", "a number", "an accuracy") == 0.5
    waiting = number_answer(..., "a number between 0 and 1", "an accuracy")
    assert isinstance(waiting, CheckResult) and waiting.ok is None and "a number between 0 and 1" in waiting.message
    wrong = number_answer("lots", "a number", "how many tokens")
    assert isinstance(wrong, CheckResult) and wrong.ok is False and "how many tokens" in wrong.message
