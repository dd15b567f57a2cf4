r"""Early stopping as L2, for a quadratic loss: spectral filter factors of GD and ridge.

For linear least squares,

.. math::
    L(w) = \frac{1}{2N}\lVert Xw - y\rVert^2, \qquad
    H = \frac{1}{N} X^\top X = Q \Lambda Q^\top, \qquad
    w^* = H^{-1}\frac{1}{N}X^\top y,

gradient descent from :math:`w_0 = 0` with step :math:`\epsilon` and ridge regression with
penalty :math:`\frac{\alpha}{2}\lVert w\rVert^2` both shrink :math:`w^*` along each
eigenvector :math:`q_i` of :math:`H` by a *filter factor*:

.. math::
    q_i^\top w_\tau = \bigl[1 - (1 - \epsilon\lambda_i)^\tau\bigr]\, q_i^\top w^*,
    \qquad
    q_i^\top \tilde w_\alpha = \frac{\lambda_i}{\lambda_i + \alpha}\, q_i^\top w^*.

The two families nearly agree when :math:`\alpha \approx 1/(\epsilon\tau)` (Goodfellow et
al., *Deep Learning*, 2016, section 7.8). :func:`gd_weights` and :func:`ridge_weights`
evaluate these closed forms; :func:`gd_trajectory` runs ``torch.optim.SGD`` itself, so
the closed form can be checked against real iterates.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from reglab._checks import check_nonnegative_int, check_positive, check_positive_int

__all__ = [
    "equivalent_alpha",
    "gd_filter_factors",
    "gd_trajectory",
    "gd_weights",
    "quadratic_spectrum",
    "ridge_filter_factors",
    "ridge_weights",
]


def _check_lr(lr: float) -> None:
    check_positive(lr, "lr")


def _check_steps(num_steps) -> torch.Tensor:
    steps = torch.as_tensor(num_steps)
    if steps.dtype.is_floating_point or steps.dtype == torch.bool or steps.dim() > 1:
        raise ValueError(f"num_steps must be an int or a 1-D sequence of ints, got {num_steps!r}")
    if (steps < 0).any():
        raise ValueError(f"num_steps must be >= 0, got {num_steps!r}")
    return steps


def _check_alpha(alpha) -> torch.Tensor:
    alphas = torch.as_tensor(alpha, dtype=torch.float64)
    if alphas.dim() > 1 or not torch.isfinite(alphas).all() or (alphas <= 0).any():
        raise ValueError(f"alpha must be a finite number > 0 (or a 1-D sequence), got {alpha!r}")
    return alphas


def _check_eigenvalues(eigenvalues: torch.Tensor) -> None:
    if not torch.isfinite(eigenvalues).all() or (eigenvalues < 0).any():
        raise ValueError("eigenvalues must be finite and >= 0 (those of a Hessian X^T X / N)")


def _check_problem(X: torch.Tensor, y: torch.Tensor) -> None:
    if X.dim() != 2:
        raise ValueError(f"X must have shape (N, d), got {tuple(X.shape)}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape (N,) = ({X.shape[0]},), got {tuple(y.shape)}")


def quadratic_spectrum(X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Eigenvalues (ascending) and eigenvectors of the least-squares Hessian.

    .. math::
        H = \frac{1}{N} X^\top X = Q \Lambda Q^\top

    Args:
        X (Tensor): :math:`(N, d)` design matrix.

    Returns:
        (Tensor, Tensor): eigenvalues :math:`(d,)` and eigenvectors :math:`(d, d)` (columns).
    """
    if X.dim() != 2:
        raise ValueError(f"X must have shape (N, d), got {tuple(X.shape)}")
    H = X.T @ X / X.shape[0]  # (d, d)
    return torch.linalg.eigh(H)


def gd_filter_factors(
    eigenvalues: torch.Tensor, lr: float, num_steps: int | Sequence[int]
) -> torch.Tensor:
    r"""Filter factors of gradient descent from zero on a quadratic loss.

    .. math::
        f_i(\tau) = 1 - (1 - \epsilon\lambda_i)^\tau

    For :math:`0 < \epsilon\lambda_i < 1` they rise monotonically from 0 to 1; for
    :math:`1 < \epsilon\lambda_i < 2` they overshoot 1 on odd steps; for
    :math:`\epsilon\lambda_i > 2` they diverge. Nothing is clamped.

    Args:
        eigenvalues (Tensor): :math:`(d,)` eigenvalues :math:`\lambda_i \ge 0` of :math:`H`.
        lr (float): the step size :math:`\epsilon > 0`.
        num_steps (int or sequence of int): number(s) of steps :math:`\tau \ge 0`.

    Returns:
        Tensor: :math:`(d,)` for one ``num_steps``, :math:`(T, d)` for a sequence of ``T``.

    Example::

        >>> gd_filter_factors(torch.tensor([0.01, 1.0]), lr=0.5, num_steps=10)
        tensor([0.0489, 0.9990])
    """
    _check_eigenvalues(eigenvalues)
    _check_lr(lr)
    steps = _check_steps(num_steps)
    tau = steps.to(eigenvalues.dtype).unsqueeze(-1)  # (T, 1) or (1,)
    x = lr * eigenvalues  # eps lambda_i
    direct = 1 - (1 - x) ** tau  # 1 - (1 - eps lambda_i)^tau
    # the same for 0 <= x < 1, without cancellation when x is tiny
    accurate = -torch.expm1(tau * torch.log1p(-torch.where(x < 1, x, 0)))
    return torch.where(x < 1, accurate, direct)


def ridge_filter_factors(eigenvalues: torch.Tensor, alpha: float | Sequence[float]) -> torch.Tensor:
    r"""Filter factors of ridge regression (L2 penalty :math:`\frac{\alpha}{2}\lVert w\rVert^2`).

    .. math::
        f_i(\alpha) = \frac{\lambda_i}{\lambda_i + \alpha}

    Args:
        eigenvalues (Tensor): :math:`(d,)` eigenvalues :math:`\lambda_i \ge 0` of :math:`H`.
        alpha (float or sequence of float): penalty strength(s) :math:`\alpha > 0`.

    Returns:
        Tensor: :math:`(d,)` for one ``alpha``, :math:`(A, d)` for a sequence of ``A``.
    """
    _check_eigenvalues(eigenvalues)
    alphas = _check_alpha(alpha).to(eigenvalues.dtype).unsqueeze(-1)  # (A, 1) or (1,)
    return eigenvalues / (eigenvalues + alphas)  # lambda_i / (lambda_i + alpha)


def equivalent_alpha(lr: float, num_steps: int) -> float:
    r"""The ridge penalty that ``num_steps`` of gradient descent with step ``lr`` resembles.

    .. math::
        \alpha \approx \frac{1}{\epsilon\tau}

    The approximation holds for the directions with :math:`\epsilon\lambda_i \ll 1` and
    :math:`\lambda_i \ll \alpha` (where both factors are small) and for those with
    :math:`\lambda_i \gg \alpha` (where both are close to 1).
    """
    _check_lr(lr)
    check_positive_int(num_steps, "num_steps")
    return 1.0 / (lr * num_steps)  # alpha = 1 / (eps tau)


def _spectral_solution(X, y, factors_over_lambda) -> torch.Tensor:
    eigenvalues, Q = quadratic_spectrum(X)
    # H is positive semi-definite; rounding can leave its zero eigenvalues at -1e-17
    eigenvalues = eigenvalues.clamp(min=0)
    b = X.T @ y / X.shape[0]  # (d,): H w* = b
    coeffs = factors_over_lambda(eigenvalues) * (Q.T @ b)  # f_i / lambda_i * q_i^T b
    return coeffs @ Q.T  # sum_i coeff_i q_i, row by row


def gd_weights(X: torch.Tensor, y: torch.Tensor, lr: float, num_steps) -> torch.Tensor:
    r"""Closed form of the gradient-descent iterate(s) :math:`w_\tau` on least squares.

    .. math::
        w_\tau = Q\,\mathrm{diag}\bigl(1 - (1 - \epsilon\lambda_i)^\tau\bigr)\,Q^\top w^*,
        \qquad w_0 = 0

    written as :math:`\sum_i \frac{f_i(\tau)}{\lambda_i} q_i q_i^\top \frac{1}{N}X^\top y`,
    so a singular :math:`H` is allowed: where :math:`\lambda_i = 0`, both :math:`f_i` and
    :math:`q_i^\top X^\top y` vanish.

    Args:
        X (Tensor): :math:`(N, d)` design matrix. Use float64 to compare with iterates.
        y (Tensor): :math:`(N,)` targets.
        lr (float): step size :math:`\epsilon`.
        num_steps (int or sequence of int): :math:`\tau`.

    Returns:
        Tensor: :math:`(d,)` or :math:`(T, d)`.
    """
    _check_problem(X, y)
    _check_lr(lr)
    steps = _check_steps(num_steps)

    def factors_over_lambda(lam):
        # where lambda_i = 0, f_i = 0 and q_i^T X^T y = 0 (X^T y lies in the range of H)
        return gd_filter_factors(lam, lr, steps) / torch.where(lam > 0, lam, 1)

    return _spectral_solution(X, y, factors_over_lambda)


def ridge_weights(X: torch.Tensor, y: torch.Tensor, alpha) -> torch.Tensor:
    r"""Ridge solution(s) via the spectrum: :math:`\tilde w_\alpha = (H + \alpha I)^{-1}
    \frac{1}{N}X^\top y = Q\,\mathrm{diag}\bigl(\frac{\lambda_i}{\lambda_i+\alpha}\bigr)Q^\top w^*`.

    Args:
        X (Tensor): :math:`(N, d)` design matrix.
        y (Tensor): :math:`(N,)` targets.
        alpha (float or sequence of float): :math:`\alpha > 0`.

    Returns:
        Tensor: :math:`(d,)` or :math:`(A, d)`.
    """
    _check_problem(X, y)
    alphas = _check_alpha(alpha).to(X.dtype)
    return _spectral_solution(X, y, lambda lam: 1 / (lam + alphas.unsqueeze(-1)))


def gd_trajectory(X: torch.Tensor, y: torch.Tensor, lr: float, num_steps: int) -> torch.Tensor:
    r"""Run full-batch ``torch.optim.SGD`` on :math:`\frac{1}{2N}\lVert Xw - y\rVert^2` from
    :math:`w_0 = 0` and return every iterate.

    The gradient comes from autograd and the update from PyTorch's optimizer, so this is
    an independent check of :func:`gd_weights`.

    Args:
        X (Tensor): :math:`(N, d)` design matrix (its dtype is used for the weights).
        y (Tensor): :math:`(N,)` targets.
        lr (float): step size :math:`\epsilon`.
        num_steps (int): number of steps :math:`\tau \ge 0`.

    Returns:
        Tensor: :math:`(\tau + 1, d)`, row :math:`t` is :math:`w_t`.
    """
    _check_problem(X, y)
    _check_lr(lr)
    check_nonnegative_int(num_steps, "num_steps")
    w = nn.Parameter(torch.zeros(X.shape[1], dtype=X.dtype))
    optimizer = torch.optim.SGD([w], lr=lr)
    iterates = [w.detach().clone()]
    for _ in range(num_steps):
        loss = 0.5 * ((X @ w - y) ** 2).mean()  # L(w) = 1/(2N) ||X w - y||^2
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()  # w <- w - eps grad L(w)
        iterates.append(w.detach().clone())
    return torch.stack(iterates)
