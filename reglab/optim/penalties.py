r"""L1 and L2 penalties, the proximal operator of the L1 norm, and parameter groups that
exempt biases and normalization layers from weight decay.

The optimizers that apply them (the hand-written ``sgd_step``, ``adam_step``,
``adamw_step`` and the proximal ``ProximalSGD``) live in :mod:`reglab.optim.optimizers`.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from reglab._checks import check_nonnegative

__all__ = [
    "l1_penalty",
    "l2_penalty",
    "param_groups",
    "soft_threshold",
]


def _tensors(params: Iterable[torch.Tensor] | torch.Tensor) -> list[torch.Tensor]:
    if not isinstance(params, torch.Tensor | Iterable):
        raise TypeError(
            f"params must be a tensor or an iterable of tensors, got {type(params).__name__}"
        )
    params = [params] if isinstance(params, torch.Tensor) else list(params)
    for i, p in enumerate(params):
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"params must be tensors; item {i} is a {type(p).__name__}")
    return params


def l1_penalty(params: Iterable[torch.Tensor] | torch.Tensor) -> torch.Tensor:
    r"""The L1 norm of all parameters, :math:`\Omega_1(w) = \sum_i |w_i|`.

    Multiply by :math:`\lambda` and add it to the loss. Its (sub)gradient is
    :math:`\lambda\,\mathrm{sign}(w)`, with ``sign(0) = 0``.

    Args:
        params: a tensor or an iterable of tensors, e.g. ``model.parameters()``.

    Raises:
        TypeError: an item is not a tensor.
    """
    return sum((p.abs().sum() for p in _tensors(params)), torch.tensor(0.0))


def l2_penalty(params: Iterable[torch.Tensor] | torch.Tensor) -> torch.Tensor:
    r"""Half the squared L2 norm, :math:`\Omega_2(w) = \tfrac12 \sum_i w_i^2`.

    The factor :math:`\tfrac12` (the seed notebook's convention) makes the gradient of
    :math:`\lambda\,\Omega_2` exactly :math:`\lambda w`, which is what ``weight_decay=λ``
    adds to the gradient in ``torch.optim.SGD``.

    Raises:
        TypeError: an item is not a tensor.
    """
    return sum((0.5 * p.pow(2).sum() for p in _tensors(params)), torch.tensor(0.0))


def soft_threshold(w: torch.Tensor, threshold: float) -> torch.Tensor:
    r"""The proximal operator of :math:`\tau\|w\|_1`: shrink towards zero, stop *at* zero.

    .. math:: \mathrm{prox}_{\tau}(w) = \mathrm{sign}(w)\,\max(|w| - \tau, 0)

    Every weight within ``threshold`` of zero becomes exactly ``0``.
    """
    check_nonnegative(threshold, "threshold")
    return torch.sign(w) * torch.clamp(w.abs() - threshold, min=0)


_NORM_LAYERS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two optimizer parameter groups: weights with ``weight_decay``, and biases and the
    parameters of normalization layers without it.

    A bias (or a normalization layer's shift) sets one unit's offset rather than an
    interaction between two variables: there are few of them, leaving them free adds little
    variance, and pulling them towards zero can underfit (Goodfellow et al., *Deep
    Learning*, section 7.1). A normalization layer's scale multiplies the normalized unit,
    and decaying it shrinks that unit's output. (The weights *before* a batch-norm layer
    are scale-invariant, so decaying them changes their effective learning rate rather
    than the function: van Laarhoven, *L2 Regularization versus Batch and Weight
    Normalization*, 2017.)

    Example::

        >>> optimizer = torch.optim.AdamW(param_groups(model, weight_decay=0.05), lr=1e-3)
    """
    check_nonnegative(weight_decay, "weight_decay")
    decay, no_decay = [], []
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            if isinstance(module, _NORM_LAYERS) or name == "bias" or p.dim() < 2:
                no_decay.append(p)
            else:
                decay.append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
