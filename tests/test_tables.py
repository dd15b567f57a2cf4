import numpy as np
import pytest
import torch

from reglab.stats import Table


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


def test_floatfmt_applies_to_numpy_floats_and_zero_dim_tensors():
    """np.float32 is not a Python float and a 0-dim tensor printed as 'tensor(0.9712)'."""
    row = [np.float32(0.97123), np.float64(0.5), torch.tensor(0.25), torch.tensor(0.125).double()]
    table = Table(["a", "b", "c", "d"], [row], floatfmt=".2f")
    assert table._repr_markdown_().splitlines()[2] == "| 0.97 | 0.50 | 0.25 | 0.12 |"
    ints = Table(["i", "j", "k"], [[np.int64(3), torch.tensor(4), 5]], floatfmt=".2f")
    assert ints._repr_markdown_().splitlines()[2] == "| 3 | 4 | 5 |"  # integers stay integers
    assert str(Table(["x"], [[torch.tensor(0.5)]], floatfmt=".1%")).splitlines()[2] == "50.0%"


def test_strings_and_vectors_are_not_formatted_as_floats():
    md = Table(["s", "v"], [["0.123456", torch.tensor([1.5])]], floatfmt=".1f")._repr_markdown_()
    assert md.splitlines()[2] == "| 0.123456 | tensor([1.5000]) |"


def test_paired_table_rows_follow_paired_difference():
    from reglab.stats import holm, paired_difference, paired_table

    wide = paired_difference([0.9, 0.8, 0.7], [0.8, 0.75, 0.6])  # +10, +5, +10 points
    unclear = paired_difference([0.3, 0.1, 0.2], [0.1, 0.2, 0.2])
    table = paired_table({"A minus B": wide, "C minus D": unclear}, title="test accuracy")
    assert table.headers == ["test accuracy", "mean difference", "95% interval", "per seed",
                             "p (Holm)", "reading (2 comparisons)"]  # fmt: skip
    assert table.rows[0][:2] == ["A minus B", f"{100 * wide.mean:+.1f}"]
    assert table.rows[0][2] == f"[{100 * wide.low:+.1f}, {100 * wide.high:+.1f}]"
    assert table.rows[0][3] == "+10.0 +5.0 +10.0"
    family = holm([wide, unclear])  # Holm within the table
    assert list(table.comparisons.values()) == family
    assert [r[4] for r in table.rows] == [format(d.p_adjusted, ".3g") for d in family]
    assert [r[5] for r in table.rows] == [d.verdict(effect=False) for d in family]
    # alone, "A minus B" rejects at 5%; within the table of two, Holm's adjustment does not
    assert wide.rejects and not family[0].rejects
    assert table.rows[0][5] == table.rows[1][5] == "not clearly different"
    d = paired_difference([2.0, 3.0], [1.0, 1.5])
    losses = paired_table({"x": d}, scale=1, fmt=".2f")
    assert losses.rows[0][1:4] == ["1.25", f"[{d.low:.2f}, {d.high:.2f}]", "1.00 1.50"]
    assert losses.headers[-1] == "reading (1 comparison)"


def test_paired_table_reads_higher_only_where_the_adjusted_test_rejects():
    from reglab.stats import paired_difference, paired_table

    strong = paired_difference([1.0, 1.2, 0.9, 1.1, 1.0], [0.0, 0.1, 0.1, 0.0, 0.2])
    down = paired_difference([0.0, 0.1, 0.1, 0.0, 0.2], [1.0, 1.2, 0.9, 1.1, 1.0])
    null = paired_difference([0.1, -0.1, 0.2, 0.0, -0.2], [0.0] * 5)
    table = paired_table({"up": strong, "down": down, "none": null})
    assert [r[5] for r in table.rows] == ["higher", "lower", "not clearly different"]
    assert all(d.family_size == 3 for d in table.comparisons.values())


def test_paired_table_states_the_confidence_and_refuses_a_mix():
    from reglab.stats import paired_difference, paired_table

    a, b = [0.9, 0.8, 0.7], [0.8, 0.75, 0.6]
    wide = paired_difference(a, b, confidence=0.99)
    assert paired_table({"x": wide}).headers[2] == "99% interval"
    with pytest.raises(ValueError, match="mix confidence levels"):
        paired_table({"x": wide, "y": paired_difference(a, b)})
