r"""Optimizers written out by hand: one step of SGD, Adam and AdamW, and proximal SGD.

The single-step updates (``sgd_step``, ``adam_step``, ``adamw_step``) follow
``torch.optim``'s arithmetic operation by operation, so the tests can compare them with
the real optimizers to float precision. They return new tensors and never modify their
arguments. :class:`ProximalSGD` is ``torch.optim.SGD`` followed by the proximal step of
the L1 penalty (:func:`reglab.penalties.soft_threshold`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from reglab.penalties import soft_threshold
from reglab.validation import check_nonnegative

__all__ = ["AdamState", "ProximalSGD", "adam_step", "adamw_step", "sgd_step"]


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
    check_nonnegative(lr, "lr")
    check_nonnegative(weight_decay, "weight_decay")
    check_nonnegative(momentum, "momentum")
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
    check_nonnegative(lr, "lr")
    check_nonnegative(weight_decay, "weight_decay")
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
    check_nonnegative(lr, "lr")
    check_nonnegative(weight_decay, "weight_decay")
    w = w * (1 - lr * weight_decay)  # decoupled decay: w = (1 - alpha lambda) w
    return _adam_update(w, grad, state, lr, betas, eps)


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
        check_nonnegative(l1, "l1")
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
