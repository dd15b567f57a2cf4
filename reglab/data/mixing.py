r"""Mixup and CutMix, from scratch, drawing exactly what ``torchvision.transforms.v2`` draws.

Both train on *pairs* of samples. Mixup (Zhang et al., 2018) blends two whole images and
their labels with the same weight :math:`\lambda \sim \mathrm{Beta}(\alpha, \alpha)`;
CutMix (Yun et al., 2019) pastes a rectangle of one image into the other and mixes the
labels by the area that each image keeps.

Like ``v2.MixUp`` and ``v2.CutMix``, each sample is paired with its predecessor in the
batch, ``input.roll(1, 0)`` (sample 0 with the last one), so the batch must already be
shuffled. The random numbers are drawn in torchvision's order (:math:`\lambda`, then the
box centre) from ``generator``, or from the global RNG when it is ``None``: after
``torch.manual_seed(s)``, ``v2.MixUp(...)(X, y)`` and ``mixup(X, y, ...,
generator=torch.Generator().manual_seed(s))`` return identical tensors.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from reglab._checks import check_positive, check_positive_int, check_probability

__all__ = ["cutmix", "cutmix_box", "mixup", "mixup_or_cutmix", "sample_lambda"]


def _check_alpha(alpha: float, name: str = "alpha") -> None:
    check_positive(alpha, name)  # a Beta(alpha, alpha) parameter


def _check_batch(input: torch.Tensor, target: torch.Tensor, num_classes: int | None, dims: str):
    min_dim = 2 if dims == "(N, *)" else 3
    if input.dim() < min_dim:
        raise ValueError(f"input must be a batch of shape {dims}, got {tuple(input.shape)}")
    if target.dim() not in (1, 2):
        raise ValueError(
            "target must be class indices (N,) or probabilities (N, num_classes), "
            f"got shape {tuple(target.shape)}"
        )
    if input.shape[0] != target.shape[0]:
        raise ValueError(
            f"input and target differ in batch size: {input.shape[0]} != {target.shape[0]}"
        )
    if target.dim() == 1:
        if num_classes is None:
            raise ValueError("num_classes must be given when target holds class indices")
        if target.dtype.is_floating_point or target.dtype == torch.bool:
            raise ValueError(f"class-index target must be an integer tensor, got {target.dtype}")
        if len(target) and (target.min() < 0 or target.max() >= num_classes):
            raise ValueError(
                f"target holds classes outside [0, num_classes={num_classes}): "
                f"min {int(target.min())}, max {int(target.max())}"
            )
    elif num_classes is not None and target.shape[1] != num_classes:
        raise ValueError(
            f"probability target has {target.shape[1]} columns but num_classes={num_classes}"
        )


def sample_lambda(alpha: float, *, generator: torch.Generator | None = None) -> float:
    r"""Draw :math:`\lambda \sim \mathrm{Beta}(\alpha, \alpha)` as ``torch.distributions.Beta``
    does: the first coordinate of a Dirichlet(:math:`\alpha, \alpha`) sample, i.e.
    :math:`G_1 / (G_1 + G_2)` with independent :math:`G_i \sim \mathrm{Gamma}(\alpha)`,
    in float32.

    Example::

        >>> sample_lambda(0.2, generator=torch.Generator().manual_seed(0))
    """
    _check_alpha(alpha)
    concentration = torch.tensor([[alpha, alpha]])  # float32, as Beta(tensor([a]), tensor([a]))
    return float(torch._sample_dirichlet(concentration, generator=generator)[0, 0])


def _mix_target(target: torch.Tensor, num_classes: int | None, lam: float) -> torch.Tensor:
    if target.dim() == 1:
        target = F.one_hot(target, num_classes=num_classes)  # (N, K)
    if not target.dtype.is_floating_point:
        target = target.float()
    return target.roll(1, 0) * (1.0 - lam) + target * lam  # lam t_n + (1-lam) t_{n-1}


def mixup(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    alpha: float = 1.0,
    num_classes: int | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mixup: blend each sample with its predecessor in the batch.

    .. math::
        \tilde x_n = \lambda x_n + (1-\lambda)\, x_{n-1}, \qquad
        \tilde t_n = \lambda\, t_n + (1-\lambda)\, t_{n-1}, \qquad
        \lambda \sim \mathrm{Beta}(\alpha, \alpha),

    one :math:`\lambda` per batch, indices modulo :math:`N`, :math:`t_n` the one-hot label.

    Args:
        input (Tensor): a (shuffled) batch.
        target (Tensor): class indices or class probabilities.
        alpha (float): Beta parameter, > 0; small values keep most pairs close to one of
            the two images. Default: ``1.0`` (torchvision's).
        num_classes (int, optional): needed for class-index targets.
        generator (torch.Generator, optional): source of :math:`\lambda`; default the
            global RNG.

    Returns:
        (mixed input, mixed target): the target as float probabilities :math:`(N, K)`.

    Shape:
        - input: :math:`(N, *)`; target: :math:`(N,)` or :math:`(N, K)`

    Example::

        >>> X_mix, y_soft = mixup(X_b, y_b, alpha=0.2, num_classes=10, generator=g)
        >>> loss = F.cross_entropy(model(X_mix), y_soft)

    Reference: Zhang, Cisse, Dauphin and Lopez-Paz, *mixup: Beyond Empirical Risk
    Minimization*, ICLR 2018 (https://arxiv.org/abs/1710.09412).
    """
    _check_alpha(alpha)
    _check_batch(input, target, num_classes, "(N, *)")
    lam = sample_lambda(alpha, generator=generator)
    mixed = input.roll(1, 0) * (1.0 - lam) + input * lam  # lam x_n + (1-lam) x_{n-1}
    return mixed, _mix_target(target, num_classes, lam)


def cutmix_box(
    height: int, width: int, lam: float, *, generator: torch.Generator | None = None
) -> tuple[tuple[int, int, int, int], float]:
    r"""The pasted rectangle of CutMix and the label weight it leaves, as ``v2.CutMix``.

    A centre :math:`(r_x, r_y)` is drawn uniformly over the pixels; the box has half-sides
    :math:`\lfloor \tfrac12\sqrt{1-\lambda}\, W \rfloor` and
    :math:`\lfloor \tfrac12\sqrt{1-\lambda}\, H \rfloor` (area :math:`\approx (1-\lambda) HW`)
    and is clipped at the image border. Clipping shrinks the box, so the weight of the
    original image is corrected to the area it really keeps:

    .. math::
        \lambda' = 1 - \frac{(x_2 - x_1)(y_2 - y_1)}{W H}.

    Returns:
        ((x1, y1, x2, y2), lam_adjusted): the box covers rows ``y1:y2``, columns ``x1:x2``.
    """
    check_positive_int(height, "height")
    check_positive_int(width, "width")
    check_probability(lam, "lam")
    r_x = int(torch.randint(width, size=(1,), generator=generator))  # centre column
    r_y = int(torch.randint(height, size=(1,), generator=generator))  # centre row
    r = 0.5 * math.sqrt(1.0 - lam)
    r_w_half, r_h_half = int(r * width), int(r * height)
    x1, y1 = max(r_x - r_w_half, 0), max(r_y - r_h_half, 0)  # clip at the border
    x2, y2 = min(r_x + r_w_half, width), min(r_y + r_h_half, height)
    lam_adjusted = float(1.0 - (x2 - x1) * (y2 - y1) / (width * height))  # lam' = 1 - area/HW
    return (x1, y1, x2, y2), lam_adjusted


def cutmix(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    alpha: float = 1.0,
    num_classes: int | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""CutMix: paste a rectangle of each sample's predecessor into it.

    .. math::
        \tilde x_n = M \odot x_n + (1 - M) \odot x_{n-1}, \qquad
        \tilde t_n = \lambda' t_n + (1-\lambda')\, t_{n-1},

    with :math:`M` zero inside the box of :func:`cutmix_box` (one box per batch, drawn
    after :math:`\lambda \sim \mathrm{Beta}(\alpha, \alpha)`) and :math:`\lambda'` the area
    fraction that :math:`x_n` keeps.

    Args:
        input (Tensor): a (shuffled) batch of images.
        target (Tensor): class indices or class probabilities.
        alpha (float): Beta parameter, > 0. Default: ``1.0``.
        num_classes (int, optional): needed for class-index targets.
        generator (torch.Generator, optional): source of :math:`\lambda` and of the box;
            default the global RNG.

    Returns:
        (mixed input, mixed target): the target as float probabilities :math:`(N, K)`.

    Shape:
        - input: :math:`(N, *, H, W)`; target: :math:`(N,)` or :math:`(N, K)`

    Reference: Yun, Han, Oh, Chun, Choe and Yoo, *CutMix: Regularization Strategy to Train
    Strong Classifiers with Localizable Features*, ICCV 2019 (https://arxiv.org/abs/1905.04899).
    """
    _check_alpha(alpha)
    _check_batch(input, target, num_classes, "(N, *, H, W)")
    lam = sample_lambda(alpha, generator=generator)
    H, W = input.shape[-2:]
    (x1, y1, x2, y2), lam_adjusted = cutmix_box(H, W, lam, generator=generator)
    mixed = input.clone()
    mixed[..., y1:y2, x1:x2] = input.roll(1, 0)[..., y1:y2, x1:x2]  # paste x_{n-1}'s box
    return mixed, _mix_target(target, num_classes, lam_adjusted)


def mixup_or_cutmix(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    num_classes: int | None = None,
    mixup_alpha: float = 1.0,
    cutmix_alpha: float = 1.0,
    p: float = 0.5,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mixup with probability ``p``, else CutMix, one choice per batch, as
    ``v2.RandomChoice([v2.MixUp(alpha=mixup_alpha), v2.CutMix(alpha=cutmix_alpha)],
    p=[p, 1 - p])`` (torchvision's reference recipes). The choice is drawn from
    ``generator`` first, then the chosen method draws its own numbers from it.

    Args:
        input (Tensor): a (shuffled) batch of images :math:`(N, *, H, W)`.
        target (Tensor): class indices :math:`(N,)` or probabilities :math:`(N, K)`.
        num_classes (int, optional): needed for class-index targets.
        mixup_alpha (float): Beta parameter of :func:`mixup`, > 0. Default: ``1.0``.
        cutmix_alpha (float): Beta parameter of :func:`cutmix`, > 0. Default: ``1.0``.
        p (float): probability of mixup, in [0, 1]. Default: ``0.5``.
        generator (torch.Generator, optional): source of every draw; default the global RNG.

    Returns:
        (mixed input, mixed target), as :func:`mixup` and :func:`cutmix` return them.
    """
    check_probability(p)
    _check_alpha(mixup_alpha, "mixup_alpha")
    _check_alpha(cutmix_alpha, "cutmix_alpha")
    _check_batch(input, target, num_classes, "(N, *, H, W)")  # before any random draw
    weights = [p, 1 - p]
    total = sum(weights)
    probs = torch.tensor([w / total for w in weights])  # RandomChoice normalises its p
    choice = int(torch.multinomial(probs, 1, generator=generator))
    if choice == 0:
        return mixup(input, target, alpha=mixup_alpha, num_classes=num_classes, generator=generator)
    return cutmix(input, target, alpha=cutmix_alpha, num_classes=num_classes, generator=generator)
