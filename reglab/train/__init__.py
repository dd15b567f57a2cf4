"""Training: the seeded loop, the chapters' models, stopping criteria, ensembles and
the device.

May import: ``reglab._checks``, ``reglab.environment``, ``reglab.nn``, ``reglab.optim``,
``reglab.data``, ``reglab.stats``.
Imported by: ``reglab.studies``.
"""

from reglab.train.adversarial import adversarial_mix, fgsm, linear_adversarial_loss, pgd
from reglab.train.device import default_device, resolve_device
from reglab.train.diagnostics import Overfitting, overfitting, stopped_before_cap
from reglab.train.ensembles import (
    average_log_probs,
    mc_dropout_logits,
    member_logits,
    scores_by_size,
)
from reglab.train.loop import History, evaluate, forked_rng, spawn_seeds, train, train_one_epoch
from reglab.train.models import deep_mlp, layer_seeds, mlp, small_cnn
from reglab.train.replay import Replay, replay
from reglab.train.stopping import (
    MONITORS,
    GeneralizationLoss,
    Patience,
    ProgressQuotient,
    StoppingCriterion,
    UpStrips,
    generalization_loss,
    training_progress,
)

__all__ = [
    "MONITORS",
    "GeneralizationLoss",
    "History",
    "Overfitting",
    "Patience",
    "ProgressQuotient",
    "Replay",
    "StoppingCriterion",
    "UpStrips",
    "adversarial_mix",
    "average_log_probs",
    "deep_mlp",
    "default_device",
    "evaluate",
    "fgsm",
    "forked_rng",
    "generalization_loss",
    "layer_seeds",
    "linear_adversarial_loss",
    "mc_dropout_logits",
    "member_logits",
    "mlp",
    "overfitting",
    "pgd",
    "replay",
    "resolve_device",
    "scores_by_size",
    "small_cnn",
    "spawn_seeds",
    "stopped_before_cap",
    "train",
    "train_one_epoch",
    "training_progress",
]
