"""reglab.stats.by_seed: one value per seed, in seed order, for paired comparisons."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from reglab.stats import by_seed, paired_difference


@dataclass(frozen=True)
class Run:
    norm: str
    batch_size: int
    seed: int
    acc: float

    @property
    def error(self) -> float:
        return 1 - self.acc


RUNS = [
    Run("batch", 2, 2, 0.3),
    Run("group", 2, 0, 0.6),
    Run("batch", 2, 0, 0.1),
    Run("batch", 32, 0, 0.7),
    Run("batch", 2, 1, 0.2),
    Run("group", 2, 2, 0.8),
    Run("group", 2, 1, 0.7),
]


def test_values_come_in_seed_order_whatever_the_order_of_the_results():
    assert by_seed(RUNS, "acc", norm="batch", batch_size=2) == [0.1, 0.2, 0.3]
    assert by_seed(RUNS[::-1], "acc", norm="batch", batch_size=2) == [0.1, 0.2, 0.3]
    assert by_seed(RUNS, "seed", norm="group") == [0, 1, 2]


def test_where_filters_on_every_key_and_properties_are_fields():
    assert by_seed(RUNS, "acc", norm="batch", batch_size=32) == [0.7]
    assert by_seed(RUNS, "error", norm="group") == pytest.approx([0.4, 0.3, 0.2])
    # two settings' lists pair up seed by seed
    d = paired_difference(by_seed(RUNS, "acc", norm="group"),
                          by_seed(RUNS, "acc", norm="batch", batch_size=2))  # fmt: skip
    assert d.differences == pytest.approx([0.5, 0.5, 0.5])


def test_mappings_are_results_too():
    rows = [{"p": 0.5, "seed": 1, "loss": 2.0}, {"p": 0.5, "seed": 0, "loss": 1.0}]
    assert by_seed(rows, "loss", p=0.5) == [1.0, 2.0]


def test_unknown_fields_and_where_keys_are_named_in_the_error():
    with pytest.raises(ValueError, match=r"field 'accuracy' is not a field.*acc, error"):
        by_seed(RUNS, "accuracy", norm="batch")
    with pytest.raises(ValueError, match="where key 'B' is not a field"):
        by_seed(RUNS, "acc", B=2)
    with pytest.raises(ValueError, match="field 'seed' is not a field"):
        by_seed([{"loss": 1.0}], "loss")
    with pytest.raises(ValueError, match=r"where key 'q' is not a field.*loss, p, seed"):
        by_seed([{"p": 0.5, "seed": 0, "loss": 1.0}], "loss", q=1)


def test_no_match_and_repeated_seeds_are_errors():
    with pytest.raises(ValueError, match="no results match norm='layer'"):
        by_seed(RUNS, "acc", norm="layer")
    with pytest.raises(
        ValueError, match=r"a seed occurs more than once .*norm='batch'.*\[0, 0, 1, 2\]"
    ):
        by_seed(RUNS, "acc", norm="batch")  # both batch sizes have seed 0


def test_seeds_names_the_missing_and_the_unexpected_ones():
    assert by_seed(RUNS, "acc", seeds=[2, 1, 0], norm="group") == [0.6, 0.7, 0.8]
    with pytest.raises(ValueError, match=r"missing: \[1, 2\], unexpected: \[\]"):
        by_seed(RUNS, "acc", seeds=(0, 1, 2), norm="batch", batch_size=32)
    with pytest.raises(ValueError, match=r"missing: \[\], unexpected: \[2\]"):
        by_seed(RUNS, "acc", seeds=(0, 1), norm="group")
