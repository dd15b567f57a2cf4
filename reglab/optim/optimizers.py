r"""Optimizers written out by hand: one step of SGD, Adam and AdamW, and proximal SGD.

The single-step updates (``sgd_step``, ``adam_step``, ``adamw_step``) follow
``torch.optim``'s arithmetic operation by operation, so the tests can compare them with
the real optimizers to float precision. They return new tensors and never modify their
arguments. :class:`ProximalSGD` is ``torch.optim.SGD`` followed by the proximal step of
the L1 penalty (:func:`reglab.optim.soft_threshold`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from reglab._checks import check_nonnegative, check_nonnegative_int
from reglab.optim.penalties import soft_threshold

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

    Raises:
        ValueError: a negative ``lr``, ``weight_decay`` or ``momentum``, or ``grad`` or
            ``buf`` shaped differently from ``w`` (they would broadcast silently).
    """
    check_nonnegative(lr, "lr")
    check_nonnegative(weight_decay, "weight_decay")
    check_nonnegative(momentum, "momentum")
    _check_shape("grad", grad, "w", w)
    if buf is not None:
        _check_shape("buf", buf, "w", w)
    g = grad + weight_decay * w  # g = dL/dw + lambda w
    if momentum:
        buf = g.clone() if buf is None else momentum * buf + g  # b = mu b + g
        g = buf
    return w - lr * g, buf  # w = w - alpha b


def _check_shape(name: str, t: torch.Tensor, like_name: str, like: torch.Tensor) -> None:
    if t.shape != like.shape:
        raise ValueError(
            f"{name} has shape {tuple(t.shape)} but {like_name} has shape {tuple(like.shape)}"
        )


def _check_adam_arguments(w, grad, state, lr, betas, eps, weight_decay) -> None:
    check_nonnegative(lr, "lr")
    check_nonnegative(eps, "eps")
    check_nonnegative(weight_decay, "weight_decay")
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:  # as torch.optim.Adam; also rejects NaN
            raise ValueError(f"betas[{i}] must be in [0, 1), got {beta}")
    _check_shape("grad", grad, "w", w)
    _check_shape("exp_avg", state.exp_avg, "w", w)


@dataclass(frozen=True)
class AdamState:
    """Adam's per-parameter state after ``step`` steps: the two moving averages.

    Raises:
        ValueError: ``step < 0``, or the two averages have different shapes.
    """

    step: int
    exp_avg: torch.Tensor  # m, average of gradients
    exp_avg_sq: torch.Tensor  # v, average of squared gradients

    def __post_init__(self):
        check_nonnegative_int(self.step, "step")
        _check_shape("exp_avg_sq", self.exp_avg_sq, "exp_avg", self.exp_avg)

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
    _check_adam_arguments(w, grad, state, lr, betas, eps, weight_decay)
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
    _check_adam_arguments(w, grad, state, lr, betas, eps, weight_decay)
    w = w * (1 - lr * weight_decay)  # decoupled decay: w = (1 - alpha lambda) w
    return _adam_update(w, grad, state, lr, betas, eps)


class ProximalSGD(torch.optim.SGD):
    r"""SGD followed by the proximal L1 step: gradient descent on the data loss, then
    :func:`~reglab.optim.soft_threshold` with :math:`\tau = \alpha\lambda_1` ("ISTA").

    Unlike adding :math:`\lambda_1\|w\|_1` to the loss (whose subgradient step jumps over
    zero and oscillates around it), this produces exact zeros.

    Args:
        params: parameters or parameter groups; a group may set its own ``l1``, and a
            group added later with ``add_param_group`` gets the default ``l1``.
        lr (float): learning rate.
        l1 (float): :math:`\lambda_1`, the L1 strength. Default: ``0``.
        **kwargs: passed to ``torch.optim.SGD`` (``momentum``, ``weight_decay``...).

    Parameters whose ``.grad`` is ``None`` are skipped, as ``torch.optim.SGD`` skips them.

    Raises:
        ValueError: a negative ``l1``, here or in any parameter group.
    """

    def __init__(self, params, lr: float, l1: float = 0.0, **kwargs):
        check_nonnegative(l1, "l1")
        self._default_l1 = l1  # read by add_param_group, which SGD's __init__ calls
        super().__init__(params, lr=lr, **kwargs)
        self.defaults["l1"] = l1  # so groups added later get it too

    def add_param_group(self, param_group: dict) -> None:
        param_group.setdefault("l1", self.defaults.get("l1", self._default_l1))
        check_nonnegative(param_group["l1"], "l1")
        super().add_param_group(param_group)

    def step(self, closure=None):
        loss = super().step(closure)  # SGD's step, which runs the closure with gradients
        with torch.no_grad():
            for group in self.param_groups:
                if group["l1"] > 0:
                    for p in group["params"]:
                        if p.grad is not None:  # as SGD: a parameter without grad is left alone
                            p.copy_(soft_threshold(p, group["lr"] * group["l1"]))  # prox step
        return loss
