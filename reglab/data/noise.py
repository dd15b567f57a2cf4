r"""Training with noisy inputs, and the penalty that the noise adds in expectation.

Adding zero-mean noise :math:`\epsilon` with covariance :math:`\sigma^2 I` to the inputs of a
model :math:`f` trained with the squared error changes the expected loss at each sample by

.. math::
    \mathbb{E}_\epsilon\big[(f(x+\epsilon) - y)^2\big] - (f(x) - y)^2
    = \sigma^2 \Big(\lVert \nabla_x f(x) \rVert^2 + (f(x) - y)\, \Delta_x f(x)\Big)
      + O(\sigma^4)

(Bishop, 1995). For a linear model :math:`f(x) = w^\top x` the gradient is :math:`w`, the
Laplacian is zero and the higher-order terms vanish: the noise is exactly ridge regression
with penalty :math:`\sigma^2 \lVert w \rVert^2`. This module holds the pieces the chapter
"Regularizing inputs and targets" checks that with: the ridge solution, a noise set whose
covariance is exactly :math:`\sigma^2 I`, SGD with fresh noise at every step, and the two
sides of the expansion for a network.
"""

from __future__ import annotations

import torch
from torch import nn

from reglab._checks import check_nonnegative, check_positive, check_positive_int

__all__ = [
    "add_input_noise",
    "axis_noise",
    "noise_penalty_monte_carlo",
    "noise_penalty_taylor",
    "noisy_least_squares_sgd",
    "ridge_solution",
]


def add_input_noise(
    input: torch.Tensor, std: float, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Return :math:`x + \epsilon` with :math:`\epsilon \sim \mathcal N(0, \sigma^2 I)`.

    Args:
        input (Tensor): any shape.
        std (float): :math:`\sigma \ge 0`.
        generator (torch.Generator, optional): source of :math:`\epsilon`; default the
            global RNG.
    """
    check_nonnegative(std, "std")
    noise = torch.randn(input.shape, generator=generator, dtype=input.dtype, device=input.device)
    return input + std * noise  # x + sigma * N(0, I)


def ridge_solution(X: torch.Tensor, y: torch.Tensor, penalty: float) -> torch.Tensor:
    r"""The minimiser of :math:`\frac1N \lVert y - Xw \rVert^2 + \lambda \lVert w \rVert^2`.

    Setting the gradient :math:`\frac2N X^\top(Xw - y) + 2\lambda w` to zero gives

    .. math::
        w = (X^\top X + N\lambda I)^{-1} X^\top y .

    Args:
        X (Tensor): :math:`(N, d)` inputs.
        y (Tensor): :math:`(N,)` targets.
        penalty (float): :math:`\lambda \ge 0` (0 gives least squares).
    """
    check_nonnegative(penalty, "penalty")
    if X.dim() != 2 or y.dim() != 1 or len(X) != len(y):
        raise ValueError(
            f"X must be (N, d) and y (N,) with the same N, got {tuple(X.shape)} and "
            f"{tuple(y.shape)}"
        )
    N, d = X.shape
    A = X.T @ X + N * penalty * torch.eye(d, dtype=X.dtype, device=X.device)  # X^T X + N lam I
    return torch.linalg.solve(A, X.T @ y)


def axis_noise(num_features: int, std: float, *, dtype: torch.dtype = torch.float64):
    r"""A finite noise distribution with mean 0 and covariance exactly :math:`\sigma^2 I`.

    The :math:`2d` vectors :math:`\pm \sigma \sqrt d\, e_j`, each with probability
    :math:`1/(2d)`: the mean is zero and
    :math:`\frac{1}{2d}\sum_j 2\,\sigma^2 d\, e_j e_j^\top = \sigma^2 I`. Averaging a loss
    over these :math:`2d` draws gives its *exact* expectation for any noise of that mean
    and covariance, whenever the loss is quadratic in the noise (least squares).

    Returns:
        Tensor: :math:`(2d, d)`, one noise vector per row.
    """
    check_nonnegative(std, "std")
    eye = torch.eye(num_features, dtype=dtype) * std * num_features**0.5
    return torch.cat([eye, -eye])  # +- sigma sqrt(d) e_j


def noisy_least_squares_sgd(
    X: torch.Tensor,
    y: torch.Tensor,
    std: float,
    *,
    lr: float = 0.05,
    num_steps: int = 20_000,
    batch_size: int | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""SGD on :math:`\frac1B\sum_{n \in \text{batch}} (y_n - w^\top(x_n + \epsilon_n))^2` with
    fresh noise :math:`\epsilon_n \sim \mathcal N(0, \sigma^2 I)` at every step, from
    :math:`w = 0`.

    With a constant learning rate the iterate keeps fluctuating around the minimiser of the
    expected loss; the average of the iterates over the second half of the run
    (Polyak-Ruppert averaging) converges to it.

    Args:
        X (Tensor): :math:`(N, d)`.
        y (Tensor): :math:`(N,)`.
        std (float): :math:`\sigma`.
        lr (float): learning rate. Default: ``0.05``.
        num_steps (int): number of steps. Default: ``20000``.
        batch_size (int, optional): samples per step; default all :math:`N`.
        generator (torch.Generator, optional): source of the noise and of the batches.

    Returns:
        (w_average, trajectory): the averaged iterate :math:`(d,)` and every iterate
        :math:`(\text{num\_steps} + 1, d)`.
    """
    check_nonnegative(std, "std")
    check_positive(lr, "lr")
    check_positive_int(num_steps - 1, "num_steps - 1")  # two iterates at least: the average
    N, d = X.shape
    batch_size = N if batch_size is None else batch_size
    check_positive_int(batch_size, "batch_size")
    if batch_size > N:
        raise ValueError(f"batch_size must be in [1, {N}], got {batch_size}")
    w = torch.zeros(d, dtype=X.dtype, device=X.device)
    trajectory = [w]
    for _ in range(num_steps):
        if batch_size == N:
            X_b, y_b = X, y
        else:
            idx = torch.randint(N, (batch_size,), generator=generator, device=X.device)
            X_b, y_b = X[idx], y[idx]
        X_noisy = add_input_noise(X_b, std, generator=generator)  # fresh noise every step
        grad = 2 / len(X_b) * X_noisy.T @ (X_noisy @ w - y_b)  # d/dw (1/B)||X~ w - y||^2
        w = w - lr * grad
        trajectory.append(w)
    trajectory = torch.stack(trajectory)
    return trajectory[num_steps // 2 :].mean(0), trajectory


def _scalar_output(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    out = model(X)
    if out.dim() == 2 and out.shape[1] == 1:
        out = out.squeeze(1)
    if out.shape != X.shape[:1]:
        raise ValueError(f"model must return one value per sample, got {tuple(out.shape)}")
    return out


@torch.no_grad()
def noise_penalty_monte_carlo(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    std: float,
    *,
    num_draws: int = 1000,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Per-sample estimate of :math:`\mathbb{E}_\epsilon[(f(x+\epsilon)-y)^2] - (f(x)-y)^2`
    with Gaussian noise, from ``num_draws`` antithetic pairs :math:`\pm\epsilon` (the pair
    cancels the odd-order terms of the expansion, which are zero in expectation but would
    dominate the variance of a plain average).

    Shape:
        - X: :math:`(N, d)`; y: :math:`(N,)`; output: :math:`(N,)`
    """
    check_nonnegative(std, "std")
    check_positive_int(num_draws, "num_draws")
    clean = (_scalar_output(model, X) - y) ** 2
    total = torch.zeros_like(clean)
    for _ in range(num_draws):
        eps = std * torch.randn(X.shape, generator=generator, dtype=X.dtype, device=X.device)
        plus = (_scalar_output(model, X + eps) - y) ** 2
        minus = (_scalar_output(model, X - eps) - y) ** 2
        total += (plus + minus) / 2
    return total / num_draws - clean


def noise_penalty_taylor(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, std: float
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The two second-order terms of the expected noise penalty, per sample:

    .. math::
        \sigma^2 \lVert \nabla_x f(x) \rVert^2 \quad\text{and}\quad
        \sigma^2 (f(x) - y)\, \Delta_x f(x),

    computed with ``torch.func`` (the gradient and the trace of the Hessian of :math:`f`
    with respect to one input). Their sum approximates :func:`noise_penalty_monte_carlo`
    up to :math:`O(\sigma^4)`; the first term alone is Bishop's Tikhonov regularizer.

    Returns:
        (jacobian_term, curvature_term), each :math:`(N,)`.
    """
    check_nonnegative(std, "std")

    def f(x):  # one input (d,) -> a scalar
        return _scalar_output(model, x.unsqueeze(0))[0]

    grad = torch.func.vmap(torch.func.grad(f))(X)  # (N, d): nabla_x f
    # reverse over reverse (torch.func.hessian's forward mode pulls in deprecated TorchScript)
    hess = torch.func.vmap(torch.func.jacrev(torch.func.grad(f)))(X)  # (N, d, d)
    laplacian = hess.diagonal(dim1=1, dim2=2).sum(1)  # Delta f = tr(H)
    with torch.no_grad():
        residual = _scalar_output(model, X) - y
    return std**2 * grad.pow(2).sum(1).detach(), std**2 * residual * laplacian.detach()
