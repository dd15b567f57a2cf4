r"""Adversarial examples in an :math:`L_\infty` ball: FGSM and PGD, written from scratch.

An attack looks for a perturbation :math:`\delta` of an input :math:`x` that raises the
model's loss while staying small, :math:`\lVert\delta\rVert_\infty \le \epsilon`, and keeps
the perturbed image a valid image, :math:`x + \delta \in [0, 1]^d`:

.. math::
    \max_{\lVert\delta\rVert_\infty \le \epsilon,\; x + \delta \in [0, 1]^d}
    \ell\bigl(f(x + \delta), y\bigr).

:func:`fgsm` takes one step of size :math:`\epsilon` along the sign of the input gradient
(Goodfellow et al., 2015); :func:`pgd` takes several smaller steps, each followed by a
projection back into the ball and the box, from a random start (Madry et al., 2018).
With ``steps=1``, ``alpha=1.25 * eps`` and a random start, :func:`pgd` is the "FGSM with
random start" of Wong et al. (2020), which :func:`adversarial_mix` plugs into
:func:`reglab.train.train` for adversarial training.

**Train mode.** Both attacks run the model in eval mode and then give every submodule back
the mode it had: the attack searches against the function the model computes at test
time. In train mode, batch norm would normalize each image with statistics of the
(perturbed) batch, so the perturbation of one image would depend on the others, and it
would update its running statistics with adversarial inputs; dropout would draw a new
mask at each step, so the attack would chase a moving target. Running the attack changes
no parameter, buffer or ``.grad`` of the model, and works inside ``torch.no_grad()``.

:func:`linear_adversarial_loss` is the closed form of the worst case for a linear model:
the margin falls by exactly :math:`\epsilon\lVert w\rVert_1`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from reglab._checks import check_positive_int

__all__ = ["adversarial_mix", "fgsm", "linear_adversarial_loss", "pgd"]

Bounds = tuple[float, float] | None


def _check_eps(eps, name: str = "eps") -> float:
    if isinstance(eps, bool) or not isinstance(eps, int | float):
        raise TypeError(f"{name} must be a real number >= 0, got {type(eps).__name__}")
    if not (math.isfinite(eps) and eps >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {eps!r}")
    return float(eps)


def _check_count(value, name: str) -> int:
    check_positive_int(value, name)
    return value


def _check_input(input: torch.Tensor, bounds: Bounds) -> None:
    if not isinstance(input, torch.Tensor) or not input.dtype.is_floating_point:
        raise TypeError("input must be a floating-point tensor")
    if bounds is None:
        return
    if not (isinstance(bounds, tuple | list) and len(bounds) == 2 and bounds[0] < bounds[1]):
        raise ValueError(
            f"bounds must be None or a pair (low, high) with low < high, got {bounds!r}"
        )
    low, high = bounds
    if input.numel() and (input.min() < low or input.max() > high):
        raise ValueError(
            f"input must lie in bounds [{low}, {high}], got values in "
            f"[{input.min().item():.4g}, {input.max().item():.4g}]; pass bounds=None for "
            f"inputs without a box"
        )


def _project(x_adv, input, eps: float, bounds: Bounds) -> torch.Tensor:
    """Back into the ball around ``input`` (and the box)."""
    delta = torch.clamp(x_adv - input, min=-eps, max=eps)  # ||delta||_inf <= eps
    x_adv = input + delta
    return x_adv if bounds is None else torch.clamp(x_adv, min=bounds[0], max=bounds[1])


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Eval mode for the block; then every submodule gets back its own mode."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode


def _input_gradient(model, x, target, loss_fn) -> torch.Tensor:
    with torch.enable_grad():  # also inside a caller's torch.no_grad()
        x = x.detach().requires_grad_(True)
        loss = loss_fn(model(x), target)  # l(f(x), y), reduced to a scalar
        (grad,) = torch.autograd.grad(loss, x)  # grad_x l; the model's .grad is untouched
    return grad


def fgsm(
    model: nn.Module,
    input: torch.Tensor,
    target: torch.Tensor,
    eps: float,
    *,
    loss_fn: Callable[..., torch.Tensor] | None = None,
    bounds: Bounds = (0.0, 1.0),
) -> torch.Tensor:
    r"""The fast gradient sign method: one step of size :math:`\epsilon` along the sign of
    the input gradient of the loss.

    .. math::
        x' = \operatorname{clip}_{[0, 1]}\bigl(x + \epsilon\,
        \operatorname{sign}\nabla_x \ell(f(x), y)\bigr)

    It is the exact maximiser of the loss's linearisation over the :math:`L_\infty` ball.

    Args:
        model (nn.Module): returns logits; run in eval mode, its modes restored after.
        input (Tensor): the clean inputs, within ``bounds``.
        target (Tensor): what ``loss_fn`` compares the logits with.
        eps (float): radius :math:`\epsilon \ge 0` of the :math:`L_\infty` ball.
        loss_fn (callable, optional): ``loss_fn(logits, target)`` returning a scalar, in the
            style of ``torch.nn.functional``. Default: ``F.cross_entropy``.
        bounds (tuple or None): the pixel box ``(low, high)``; ``None`` for none.
            Default: ``(0.0, 1.0)``.

    Returns:
        Tensor: the adversarial inputs, detached, same shape and dtype as ``input``.

    Raises:
        ValueError: ``eps < 0`` or ``input`` outside ``bounds``.

    Shape:
        - input: :math:`(N, *)`, any shape the model accepts
        - target: :math:`(N,)` class indices for ``F.cross_entropy``
        - output: the same shape as ``input``

    Example::

        >>> X_adv = fgsm(model, X, y, eps=0.1)   # (N, C, H, W), like X
        >>> (X_adv - X).abs().max()               # 0.1, up to float rounding

    Reference: I. Goodfellow, J. Shlens, C. Szegedy, "Explaining and harnessing
    adversarial examples", ICLR 2015.
    """
    eps = _check_eps(eps)
    _check_input(input, bounds)
    loss_fn = F.cross_entropy if loss_fn is None else loss_fn
    input = input.detach()
    with _eval_mode(model):
        grad = _input_gradient(model, input, target, loss_fn)
    x_adv = input + eps * grad.sign()  # x + eps sign(grad_x l)
    return x_adv if bounds is None else torch.clamp(x_adv, min=bounds[0], max=bounds[1])


def pgd(
    model: nn.Module,
    input: torch.Tensor,
    target: torch.Tensor,
    eps: float,
    alpha: float,
    steps: int,
    *,
    random_start: bool = True,
    restarts: int = 1,
    loss_fn: Callable[..., torch.Tensor] | None = None,
    generator: torch.Generator | None = None,
    bounds: Bounds = (0.0, 1.0),
) -> torch.Tensor:
    r"""Projected gradient descent (ascent, on the loss) in the :math:`L_\infty` ball.

    .. math::
        x^{0} = \operatorname{clip}_{[0,1]}(x + u),\; u \sim U[-\epsilon, \epsilon]^d;
        \qquad
        x^{t+1} = \Pi_{B_\epsilon(x) \cap [0,1]^d}\bigl(x^{t} + \alpha\,
        \operatorname{sign}\nabla_x \ell(f(x^{t}), y)\bigr)

    where :math:`\Pi` clamps :math:`x^{t+1} - x` to :math:`[-\epsilon, \epsilon]`, then the
    result to the box. With ``restarts > 1`` the attack runs again from new random starts
    and keeps, for each example, the result with the highest loss (the first on a tie).

    Args:
        model (nn.Module): returns logits; run in eval mode, its modes restored after.
        input (Tensor): the clean inputs, within ``bounds``.
        target (Tensor): what ``loss_fn`` compares the logits with.
        eps (float): radius :math:`\epsilon \ge 0` of the ball.
        alpha (float): step size :math:`\alpha > 0`.
        steps (int): number of steps, an integer :math:`\ge 1`.
        random_start (bool): start from a uniform point of the ball (else from ``input``).
            Default: ``True``.
        restarts (int): independent runs, an integer :math:`\ge 1`. Default: ``1``.
        loss_fn (callable, optional): ``loss_fn(logits, target)`` returning the mean loss;
            with ``restarts > 1`` also ``loss_fn(..., reduction="none")`` for the
            per-example loss, as the losses of ``torch.nn.functional`` accept.
            Default: ``F.cross_entropy``.
        generator (torch.Generator, optional): draws the random starts; default the global
            RNG. Each start is ``torch.empty_like(input).uniform_(-eps, eps)``, so a
            generator seeded like the global RNG gives the start of ``torchattacks.PGD``.
        bounds (tuple or None): the pixel box ``(low, high)``; ``None`` for none.
            Default: ``(0.0, 1.0)``.

    Returns:
        Tensor: the adversarial inputs, detached, within ``eps`` of ``input`` and in the box.

    Raises:
        ValueError: ``eps < 0``, ``alpha <= 0``, ``steps`` or ``restarts < 1``, or
            ``input`` outside ``bounds``.
        TypeError: ``steps`` or ``restarts`` is not an integer, ``generator`` is not a
            ``torch.Generator``.

    Shape:
        - input: :math:`(N, *)`, any shape the model accepts
        - target: :math:`(N,)` class indices for ``F.cross_entropy``
        - output: the same shape as ``input``

    Example::

        >>> X_adv = pgd(model, X, y, eps=0.1, alpha=0.025, steps=10, restarts=2,
        ...             generator=torch.Generator().manual_seed(0))

    Reference: A. Madry, A. Makelov, L. Schmidt, D. Tsipras, A. Vladu, "Towards deep
    learning models resistant to adversarial attacks", ICLR 2018.
    """
    eps = _check_eps(eps)
    if not (isinstance(alpha, int | float) and not isinstance(alpha, bool)):
        raise TypeError(f"alpha must be a real number > 0, got {type(alpha).__name__}")
    if not (math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
    steps = _check_count(steps, "steps")
    restarts = _check_count(restarts, "restarts")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    _check_input(input, bounds)
    loss_fn = F.cross_entropy if loss_fn is None else loss_fn
    input = input.detach()
    best, best_loss = None, None
    with _eval_mode(model):
        for _ in range(restarts):
            x_adv = input.clone()
            if random_start:  # x^0 = clip(x + u), u ~ U[-eps, eps]
                x_adv = x_adv + torch.empty_like(x_adv).uniform_(-eps, eps, generator=generator)
                if bounds is not None:
                    x_adv = torch.clamp(x_adv, min=bounds[0], max=bounds[1])
            for _ in range(steps):
                grad = _input_gradient(model, x_adv, target, loss_fn)
                x_adv = x_adv + alpha * grad.sign()  # x^t + alpha sign(grad)
                x_adv = _project(x_adv, input, eps, bounds)  # back into ball and box
            if restarts == 1:
                return x_adv.detach()
            with torch.no_grad():
                loss = loss_fn(model(x_adv), target, reduction="none")  # (N,)
            if best is None:
                best, best_loss = x_adv, loss
            else:
                better = loss > best_loss  # (N,)
                shape = (-1,) + (1,) * (input.dim() - 1)
                best = torch.where(better.view(shape), x_adv, best)
                best_loss = torch.maximum(loss, best_loss)
    return best.detach()


def adversarial_mix(
    model: nn.Module, eps: float, *, alpha: float | None = None, steps: int = 1, **kwargs
) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    r"""A ``mix`` hook for :func:`reglab.train.train` that replaces each batch by its
    :func:`pgd` adversarial examples (keeping the labels): adversarial training.

    .. math::
        \min_\theta \frac{1}{B}\sum_i \ell\bigl(f_\theta(x_i'), y_i\bigr), \qquad
        x_i' = \mathrm{PGD}(x_i)

    The defaults, one step with ``alpha = 1.25 * eps`` from a random start, are the "FGSM
    with random start" of Wong et al. (2020); ``random_start=False, alpha=eps`` is plain
    FGSM training. The random starts draw from the global RNG, which
    :func:`~reglab.train.train` seeds (:func:`~reglab.train.forked_rng`).

    Args:
        model (nn.Module): the model being trained (attacked in eval mode, see above).
        eps (float): radius of the ball, :math:`\ge 0`.
        alpha (float, optional): step size. Default: ``1.25 * eps``.
        steps (int): PGD steps per batch. Default: ``1``.
        **kwargs: passed to :func:`pgd` (``random_start``, ``restarts``, ``loss_fn``, ...).

    Example::

        >>> train(model, train_data, mix=adversarial_mix(model, eps=0.1))

    Reference: E. Wong, L. Rice, J. Z. Kolter, "Fast is better than free: revisiting
    adversarial training", ICLR 2020.
    """
    eps = _check_eps(eps)
    alpha = 1.25 * eps if alpha is None else alpha
    _check_count(steps, "steps")

    def mix(X_b: torch.Tensor, y_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if eps == 0:
            return X_b, y_b
        return pgd(model, X_b, y_b, eps, alpha, steps, **kwargs), y_b

    return mix


def linear_adversarial_loss(
    weight: torch.Tensor,
    bias: torch.Tensor | float,
    input: torch.Tensor,
    target: torch.Tensor,
    eps: float,
    *,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""The worst-case logistic loss of a linear model in an :math:`L_\infty` ball, in
    closed form.

    .. math::
        \max_{\lVert\delta\rVert_\infty \le \epsilon}
        \operatorname{softplus}\bigl(-s\,(w^\top (x + \delta) + b)\bigr)
        = \operatorname{softplus}\bigl(-s\,(w^\top x + b) + \epsilon\lVert w\rVert_1\bigr),
        \qquad s = 2t - 1 \in \{-1, +1\}

    reached at :math:`\delta = -\epsilon\, s\, \operatorname{sign}(w)`, which is the FGSM
    step (without a pixel box). It is ``F.binary_cross_entropy_with_logits`` at the
    margin lowered by :math:`\epsilon\lVert w\rVert_1`: an L1 penalty inside the loss.

    Args:
        weight (Tensor): :math:`(d,)` weights :math:`w`.
        bias (Tensor or float): the bias :math:`b`.
        input (Tensor): :math:`(N, d)` inputs.
        target (Tensor): :math:`(N,)` labels :math:`t \in \{0, 1\}`.
        eps (float): radius :math:`\epsilon \ge 0`.
        reduction (str): ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
        Tensor: the loss (a scalar, or :math:`(N,)` with ``reduction="none"``).
    """
    eps = _check_eps(eps)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    sign = 2 * target.to(input.dtype) - 1  # s in {-1, +1}
    margin = sign * (input @ weight + bias)  # s (w^T x + b)
    # softplus(-m + eps ||w||_1), as -logsigmoid: F.softplus is linear above 20 (2e-9 off)
    loss = -F.logsigmoid(margin - eps * weight.abs().sum())
    if reduction == "none":
        return loss
    return loss.mean() if reduction == "mean" else loss.sum()
