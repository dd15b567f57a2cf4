r"""Data augmentation for digits: the seed's ``torchvision.transforms.v2`` pipeline, and a
random affine transform that draws *different* parameters for every image of a batch.

A ``v2`` transform called on a batch tensor draws one set of random parameters and applies
it to every image. :func:`random_affine` draws one set per image and warps the whole batch
with a single ``grid_sample`` call, on whatever device the batch lives on.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision.transforms import v2

__all__ = ["affine", "mnist_augmentation", "random_affine"]


def _check_ranges(degrees: float, translate: tuple[float, float], scale: tuple[float, float]):
    if not degrees >= 0:
        raise ValueError(f"degrees must be >= 0, got {degrees}")
    if len(translate) != 2 or not all(0.0 <= t <= 1.0 for t in translate):
        raise ValueError(f"translate must be two fractions in [0, 1], got {translate}")
    if len(scale) != 2 or not 0.0 < scale[0] <= scale[1]:
        raise ValueError(f"scale must be (low, high) with 0 < low <= high, got {scale}")


def mnist_augmentation(
    degrees: float = 10.0,
    translate: tuple[float, float] = (0.1, 0.1),
    scale: tuple[float, float] = (0.9, 1.1),
) -> v2.Compose:
    """The seed notebook's pipeline: a random affine transform of the PIL image, then a
    float tensor in [0, 1].

    ``v2.ToImage() + v2.ToDtype(torch.float32, scale=True)`` replaces the deprecated
    ``ToTensor()``, which did both at once and guessed the scaling from the dtype.

    Args:
        degrees (float): rotation drawn uniformly from ``[-degrees, degrees]``. Default: ``10``.
        translate (tuple): maximal shift as fractions of width and height. Default: ``(0.1, 0.1)``.
        scale (tuple): zoom factor drawn uniformly from ``[low, high]``. Default: ``(0.9, 1.1)``.

    Example::

        >>> train_set = load_mnist(train=True, transform=mnist_augmentation())
        >>> X, y = train_set[0]        # a (1, 28, 28) float tensor, a new draw every time
    """
    _check_ranges(degrees, translate, scale)
    return v2.Compose(
        [
            v2.RandomAffine(degrees=degrees, translate=translate, scale=scale),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
        ]
    )


def affine(
    X: torch.Tensor, angle: torch.Tensor, translate: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    r"""Rotate, shift and scale every image of a batch by its own parameters.

    Each image is mapped by :math:`x \mapsto s R_\theta x + t` about its centre, as
    ``torchvision.transforms.v2.functional.affine`` does (counter-clockwise angles in
    degrees, shifts in pixels), with bilinear interpolation and zeros outside.

    Args:
        X (Tensor): :math:`(N, C, H, W)` images.
        angle (Tensor): :math:`(N,)` rotation angles in degrees.
        translate (Tensor): :math:`(N, 2)` shifts ``(dx, dy)`` in pixels.
        scale (Tensor): :math:`(N,)` zoom factors.

    Shape:
        - Output: :math:`(N, C, H, W)`
    """
    _, _, H, W = X.shape
    a = -torch.deg2rad(angle.to(X.dtype))  # image rows grow downwards: counter-clockwise = -a
    s = scale.to(X.dtype)
    t = translate.to(X.dtype)
    cos, sin = torch.cos(a) / s, torch.sin(a) / s
    # affine_grid maps each *output* position to the input position it samples, in
    # normalized coordinates [-1, 1]: the inverse map x_in = R^-1 (x_out - t) / s
    theta = torch.stack(
        [
            torch.stack([cos, -sin * H / W, -(cos * t[:, 0] - sin * t[:, 1]) * 2 / W], 1),
            torch.stack([sin * W / H, cos, -(sin * t[:, 0] + cos * t[:, 1]) * 2 / H], 1),
        ],
        dim=1,
    )  # (N, 2, 3)
    grid = F.affine_grid(theta, list(X.shape), align_corners=False)  # (N, H, W, 2)
    return F.grid_sample(X, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_affine(
    X: torch.Tensor,
    degrees: float = 10.0,
    translate: tuple[float, float] = (0.1, 0.1),
    scale: tuple[float, float] = (0.9, 1.1),
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""``v2.RandomAffine`` for a whole batch, with independent parameters per image.

    For every image :math:`i`: :math:`\theta_i \sim U[-\text{degrees}, \text{degrees}]`,
    shifts :math:`\sim U[-\text{translate}\cdot W, \text{translate}\cdot W]` (and
    :math:`H`), :math:`s_i \sim U[\text{low}, \text{high}]`; then :func:`affine`.

    Args:
        X (Tensor): :math:`(N, C, H, W)` batch, on any device.
        degrees, translate, scale: as in :func:`mnist_augmentation`.
        generator (torch.Generator, optional): a CPU generator for the parameters.

    Example::

        >>> X_b = random_affine(X_b, generator=torch.Generator().manual_seed(0))
    """
    _check_ranges(degrees, translate, scale)
    if X.dim() != 4:
        raise ValueError(f"X must be a batch (N, C, H, W), got shape {tuple(X.shape)}")
    N, _, H, W = X.shape
    u = torch.rand(N, 4, generator=generator).to(X.device)  # 4 uniform draws per image
    angle = (2 * u[:, 0] - 1) * degrees
    shift = torch.stack(
        [(2 * u[:, 1] - 1) * translate[0] * W, (2 * u[:, 2] - 1) * translate[1] * H], 1
    )
    zoom = scale[0] + (scale[1] - scale[0]) * u[:, 3]
    return affine(X, angle, shift, zoom)
