r"""Data augmentation for digits: the source notebook's ``torchvision.transforms.v2``
pipeline, and a random affine transform that draws *different* parameters for every image
of a batch.

A ``v2`` transform called on a batch tensor draws one set of random parameters and applies
it to every image. :func:`random_affine` draws one set per image and warps the whole batch
with a single ``grid_sample`` call, on whatever device the batch lives on.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torchvision.transforms import InterpolationMode, v2

from reglab._checks import check_nonnegative_int

__all__ = ["affine", "mnist_augmentation", "random_affine", "sample_affine_params"]


def mnist_augmentation(
    degrees: float = 10.0,
    translate: tuple[float, float] = (0.1, 0.1),
    scale: tuple[float, float] = (0.9, 1.1),
) -> v2.Compose:
    """The source notebook's pipeline: a random affine transform of the PIL image, then a
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
    _check_ranges(degrees, translate, scale, None)
    return v2.Compose(
        [
            v2.RandomAffine(degrees=degrees, translate=translate, scale=scale),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
        ]
    )


def _interpolation_mode(interpolation: InterpolationMode | str) -> str:
    try:
        mode = InterpolationMode(interpolation)
    except ValueError:
        mode = None
    if mode not in (InterpolationMode.NEAREST, InterpolationMode.BILINEAR):
        raise ValueError(f"interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
    return mode.value


def _inverse_affine_matrix(
    angle: float, translate: list[float], scale: float, shear: list[float]
) -> list[float]:
    r"""The 2x3 map from an output pixel to the input pixel it samples, about the image centre
    (torchvision's ``_get_inverse_affine_matrix`` with ``center=None``, in float64).

    The forward map is :math:`M = T\,R(a)\,S(s)\,SH_y(s_y)\,SH_x(s_x)`; its linear part is
    :math:`s\begin{pmatrix}a' & b'\\ c' & d'\end{pmatrix}` with unit determinant before
    scaling, so the inverse is :math:`\frac{1}{s}\begin{pmatrix}d' & -b'\\ -c' & a'
    \end{pmatrix}`, applied after undoing the shift :math:`t`.
    """
    rot, sx, sy = math.radians(angle), math.radians(shear[0]), math.radians(shear[1])
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -(a * math.tan(sx) + math.sin(rot))
    c = math.sin(rot - sy) / math.cos(sy)
    d = math.cos(rot) - c * math.tan(sx)
    m = [d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0]  # (R S SH)^-1
    m[2] += -m[0] * tx - m[1] * ty  # ... then undo the shift: x_in = A^-1 (x_out - t)
    m[5] += -m[3] * tx - m[4] * ty
    return m


def affine(
    X: torch.Tensor,
    angle: torch.Tensor,
    translate: torch.Tensor,
    scale: torch.Tensor,
    shear: torch.Tensor | None = None,
    *,
    interpolation: InterpolationMode | str = InterpolationMode.NEAREST,
    fill: float | Sequence[float] | None = 0,
) -> torch.Tensor:
    r"""Rotate, shift, scale and shear every image of a batch by its own parameters.

    Image :math:`i` gives exactly ``v2.functional.affine(X[i], angle[i], translate[i],
    scale[i], shear[i], interpolation, fill)``: each output pixel :math:`x` samples the
    input at :math:`M_i^{-1} x` about the image centre, where
    :math:`M_i = T(t_i)\,R(\theta_i)\,S(s_i)\,SH(\text{shear}_i)` (counter-clockwise angles
    in degrees, shifts in pixels); pixels that come from outside the image get ``fill``.
    All images are warped by one ``grid_sample`` call.

    Args:
        X (Tensor): :math:`(N, C, H, W)` images, float or integer.
        angle (Tensor): :math:`(N,)` rotation angles in degrees.
        translate (Tensor): :math:`(N, 2)` shifts ``(dx, dy)`` in pixels.
        scale (Tensor): :math:`(N,)` zoom factors, positive.
        shear (Tensor, optional): :math:`(N, 2)` shear angles ``(x, y)`` in degrees.
            Default: ``None`` (no shear).
        interpolation (InterpolationMode or str): ``"nearest"`` or ``"bilinear"``.
            Default: ``InterpolationMode.NEAREST``, as ``v2.RandomAffine``.
        fill (float or sequence, optional): value of the pixels from outside, one number or
            one per channel; ``None`` leaves grid_sample's zeros. Default: ``0``.

    Shape:
        - Output: :math:`(N, C, H, W)`, the dtype of ``X``
    """
    if X.dim() != 4:
        raise ValueError(f"X must be a batch (N, C, H, W), got shape {tuple(X.shape)}")
    N, C, H, W = X.shape
    shear = torch.zeros(N, 2) if shear is None else shear
    for name, value, shape in (("angle", angle, (N,)), ("translate", translate, (N, 2)),
                               ("scale", scale, (N,)), ("shear", shear, (N, 2))):  # fmt: skip
        if tuple(value.shape) != shape:
            raise ValueError(f"{name} must have shape {shape}, got {tuple(value.shape)}")
    if not bool((scale > 0).all()):
        raise ValueError(f"scale must be > 0, got {scale.min().item()}")
    mode = _interpolation_mode(interpolation)
    if isinstance(fill, Sequence) and len(fill) not in (1, C):
        raise ValueError(f"fill must be one number or one per channel ({C}), got {fill!r}")
    if X.numel() == 0:
        return X.clone()
    # one inverse matrix per image, in float64 like torchvision, then in the image's dtype
    params = zip(angle.tolist(), translate.tolist(), scale.tolist(), shear.tolist(), strict=True)
    matrices = [_inverse_affine_matrix(a, t, s, sh) for a, t, s, sh in params]
    dtype = X.dtype if X.is_floating_point() else torch.float32
    theta = torch.tensor(matrices, dtype=dtype, device=X.device).reshape(N, 2, 3)
    # sampling grid in normalized coordinates: pixel centres about the image centre,
    # mapped by theta, then divided by half the size (torchvision's _affine_grid)
    base = torch.empty(1, H, W, 3, dtype=dtype, device=X.device)
    base[..., 0].copy_(torch.linspace((1.0 - W) * 0.5, (W - 1.0) * 0.5, steps=W, device=X.device))
    base[..., 1].copy_(
        torch.linspace((1.0 - H) * 0.5, (H - 1.0) * 0.5, steps=H, device=X.device).unsqueeze_(-1)
    )
    base[..., 2].fill_(1)
    half = torch.tensor([0.5 * W, 0.5 * H], dtype=dtype, device=X.device)
    grid = base.view(1, H * W, 3).expand(N, -1, -1).bmm(theta.transpose(1, 2) / half)
    grid = grid.view(N, H, W, 2)  # (N, H, W, 2)
    img = X if X.dtype == dtype else X.to(dtype)
    if fill is not None:  # an extra channel of ones marks the pixels that came from inside
        img = torch.cat((img, torch.ones(N, 1, H, W, dtype=dtype, device=X.device)), dim=1)
    out = F.grid_sample(img, grid, mode=mode, padding_mode="zeros", align_corners=False)
    if fill is not None:
        out, inside = torch.tensor_split(out, (-1,), dim=-3)
        inside = inside.expand_as(out)
        fill_list = list(fill) if isinstance(fill, Sequence) else [float(fill)]
        fill_img = torch.tensor(fill_list, dtype=dtype, device=X.device).view(1, -1, 1, 1)
        if mode == "nearest":
            out = torch.where(inside < 0.5, fill_img.expand_as(out), out)
        else:  # bilinear: blend towards fill by the fraction from outside
            out = out.sub_(fill_img).mul_(inside).add_(fill_img)
    return out if X.dtype == dtype else out.round_().to(X.dtype)


def _angle_range(value, name: str, sizes: tuple[int, ...]) -> list[float]:
    """A number ``v`` means ``[-v, v]`` (``v >= 0``); else a sequence of ``sizes`` values."""
    if isinstance(value, numbers.Number):
        if not value >= 0:
            raise ValueError(f"{name} must be >= 0 when it is a single number, got {value}")
        return [-float(value), float(value)]
    if not isinstance(value, Sequence) or len(value) not in sizes:
        raise ValueError(f"{name} must be a number or a sequence of {sizes} numbers, got {value}")
    pairs = [value[i : i + 2] for i in range(0, len(value), 2)]
    if not all(lo <= hi for lo, hi in pairs):
        raise ValueError(f"{name} must be (min, max) pairs with min <= max, got {value}")
    return [float(v) for v in value]


def _check_ranges(degrees, translate, scale, shear) -> tuple[list[float], list[float] | None]:
    """Validate ``v2.RandomAffine``'s ranges; return ``degrees`` and ``shear`` as lists."""
    degrees = _angle_range(degrees, "degrees", (2,))
    if translate is not None and (
        len(translate) != 2 or not all(0.0 <= t <= 1.0 for t in translate)
    ):
        raise ValueError(f"translate must be two fractions in [0, 1], got {translate}")
    if scale is not None and (len(scale) != 2 or not 0.0 < scale[0] <= scale[1]):
        raise ValueError(f"scale must be (low, high) with 0 < low <= high, got {scale}")
    return degrees, None if shear is None else _angle_range(shear, "shear", (2, 4))


def sample_affine_params(
    N: int,
    size: tuple[int, int],
    degrees: float | Sequence[float] = 10.0,
    translate: tuple[float, float] | None = (0.1, 0.1),
    scale: tuple[float, float] | None = (0.9, 1.1),
    shear: float | Sequence[float] | None = None,
    *,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    r"""Draw ``N`` independent parameter sets of ``v2.RandomAffine.make_params``.

    For each image, as torchvision draws them, in this order:
    :math:`\theta \sim U[\text{degrees}]`;
    :math:`t_x = \operatorname{round}(U[-a W, a W])`, :math:`t_y = \operatorname{round}(U[-b H,
    b H])` whole pixels (round half to even) for ``translate = (a, b)``;
    :math:`s \sim U[\text{scale}]`; shear :math:`\sim U[\text{shear}]` along :math:`x` (and
    :math:`y` when ``shear`` has four values).

    Args:
        N (int): number of images.
        size (tuple): ``(H, W)`` of the images.
        degrees, translate, scale, shear: as ``v2.RandomAffine``; a number ``v`` means
            ``[-v, v]``; ``None`` turns the shift, zoom or shear off.
        generator (torch.Generator, optional): CPU generator; default the global RNG, drawn
            from in the same order as ``v2.RandomAffine`` (so for ``N = 1`` the same draws).

    Returns:
        dict: ``angle`` :math:`(N,)`, ``translate`` :math:`(N, 2)`, ``scale`` :math:`(N,)`,
        ``shear`` :math:`(N, 2)`, on the CPU, ready for :func:`affine`.
    """
    check_nonnegative_int(N, "N")
    degrees, shear = _check_ranges(degrees, translate, scale, shear)
    H, W = size

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.empty(N).uniform_(low, high, generator=generator)  # (N,) float32

    angle = uniform(degrees[0], degrees[1]).double()
    shift = torch.zeros(N, 2, dtype=torch.float64)
    if translate is not None:
        max_dx, max_dy = float(translate[0] * W), float(translate[1] * H)
        shift[:, 0] = torch.round(uniform(-max_dx, max_dx).double())  # whole pixels
        shift[:, 1] = torch.round(uniform(-max_dy, max_dy).double())
    zoom = torch.ones(N, dtype=torch.float64) if scale is None else uniform(*scale).double()
    shear_xy = torch.zeros(N, 2, dtype=torch.float64)
    if shear is not None:
        shear_xy[:, 0] = uniform(shear[0], shear[1]).double()
        if len(shear) == 4:
            shear_xy[:, 1] = uniform(shear[2], shear[3]).double()
    return {"angle": angle, "translate": shift, "scale": zoom, "shear": shear_xy}


def random_affine(
    X: torch.Tensor,
    degrees: float | Sequence[float] = 10.0,
    translate: tuple[float, float] | None = (0.1, 0.1),
    scale: tuple[float, float] | None = (0.9, 1.1),
    shear: float | Sequence[float] | None = None,
    *,
    interpolation: InterpolationMode | str = InterpolationMode.NEAREST,
    fill: float | Sequence[float] | None = 0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""``v2.RandomAffine`` applied to every image of a batch with its own parameters.

    Image :math:`i` of the result is ``v2.functional.affine(X[i], **params_i,
    interpolation=interpolation, fill=fill)`` with ``params_i`` drawn as
    ``v2.RandomAffine(degrees, translate, scale, shear).make_params`` draws them
    (:func:`sample_affine_params`); the warp is :func:`affine`. (``v2.RandomAffine`` called
    on a batch draws *one* set of parameters for all images.)

    Args:
        X (Tensor): :math:`(N, C, H, W)` batch, on any device.
        degrees (float or sequence): rotation range; ``v`` means ``[-v, v]``. Default: ``10``.
        translate (tuple, optional): maximal shift as fractions of width and height.
            Default: ``(0.1, 0.1)``.
        scale (tuple, optional): zoom range ``(low, high)``. Default: ``(0.9, 1.1)``.
        shear (float or sequence, optional): shear range in degrees. Default: ``None``.
        interpolation (InterpolationMode or str): ``"nearest"`` or ``"bilinear"``.
            Default: ``InterpolationMode.NEAREST``, as ``v2.RandomAffine``.
        fill (float or sequence, optional): value outside the image. Default: ``0``.
        generator (torch.Generator, optional): a CPU generator for the parameters.
            Default: the global RNG.

    Shape:
        - X: :math:`(N, C, H, W)`
        - Output: :math:`(N, C, H, W)`

    Example::

        >>> X_b = random_affine(X_b, generator=torch.Generator().manual_seed(0))
    """
    if X.dim() != 4:
        raise ValueError(f"X must be a batch (N, C, H, W), got shape {tuple(X.shape)}")
    _interpolation_mode(interpolation)  # fail before drawing
    params = sample_affine_params(
        X.shape[0], tuple(X.shape[-2:]), degrees, translate, scale, shear, generator=generator
    )
    return affine(X, **params, interpolation=interpolation, fill=fill)
