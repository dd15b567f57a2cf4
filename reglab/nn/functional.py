"""From-scratch layers with the signatures of ``torch.nn.functional``, so a test (or a
reader) can call both the same way: ``F.dropout(x, p, training)`` and
``reglab.nn.functional.dropout(x, p, training)``.

This is the one public path for these functions. The implementations live in one module
per concept (:mod:`reglab.nn.dropout`, :mod:`reglab.nn.batchnorm`), which also hold the tools
around them (``mask_of``, ``trace_running_stats``).
"""

from reglab.nn.batchnorm import batch_norm
from reglab.nn.dropout import dropout, dropout2d
from reglab.nn.label_smoothing import cross_entropy
from reglab.nn.normalization import group_norm, instance_norm, layer_norm, rms_norm

__all__ = [
    "batch_norm",
    "cross_entropy",
    "dropout",
    "dropout2d",
    "group_norm",
    "instance_norm",
    "layer_norm",
    "rms_norm",
]
