"""Statistics of results: paired comparisons across seeds, result tables and
calibration.

Imports only :mod:`reglab._checks`; every other package may import it.
"""

from reglab.stats.calibration import (
    expected_calibration_error,
    probabilistic_scores,
    reliability_curve,
)
from reglab.stats.paired import PairedDifference, holm, paired_difference
from reglab.stats.tables import Table, paired_table, seeds_text, verdict

__all__ = [
    "PairedDifference",
    "Table",
    "expected_calibration_error",
    "holm",
    "paired_difference",
    "paired_table",
    "probabilistic_scores",
    "reliability_curve",
    "seeds_text",
    "verdict",
]
