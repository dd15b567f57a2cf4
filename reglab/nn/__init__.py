"""From-scratch layers with ``torch.nn``'s signatures: :mod:`reglab.nn.functional` (the one
public path of the F-style functions), :mod:`reglab.nn.init`, and the tools around them
(dropout masks, batch-norm running statistics, ghost batch norm, normalization axes,
label smoothing, a synchronized batch norm).

May import: ``reglab._checks``.
Imported by: ``reglab.optim``, ``reglab.train``, ``reglab.studies``.
"""

from reglab.nn import functional, init
from reglab.nn.batchnorm import RunningStats, trace_running_stats
from reglab.nn.dropout import mask_of
from reglab.nn.ghost_batchnorm import GhostBatchNorm2d, ghost_batch_norm
from reglab.nn.label_smoothing import logit_gap, optimal_logit_gap, smooth_targets
from reglab.nn.normalization import KINDS, shared_stats_mask
from reglab.nn.random_features import RandomReLUFeatures
from reglab.nn.sync_batchnorm import (
    SyncBatchNormFunction,
    batch_norm_replica,
    launch,
    sync_batch_norm,
)

__all__ = [
    "KINDS",
    "GhostBatchNorm2d",
    "RandomReLUFeatures",
    "RunningStats",
    "SyncBatchNormFunction",
    "batch_norm_replica",
    "functional",
    "ghost_batch_norm",
    "init",
    "launch",
    "logit_gap",
    "mask_of",
    "optimal_logit_gap",
    "shared_stats_mask",
    "smooth_targets",
    "sync_batch_norm",
    "trace_running_stats",
]
