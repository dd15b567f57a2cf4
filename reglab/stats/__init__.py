"""Statistics of results: paired comparisons across seeds (with Holm's adjustment),
result tables and calibration.

May import: ``reglab._checks``.
Imported by: ``reglab.train``, ``reglab.inspection``, ``reglab.studies``, ``reglab.plotting``.
"""

from reglab.stats.calibration import (
    expected_calibration_error,
    probabilistic_scores,
    reliability_curve,
)
from reglab.stats.paired import PairedDifference, holm, paired_difference, tally
from reglab.stats.seeds import by_seed
from reglab.stats.tables import Table, paired_table, seeds_text, verdict

__all__ = [
    "PairedDifference",
    "Table",
    "by_seed",
    "expected_calibration_error",
    "holm",
    "paired_difference",
    "paired_table",
    "probabilistic_scores",
    "reliability_curve",
    "seeds_text",
    "tally",
    "verdict",
]
