r"""Polyak averaging on least squares: SGD with a fixed step, and the mean of its iterates.

With a constant step size :math:`\eta`, SGD on a least-squares problem does not converge:
its iterates keep fluctuating around the minimiser :math:`w^\star`. Their running mean
(Polyak & Juditsky, 1992) averages those fluctuations away.
"""

from __future__ import annotations

import torch

from reglab._checks import check_positive, check_positive_int

__all__ = ["sgd_least_squares"]


def sgd_least_squares(
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    lr: float,
    num_steps: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Iterates of single-sample SGD on :math:`\frac12 (x_i^\top w - y_i)^2`, from zero.

    .. math::
        w_{t+1} = w_t - \eta\,(x_{i_t}^\top w_t - y_{i_t})\,x_{i_t},
        \qquad i_t \sim \mathrm{Uniform}\{1..N\}

    Args:
        X (Tensor): :math:`(N, D)` inputs.
        y (Tensor): :math:`(N,)` targets.
        lr (float): the fixed step size :math:`\eta > 0`.
        num_steps (int): :math:`T \ge 1`.
        generator (torch.Generator, optional): draws the sample indices.

    Returns:
        Tensor: :math:`(T + 1, D)`, the iterates :math:`w_0 = 0, w_1, \dots, w_T`.
    """
    check_positive(lr, "lr")
    check_positive_int(num_steps, "num_steps")
    idx = torch.randint(0, len(X), (num_steps,), generator=generator)
    w = torch.zeros(X.shape[1], dtype=X.dtype)
    out = [w]
    for i in idx.tolist():
        w = w - lr * (X[i] @ w - y[i]) * X[i]  # w - eta (x^T w - y) x
        out.append(w)
    return torch.stack(out)
