r"""Minimum-norm and ridge least squares from one singular value decomposition.

With more unknowns than equations, :math:`A W = B` has many exact solutions; the one of
smallest norm is :math:`W = A^{+} B` (the pseudo-inverse). Ridge regression adds a
penalty and has one solution for every :math:`\lambda > 0`; as :math:`\lambda \to 0` it
tends to the minimum-norm solution. Both are filters on the singular values of
:math:`A = U \operatorname{diag}(s) V^\top`, so one SVD gives them all.
"""

from __future__ import annotations

import math

import torch

from reglab._checks import check_nonnegative

__all__ = ["LeastSquares", "min_norm_solution", "ridge_solutions"]


def _check_system(A, B) -> None:
    for name, t in (("A", A), ("B", B)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if not (t.is_floating_point() or t.is_complex()):
            raise TypeError(f"{name} must hold floating-point values, got {t.dtype}")
    if A.dim() != 2:
        raise ValueError(f"A must be a matrix (N, p), got shape {tuple(A.shape)}")
    if B.dim() not in (1, 2) or B.shape[0] != A.shape[0]:
        raise ValueError(
            f"B must be (N,) or (N, k) with the N = {A.shape[0]} rows of A, got shape "
            f"{tuple(B.shape)}"
        )
    if A.shape[0] == 0 or A.shape[1] == 0:
        raise ValueError(f"A must have N >= 1 rows and p >= 1 columns, got {tuple(A.shape)}")
    for name, t in (("A", A), ("B", B)):
        if not torch.isfinite(t).all():
            raise ValueError(f"{name} holds non-finite values (inf or nan)")


class LeastSquares:
    r"""Solutions of :math:`\min_W \frac1N \lVert A W - B\rVert^2 + \lambda \lVert W\rVert^2`
    for any :math:`\lambda \ge 0`, from one SVD of :math:`A`.

    With :math:`A = U \operatorname{diag}(s) V^\top` (thin SVD),

    .. math::
        W_\lambda = V \operatorname{diag}\Bigl(\frac{s_i}{s_i^2 + N\lambda}\Bigr) U^\top B,
        \qquad
        W_0 = V \operatorname{diag}\Bigl(\frac{1}{s_i}\Bigr)_{s_i > \tau} U^\top B = A^{+} B,

    the ridge solution and, for :math:`\lambda = 0`, the minimum-norm least-squares
    solution. Singular values at or below :math:`\tau = \mathrm{rtol} \cdot s_{\max}` count
    as zero there, as in :func:`torch.linalg.pinv`.

    Args:
        A (Tensor): :math:`(N, p)` design (feature) matrix, finite.
        B (Tensor): :math:`(N,)` or :math:`(N, k)` targets, finite.
        rtol (float, optional): relative cut-off for :math:`\lambda = 0`. Default:
            ``eps * max(N, p)`` of ``A``'s dtype (the default of ``torch.linalg.pinv``).

    Attributes:
        singular_values (Tensor): :math:`(\min(N, p),)` the :math:`s_i`, descending.

    Shape:
        - A: :math:`(N, p)`; B: :math:`(N,)` or :math:`(N, k)`
        - :meth:`solve` returns :math:`(p,)` or :math:`(p, k)`

    Example::

        >>> A = torch.randn(5, 20, dtype=torch.float64)
        >>> B = torch.randn(5, 3, dtype=torch.float64)
        >>> ls = LeastSquares(A, B)
        >>> torch.allclose(ls.solve(0.0), torch.linalg.pinv(A) @ B)
        True
    """

    def __init__(self, A: torch.Tensor, B: torch.Tensor, *, rtol: float | None = None) -> None:
        _check_system(A, B)
        if rtol is not None:
            check_nonnegative(rtol, "rtol")
        N, p = A.shape
        self.num_samples = N
        self.rtol = torch.finfo(A.dtype).eps * max(N, p) if rtol is None else float(rtol)
        if N >= p:
            U, s, Vh = torch.linalg.svd(A, full_matrices=False)  # A = U diag(s) V^T
        else:  # the SVD of the tall A^T is the faster one
            V, s, Uh = torch.linalg.svd(A.T, full_matrices=False)
            U, Vh = Uh.T, V.T
        self.singular_values = s
        self._V = Vh.T  # (p, r)
        self._UtB = U.T @ (B if B.dim() == 2 else B[:, None])  # U^T B, (r, k)
        self._vector = B.dim() == 1

    def filter(self, penalty: float) -> torch.Tensor:
        r"""The factors :math:`f_i` with :math:`W_\lambda = V \operatorname{diag}(f) U^\top B`."""
        if isinstance(penalty, bool) or not isinstance(penalty, int | float):
            raise TypeError(f"penalty must be a real number, got {type(penalty).__name__}")
        if not math.isfinite(penalty):
            raise ValueError(f"penalty must be finite and >= 0, got {penalty}")
        check_nonnegative(penalty, "penalty")
        s = self.singular_values
        if penalty == 0:
            keep = s > self.rtol * s[0]  # s_i > tau: the rest count as zero
            return torch.where(keep, 1 / torch.where(keep, s, 1), 0)  # 1 / s_i
        return s / (s**2 + self.num_samples * penalty)  # s_i / (s_i^2 + N lambda)

    def solve(self, penalty: float = 0.0) -> torch.Tensor:
        r"""The solution :math:`W_\lambda` (the minimum-norm one for ``penalty=0``).

        Args:
            penalty (float): :math:`\lambda \ge 0`. Default: ``0.0``.
        """
        W = self._V @ (self.filter(penalty)[:, None] * self._UtB)  # V diag(f) U^T B
        return W[:, 0] if self._vector else W


def min_norm_solution(A: torch.Tensor, B: torch.Tensor, *, rtol: float | None = None):
    r"""The minimum-norm least-squares solution :math:`A^{+} B` (see :class:`LeastSquares`).

    .. math::
        W = \operatorname*{arg\,min}\bigl\{\lVert W\rVert :
        W \in \operatorname*{arg\,min}_W \lVert A W - B\rVert\bigr\} = A^{+} B

    Args:
        A (Tensor): :math:`(N, p)`.
        B (Tensor): :math:`(N,)` or :math:`(N, k)`.
        rtol (float, optional): relative cut-off of the singular values, as in
            :class:`LeastSquares`.

    Example::

        >>> A, B = torch.randn(4, 9, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
        >>> torch.allclose(A @ min_norm_solution(A, B), B)   # p > N: it interpolates
        True
    """
    return LeastSquares(A, B, rtol=rtol).solve(0.0)


def ridge_solutions(A: torch.Tensor, B: torch.Tensor, penalties) -> torch.Tensor:
    r"""Ridge solutions for several :math:`\lambda` from one SVD (see :class:`LeastSquares`).

    .. math::
        W_\lambda = (A^\top A + N \lambda I)^{-1} A^\top B

    Args:
        A (Tensor): :math:`(N, p)`.
        B (Tensor): :math:`(N,)` or :math:`(N, k)`.
        penalties (sequence of float): the :math:`\lambda \ge 0` (``0``: minimum norm).

    Returns:
        Tensor: :math:`(L, p)` or :math:`(L, p, k)`, one solution per penalty.
    """
    penalties = list(penalties)
    if not penalties:
        raise ValueError("penalties must hold at least one value")
    ls = LeastSquares(A, B)
    return torch.stack([ls.solve(lam) for lam in penalties])
