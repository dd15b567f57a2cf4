r"""L1 and L2 penalties, weight decay written out by hand, and the proximal L1 step.

The hand-written single-step updates (``sgd_step``, ``adam_step``, ``adamw_step``) follow
``torch.optim``'s arithmetic operation by operation, so the tests can compare them with
the real optimizers to float precision. They return new tensors and never modify their
arguments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

__all__ = [
    "AdamState",
    "ProximalSGD",
    "adam_step",
    "adamw_step",
    "l1_penalty",
    "l2_penalty",
    "param_groups",
    "sgd_step",
    "soft_threshold",
]


def _check_nonnegative(name: str, value: float) -> None:
    if not value >= 0:  # also rejects NaN
        raise ValueError(f"{name} must be >= 0, got {value}")


def _tensors(params: Iterable[torch.Tensor] | torch.Tensor) -> list[torch.Tensor]:
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


def sgd_step(
    w: torch.Tensor,
    grad: torch.Tensor,
    lr: float,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    buf: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    r"""One step of ``torch.optim.SGD`` (no dampening, no Nesterov), by hand.

    .. math::
        g \leftarrow \nabla L(w) + \lambda w, \qquad
        b \leftarrow \mu b + g \ (b = g \text{ on the first step}), \qquad
        w \leftarrow w - \alpha b

    Without momentum this is :math:`w \leftarrow (1 - \alpha\lambda) w - \alpha \nabla L(w)`:
    the weights are *decayed* by a constant factor each step.

    Returns:
        (w, buf): the new weights and momentum buffer (``None`` without momentum).
    """
    _check_nonnegative("lr", lr)
    _check_nonnegative("weight_decay", weight_decay)
    _check_nonnegative("momentum", momentum)
    g = grad + weight_decay * w  # g = dL/dw + lambda w
    if momentum:
        buf = g.clone() if buf is None else momentum * buf + g  # b = mu b + g
        g = buf
    return w - lr * g, buf  # w = w - alpha b


@dataclass(frozen=True)
class AdamState:
    """Adam's per-parameter state after ``step`` steps: the two moving averages."""

    step: int
    exp_avg: torch.Tensor  # m, average of gradients
    exp_avg_sq: torch.Tensor  # v, average of squared gradients

    @classmethod
    def zeros_like(cls, w: torch.Tensor) -> AdamState:
        return cls(0, torch.zeros_like(w), torch.zeros_like(w))


def _adam_update(w, g, state: AdamState, lr, betas, eps):
    beta1, beta2 = betas
    t = state.step + 1
    m = beta1 * state.exp_avg + (1 - beta1) * g  # m = b1 m + (1 - b1) g
    v = beta2 * state.exp_avg_sq + (1 - beta2) * g * g  # v = b2 v + (1 - b2) g^2
    bias_correction1 = 1 - beta1**t
    bias_correction2_sqrt = (1 - beta2**t) ** 0.5
    denom = v.sqrt() / bias_correction2_sqrt + eps  # sqrt(v_hat) + eps
    w = w - (lr / bias_correction1) * m / denom  # w = w - alpha m_hat / (sqrt(v_hat) + eps)
    return w, AdamState(t, m, v)


def adam_step(
    w: torch.Tensor,
    grad: torch.Tensor,
    state: AdamState,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
) -> tuple[torch.Tensor, AdamState]:
    r"""One step of ``torch.optim.Adam`` by hand: weight decay is *coupled* (L2).

    .. math::
        g \leftarrow \nabla L(w) + \lambda w, \quad
        w \leftarrow w - \alpha \frac{\hat m}{\sqrt{\hat v} + \epsilon}

    The decay term :math:`\lambda w` passes through Adam's normalization, so parameters
    with large past gradients (large :math:`\hat v`) are decayed *less*.
    """
    _check_nonnegative("lr", lr)
    _check_nonnegative("weight_decay", weight_decay)
    return _adam_update(w, grad + weight_decay * w, state, lr, betas, eps)


def adamw_step(
    w: torch.Tensor,
    grad: torch.Tensor,
    state: AdamState,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
) -> tuple[torch.Tensor, AdamState]:
    r"""One step of ``torch.optim.AdamW`` by hand: weight decay is *decoupled*.

    .. math::
        w \leftarrow (1 - \alpha\lambda)\, w, \quad
        w \leftarrow w - \alpha \frac{\hat m}{\sqrt{\hat v} + \epsilon}

    Every weight shrinks by the same factor, whatever its gradient history.

    Reference: Loshchilov & Hutter, *Decoupled Weight Decay Regularization*, ICLR 2019.
    """
    _check_nonnegative("lr", lr)
    _check_nonnegative("weight_decay", weight_decay)
    w = w * (1 - lr * weight_decay)  # decoupled decay: w = (1 - alpha lambda) w
    return _adam_update(w, grad, state, lr, betas, eps)


def soft_threshold(w: torch.Tensor, threshold: float) -> torch.Tensor:
    r"""The proximal operator of :math:`\tau\|w\|_1`: shrink towards zero, stop *at* zero.

    .. math:: \mathrm{prox}_{\tau}(w) = \mathrm{sign}(w)\,\max(|w| - \tau, 0)

    Every weight within ``threshold`` of zero becomes exactly ``0``.
    """
    _check_nonnegative("threshold", threshold)
    return torch.sign(w) * torch.clamp(w.abs() - threshold, min=0)


class ProximalSGD(torch.optim.SGD):
    r"""SGD followed by the proximal L1 step: gradient descent on the data loss, then
    :func:`soft_threshold` with :math:`\tau = \alpha\lambda_1` ("ISTA").

    Unlike adding :math:`\lambda_1\|w\|_1` to the loss (whose subgradient step jumps over
    zero and oscillates around it), this produces exact zeros.

    Args:
        params: parameters or parameter groups; a group may set its own ``l1``.
        lr (float): learning rate.
        l1 (float): :math:`\lambda_1`, the L1 strength. Default: ``0``.
        **kwargs: passed to ``torch.optim.SGD`` (``momentum``, ``weight_decay``...).
    """

    def __init__(self, params, lr: float, l1: float = 0.0, **kwargs):
        _check_nonnegative("l1", l1)
        super().__init__(params, lr=lr, **kwargs)
        for group in self.param_groups:
            group.setdefault("l1", l1)

    @torch.no_grad()
    def step(self, closure=None):
        loss = super().step(closure)
        for group in self.param_groups:
            if group["l1"] > 0:
                for p in group["params"]:
                    p.copy_(soft_threshold(p, group["lr"] * group["l1"]))
        return loss


_NORM_LAYERS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two optimizer parameter groups: weights with ``weight_decay``, and biases and the
    parameters of normalization layers without it.

    Decaying a bias or a batch-norm scale does not limit the model's capacity (they do not
    multiply inputs), it only pulls them away from useful values.

    Example::

        >>> optimizer = torch.optim.AdamW(param_groups(model, weight_decay=0.05), lr=1e-3)
    """
    _check_nonnegative("weight_decay", weight_decay)
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
