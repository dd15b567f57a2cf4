"""From-scratch layers with the signatures of ``torch.nn.functional``, so a test (or a
reader) can call both the same way: ``F.dropout(x, p, training)`` and
``reglab.functional.dropout(x, p, training)``.

This is the one public path for these functions. The implementations live in one module
per concept (:mod:`reglab.dropout`, :mod:`reglab.batchnorm`), which also hold the tools
around them (``mask_of``, ``trace_running_stats``).
"""

from reglab.batchnorm import batch_norm
from reglab.dropout import dropout, dropout2d

__all__ = ["batch_norm", "dropout", "dropout2d"]
