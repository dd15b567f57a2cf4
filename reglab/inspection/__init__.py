"""Looking inside tensors and models: ``describe``, forward-hook statistics, loss
landscapes and penultimate-layer features.

May import: ``reglab._checks``, ``reglab.stats``.
Imported by: ``reglab.studies``, ``reglab.plotting``.
"""

from reglab.inspection.instrumentation import ActivationStats, activation_stats
from reglab.inspection.landscape import (
    filter_normalized_direction,
    flat_width,
    loss_along,
    loss_on_line,
)
from reglab.inspection.penultimate import cluster_spread, features_and_logits, template_projection
from reglab.inspection.tensors import Description, describe, format_device

__all__ = [
    "ActivationStats",
    "Description",
    "activation_stats",
    "cluster_spread",
    "describe",
    "features_and_logits",
    "filter_normalized_direction",
    "flat_width",
    "format_device",
    "loss_along",
    "loss_on_line",
    "template_projection",
]
