"""Optimizer steps written out by hand, penalties and proximal steps, and weight
averaging (SWA, EMA).

May import: ``reglab._checks``, ``reglab.nn``.
Imported by: ``reglab.train``, ``reglab.studies``.
"""

from reglab.optim.averaging import WeightAverage, recompute_bn_stats
from reglab.optim.least_squares import LeastSquares, min_norm_solution, ridge_solutions
from reglab.optim.optimizers import AdamState, ProximalSGD, adam_step, adamw_step, sgd_step
from reglab.optim.penalties import l1_penalty, l2_penalty, param_groups, soft_threshold

__all__ = [
    "AdamState",
    "LeastSquares",
    "ProximalSGD",
    "WeightAverage",
    "adam_step",
    "adamw_step",
    "l1_penalty",
    "l2_penalty",
    "min_norm_solution",
    "param_groups",
    "recompute_bn_stats",
    "ridge_solutions",
    "sgd_step",
    "soft_threshold",
]
