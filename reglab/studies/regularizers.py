"""Which regularizers a run uses: a :class:`Setting`, and :func:`build`, which turns it
into a model, an optimizer, a penalty and an augmentation.

The "Putting it together" study (:mod:`reglab.studies.together`) trains one small CNN
under several settings with the same budget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from reglab._checks import check_nonnegative, check_positive, check_probability
from reglab.data.augment import random_affine
from reglab.optim.penalties import l1_penalty, param_groups
from reglab.train.models import small_cnn

__all__ = ["Setting", "build"]


@dataclass(frozen=True)
class Setting:
    """Which regularizers a run uses. The defaults are "none".

    Args:
        name (str): label of the setting.
        weight_decay (float): decoupled weight decay (AdamW) on weights, not biases/norms.
            Default: ``0.0``.
        l1 (float): strength of an L1 penalty on the weights, added to the loss.
            Default: ``0.0``.
        p (float): dropout probability in the classifier. Default: ``0.0``.
        p2d (float): channel dropout probability after each conv block. Default: ``0.0``.
        batch_norm (bool): batch normalization after each conv and hidden linear layer.
            Default: ``False``.
        augment (bool): the seed's random affine augmentation, per image, on each batch.
            Default: ``False``.

    Example::

        >>> Setting("dropout 0.5", p=0.5)
    """

    name: str
    weight_decay: float = 0.0
    l1: float = 0.0
    p: float = 0.0
    p2d: float = 0.0
    batch_norm: bool = False
    augment: bool = False

    def __post_init__(self):
        for field in ("weight_decay", "l1"):
            check_nonnegative(getattr(self, field), field)
        for field in ("p", "p2d"):
            check_probability(getattr(self, field), field)


def build(
    setting: Setting, *, lr: float = 2e-3, channels: tuple[int, int] = (8, 16)
) -> tuple[nn.Module, torch.optim.Optimizer, Callable | None, Callable | None]:
    r"""Model, optimizer, penalty and batch augmentation for a setting.

    Every setting trains with AdamW at learning rate ``lr``; only the decay-group's
    ``weight_decay`` differs. The L1 penalty is

    .. math::
        \Omega(w) = \lambda_1 \sum_i |w_i|

    over the weights (not the biases). The initial weights come from the global RNG:
    :func:`reglab.studies.together.run_setting` draws them under
    :func:`reglab.train.forked_rng` for a reproducible init.

    Args:
        setting (Setting): the regularizers.
        lr (float): AdamW's learning rate. Default: ``2e-3``.
        channels (tuple[int, int]): conv widths of :func:`reglab.train.small_cnn`.
            Default: ``(8, 16)``.

    Returns:
        (model, optimizer, penalty, augment): ``penalty`` and ``augment`` may be ``None``.
    """
    if not isinstance(setting, Setting):
        raise TypeError(f"setting must be a Setting, got {type(setting).__name__}")
    check_positive(lr, "lr")
    model = small_cnn(channels, batch_norm=setting.batch_norm, p=setting.p, p2d=setting.p2d)
    optimizer = torch.optim.AdamW(param_groups(model, setting.weight_decay), lr=lr)
    penalty = None
    if setting.l1 > 0:
        weights = optimizer.param_groups[0]["params"]  # the decay group: weights only
        penalty = lambda m: setting.l1 * l1_penalty(weights)  # noqa: E731  # λ1 Σ|w|
    augment = random_affine if setting.augment else None
    return model, optimizer, penalty, augment
