"""Which regularizers a run uses: a :class:`Setting`, and :func:`build`, which turns it
into a model, an optimizer, a penalty and an augmentation.

The "Putting it together" study (:mod:`reglab.studies.together`) trains one MLP under
several settings with the same budget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from reglab._checks import check_nonnegative, check_positive, check_probability
from reglab.data.augment import random_affine
from reglab.optim.penalties import l1_penalty, param_groups
from reglab.train.models import mlp

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
        p (float): dropout probability after each hidden layer. Default: ``0.0``.
        batch_norm (bool): batch normalization after each hidden linear layer.
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
    batch_norm: bool = False
    augment: bool = False

    def __post_init__(self):
        for field in ("weight_decay", "l1"):
            check_nonnegative(getattr(self, field), field)
        check_probability(self.p, "p")


def build(
    setting: Setting,
    *,
    lr: float = 2e-3,
    hidden: tuple[int, ...] = (256, 256),
    generator: torch.Generator | None = None,
) -> tuple[nn.Module, torch.optim.Optimizer, Callable | None, Callable | None]:
    r"""Model, optimizer, penalty and batch augmentation for a setting.

    The model is :func:`reglab.train.mlp` with ``hidden`` widths, dropout ``p`` and batch
    norm as the setting says. Every setting trains with AdamW at learning rate ``lr``;
    only the decay group's ``weight_decay`` differs. The L1 penalty is

    .. math::
        \Omega(w) = \lambda_1 \sum_i |w_i|

    over the weights (not the biases).

    Args:
        setting (Setting): the regularizers.
        lr (float): AdamW's learning rate. Default: ``2e-3``.
        hidden (tuple[int, ...]): widths of the MLP's hidden layers. Default: ``(256, 256)``.
        generator (torch.Generator, optional): seeds the initial weights (one draw, see
            :func:`reglab.train.mlp`): settings built from equal generators share every
            layer they have in common. Default: ``None`` (the global RNG).

    Returns:
        (model, optimizer, penalty, augment): ``penalty`` and ``augment`` may be ``None``.
    """
    if not isinstance(setting, Setting):
        raise TypeError(f"setting must be a Setting, got {type(setting).__name__}")
    check_positive(lr, "lr")
    model = mlp(hidden, p=setting.p, batch_norm=setting.batch_norm, generator=generator)
    optimizer = torch.optim.AdamW(param_groups(model, setting.weight_decay), lr=lr)
    penalty = None
    if setting.l1 > 0:
        weights = optimizer.param_groups[0]["params"]  # the decay group: weights only
        penalty = lambda m: setting.l1 * l1_penalty(weights)  # noqa: E731  # λ1 Σ|w|
    augment = random_affine if setting.augment else None
    return model, optimizer, penalty, augment
