import pytest

from reglab.tables import Table


def test_markdown_has_one_row_per_entry_and_formats_floats():
    md = Table(["p", "accuracy"], [[0.5, 0.97123], [0.8, 1.0]], floatfmt=".2f")._repr_markdown_()
    lines = md.splitlines()
    assert lines[0] == "| p | accuracy |"
    assert lines[1] == "|---|---|"
    assert lines[2] == "| 0.50 | 0.97 |"
    assert len(lines) == 4


def test_pipes_inside_cells_are_escaped():
    md = Table(["mean |w|"], [["a|b"]])._repr_markdown_()
    assert md.splitlines()[0] == r"| mean \|w\| |"
    assert md.splitlines()[2] == r"| a\|b |"


def test_plain_text_is_aligned():
    text = str(Table(["name", "x"], [["long name", 1.5]]))
    header, rule, row = text.splitlines()
    assert len(header) == len(rule) == len(row)


def test_ragged_rows_are_an_error():
    with pytest.raises(ValueError, match="rows \\[1\\] do not have 2 entries"):
        Table(["a", "b"], [[1, 2], [3]])
