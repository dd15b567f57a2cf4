r"""Layer, group, instance and RMS normalization from scratch, with the signatures of
``torch.nn.functional``, and the mask of which elements share a mean and a variance.

All four standardize a set of values with their own mean and (biased) variance, then apply
a learnable scale and shift; they differ only in *which* values form a set. For an input of
shape :math:`(N, C, H, W)`:

============  ===========================================  ============================
function      one mean and variance per                    statistics over the axes
============  ===========================================  ============================
batch norm    channel                                      :math:`(N, H, W)`
layer norm    sample (``normalized_shape = (C, H, W)``)    :math:`(C, H, W)`
instance      sample and channel                           :math:`(H, W)`
group norm    sample and group of :math:`C/G` channels     :math:`(C/G, H, W)`
============  ===========================================  ============================

RMS norm drops the mean: it divides by the root mean square over ``normalized_shape``.
Half-precision inputs are normalized in float32 and the result is cast back, as PyTorch's
kernels do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from reglab._checks import check_probability
from reglab.nn._arguments import (
    check_eps,
    check_int,
    check_int_sequence,
    check_like_input,
    check_tensors,
)
from reglab.nn.batchnorm import batch_norm

__all__ = ["KINDS", "shared_stats_mask"]

#: The kinds :func:`shared_stats_mask` knows, in Wu & He's order.
KINDS = ("batch", "layer", "instance", "group")


def _opmath(input: torch.Tensor) -> torch.Tensor:
    """float16/bfloat16 are computed in float32 (PyTorch's "opmath" type); others as they are."""
    return input.float() if input.dtype in (torch.float16, torch.bfloat16) else input


def _standardize(x: torch.Tensor, dims: tuple[int, ...], eps: float) -> torch.Tensor:
    mean = x.mean(dim=dims, keepdim=True)  # E[x] over the axes of one statistic
    var = x.var(dim=dims, keepdim=True, correction=0)  # Var[x] = (1/n) sum (x - E[x])^2, biased
    return (x - mean) * torch.rsqrt(var + eps)  # x_hat = (x - E[x]) / sqrt(Var[x] + eps)


def _affine(x_hat, weight, bias, shape):
    if weight is not None:
        x_hat = x_hat * weight.reshape(shape)  # gamma: the learnable scale
    if bias is not None:
        x_hat = x_hat + bias.reshape(shape)  # beta: the learnable shift
    return x_hat


def _check_normalized_shape(fn, input, normalized_shape, weight, bias) -> list[int]:
    check_tensors(fn, input, weight=weight, bias=bias)
    check_like_input(fn, input, weight=weight, bias=bias)
    shape = check_int_sequence(fn, "normalized_shape", normalized_shape)  # 4.7 is no 4
    if not shape:
        raise RuntimeError(
            "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least "
            "one element, but got normalized_shape = []"
        )
    if list(input.shape[input.dim() - len(shape) :]) != shape or input.dim() < len(shape):
        raise RuntimeError(
            f"Given normalized_shape={shape}, expected input with shape "
            f"[*, {', '.join(map(str, shape))}], but got input of size{list(input.shape)}"
        )
    for name, t in [("weight", weight), ("bias", bias)]:
        if t is not None and list(t.shape) != shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {list(t.shape)} and normalized_shape = {shape}"
            )
    return shape


def layer_norm(
    input: torch.Tensor,
    normalized_shape: Sequence[int],
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    eps: float = 1e-5,
) -> torch.Tensor:
    r"""Normalize each sample over its last ``len(normalized_shape)`` dimensions.

    .. math::
        y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \odot \gamma + \beta

    with :math:`\mathrm{E}` and the biased :math:`\mathrm{Var}` taken over the trailing
    dimensions given by ``normalized_shape``, separately for every leading index. The same
    in training and evaluation: no batch statistics, no running buffers.

    Args:
        input (Tensor): :math:`(*, \text{normalized\_shape})`.
        normalized_shape (tuple[int]): the trailing shape to normalize over, e.g. ``(C, H, W)``.
        weight (Tensor, optional): :math:`\gamma`, of shape ``normalized_shape`` (element-wise).
            Default: ``None`` (1).
        bias (Tensor, optional): :math:`\beta`, of shape ``normalized_shape``. Default: ``None``.
        eps (float): added to the variance. Default: ``1e-5``.

    Shape:
        - Input: :math:`(*, \text{normalized\_shape})`; Output: the same shape.

    Example::

        >>> X = torch.randn(4, 3, 5, 5)                         # (N, C, H, W)
        >>> y = layer_norm(X, X.shape[1:])                      # one statistic per sample

    Reference: Ba, Kiros & Hinton, *Layer Normalization*, arXiv:1607.06450, 2016.
    """
    shape = _check_normalized_shape("layer_norm", input, normalized_shape, weight, bias)
    check_eps("layer_norm", eps)
    dims = tuple(range(-len(shape), 0))  # the trailing len(normalized_shape) dimensions
    x_hat = _standardize(_opmath(input), dims, eps)
    return _affine(x_hat, weight, bias, shape).to(input.dtype)


def rms_norm(
    input: torch.Tensor,
    normalized_shape: Sequence[int],
    weight: torch.Tensor | None = None,
    eps: float | None = None,
) -> torch.Tensor:
    r"""Divide each sample by its root mean square over the last dimensions (no centring).

    .. math::
        y = \frac{x}{\sqrt{\frac{1}{n}\sum_{j} x_j^2 + \epsilon}} \odot \gamma

    Args:
        input (Tensor): :math:`(*, \text{normalized\_shape})`.
        normalized_shape (tuple[int]): the trailing shape to normalize over.
        weight (Tensor, optional): :math:`\gamma`, of shape ``normalized_shape``.
            Default: ``None`` (1).
        eps (float, optional): added to the mean square. Default: ``None``, which means
            ``torch.finfo`` of the computation type: float32's for float16/bfloat16 inputs
            (which are computed in float32), the input's own otherwise.

    Shape:
        - Input: :math:`(*, \text{normalized\_shape})`; Output: the same shape.

    Example::

        >>> h = torch.randn(2, 7, 64)                           # (batch, tokens, features)
        >>> y = rms_norm(h, (64,), torch.ones(64))

    Reference: Zhang & Sennrich, *Root Mean Square Layer Normalization*, NeurIPS 2019.
    """
    shape = _check_normalized_shape("rms_norm", input, normalized_shape, weight, None)
    if eps is not None:
        check_eps("rms_norm", eps)
    x = _opmath(input)
    if eps is None:
        eps = torch.finfo(x.dtype).eps
    dims = tuple(range(-len(shape), 0))
    y = x * torch.rsqrt(x.pow(2).mean(dim=dims, keepdim=True) + eps)  # x / RMS(x)
    return _affine(y, weight, None, shape).to(input.dtype)


def _check_channels(fn: str, input: torch.Tensor, weight, bias) -> None:
    check_tensors(fn, input, weight=weight, bias=bias)
    check_like_input(fn, input, weight=weight, bias=bias)
    if input.dim() < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {input.dim()}"
        )
    C = input.shape[1]
    for name, t in [("weight", weight), ("bias", bias)]:
        if t is not None and (t.dim() != 1 or t.numel() != C):
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {list(t.shape)} and input of shape "
                f"{list(input.shape)}"
            )


def group_norm(
    input: torch.Tensor,
    num_groups: int,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    eps: float = 1e-5,
) -> torch.Tensor:
    r"""Normalize each sample over groups of ``C // num_groups`` channels (and all positions).

    .. math::
        y_{n,c} = \frac{x_{n,c} - \mathrm{E}_{n,g(c)}}{\sqrt{\mathrm{V}_{n,g(c)} + \epsilon}}
        \gamma_c + \beta_c

    where :math:`\mathrm{E}_{n,g}`, :math:`\mathrm{V}_{n,g}` are the mean and biased
    variance of sample :math:`n` over the channels of group :math:`g` and all positions.
    ``num_groups=1`` is layer norm over :math:`(C, *)` with a per-channel affine;
    ``num_groups=C`` is instance norm.

    Args:
        input (Tensor): :math:`(N, C, *)`.
        num_groups (int): :math:`G`, which must divide :math:`C`.
        weight (Tensor, optional): :math:`\gamma`, per channel :math:`(C,)`. Default: ``None``.
        bias (Tensor, optional): :math:`\beta`, per channel :math:`(C,)`. Default: ``None``.
        eps (float): added to the variance. Default: ``1e-5``.

    Shape:
        - Input: :math:`(N, C, *)`; Output: the same shape.

    Example::

        >>> X = torch.randn(2, 32, 8, 8)                        # (N, C, H, W)
        >>> y = group_norm(X, 8)                                # 8 groups of 4 channels

    Reference: Wu & He, *Group Normalization*, ECCV 2018.
    """
    _check_channels("group_norm", input, weight, bias)
    num_groups = check_int("group_norm", "num_groups", num_groups)
    check_eps("group_norm", eps)
    N, C = input.shape[:2]
    if num_groups <= 0:
        raise RuntimeError(f"Expected num_groups to be greater than 0, got {num_groups}")
    if C % num_groups != 0:
        raise RuntimeError(
            f"Expected number of channels in input to be divisible by num_groups, but got "
            f"input of shape {list(input.shape)} and num_groups={num_groups}"
        )
    x = _opmath(input).reshape(N, num_groups, -1)  # (N, G, C/G * H * W)
    x_hat = _standardize(x, (2,), eps).reshape(input.shape)  # one statistic per (n, g)
    shape = [1, C] + [1] * (input.dim() - 2)  # broadcasts a (C,) vector over (N, C, *)
    return _affine(x_hat, weight, bias, shape).to(input.dtype)


def instance_norm(
    input: torch.Tensor,
    running_mean: torch.Tensor | None = None,
    running_var: torch.Tensor | None = None,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> torch.Tensor:
    r"""Normalize each channel of each sample over its positions.

    .. math::
        y_{n,c} = \frac{x_{n,c} - \mathrm{E}_{n,c}}{\sqrt{\mathrm{V}_{n,c} + \epsilon}}
        \gamma_c + \beta_c

    With ``use_input_stats`` (the default) the statistics are the sample's own; running
    buffers, when given, are updated in place with the average over the batch of the
    per-sample mean and *unbiased* variance (:math:`L` positions per sample):

    .. math::
        \bar{\mu}_c \leftarrow (1 - m)\,\bar{\mu}_c + m\,\frac{1}{N}\sum_n \mathrm{E}_{n,c},
        \qquad
        \bar{\sigma}^2_c \leftarrow (1 - m)\,\bar{\sigma}^2_c
        + m\,\frac{1}{N}\sum_n \frac{L}{L-1}\mathrm{V}_{n,c}

    With ``use_input_stats=False`` the running buffers normalize instead.

    Args:
        input (Tensor): :math:`(N, C, *)` with more than one position per channel.
        running_mean (Tensor, optional): :math:`(C,)`. Default: ``None``.
        running_var (Tensor, optional): :math:`(C,)`. Default: ``None``.
        weight (Tensor, optional): :math:`\gamma`, :math:`(C,)`. Default: ``None``.
        bias (Tensor, optional): :math:`\beta`, :math:`(C,)`. Default: ``None``.
        use_input_stats (bool): normalize with each sample's statistics. Default: ``True``.
        momentum (float): weight :math:`m` of the newest batch in the buffers. Default: ``0.1``.
        eps (float): added to the variance. Default: ``1e-5``.

    Shape:
        - Input: :math:`(N, C, *)`; Output: the same shape.

    Example::

        >>> X = torch.randn(2, 3, 16, 16)                       # (N, C, H, W)
        >>> y = instance_norm(X)                                # one statistic per (n, c)

    Reference: Ulyanov, Vedaldi & Lempitsky, *Instance Normalization: The Missing Ingredient
    for Fast Stylization*, arXiv:1607.08022, 2016.
    """
    check_tensors("instance_norm", input, running_mean=running_mean, running_var=running_var)
    _check_channels("instance_norm", input, weight, bias)
    check_eps("instance_norm", eps)
    check_probability(momentum, "momentum")
    C = input.shape[1]
    for name, t in [("running_mean", running_mean), ("running_var", running_var)]:
        if t is not None and t.numel() != C:
            raise RuntimeError(f"{name} should contain {C} elements not {t.numel()}")
    dims = tuple(range(2, input.dim()))  # the positions (*)
    shape = [1, C] + [1] * (input.dim() - 2)
    x = _opmath(input)
    if use_input_stats:
        L = math.prod(input.shape[2:])  # positions per sample and channel
        if L <= 1:
            raise ValueError(
                f"Expected more than 1 spatial element when training, got input size {input.size()}"
            )
        mean = x.mean(dim=dims, keepdim=True)  # E_{n,c}: (N, C, 1, ...)
        var = x.var(dim=dims, keepdim=True, correction=0)  # V_{n,c}, biased
        with torch.no_grad():
            if running_mean is not None:
                # mu_bar <- (1 - m) mu_bar + m mean_n E_{n,c}
                batch_mean = mean.detach().reshape(-1, C).mean(0)
                running_mean.mul_(1 - momentum).add_(batch_mean.to(running_mean), alpha=momentum)
            if running_var is not None:
                # sigma2_bar <- (1 - m) sigma2_bar + m mean_n L/(L-1) V_{n,c}   (unbiased)
                batch_var = var.detach().reshape(-1, C).mean(0) * L / (L - 1)
                running_var.mul_(1 - momentum).add_(batch_var.to(running_var), alpha=momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError(
                "Expected running_mean and running_var to be defined when use_input_stats is false"
            )
        mean, var = running_mean.to(x).reshape(shape), running_var.to(x).reshape(shape)
    x_hat = (x - mean) * torch.rsqrt(var + eps)  # (x - E) / sqrt(V + eps)
    return _affine(x_hat, weight, bias, shape).to(input.dtype)


def shared_stats_mask(
    kind: str,
    shape: Sequence[int],
    num_groups: int | None = None,
    *,
    index: Sequence[int] | None = None,
) -> torch.Tensor:
    r"""Which elements of an input share their mean and variance with the element ``index``.

    Computed from the functions themselves, not from a table of axes: the output
    :math:`y_i` of a normalization depends on an input :math:`x_j`, :math:`j \ne i`, only
    through the mean and variance they share, so the set is where
    :math:`\partial y_i / \partial x_j \neq 0` (on a random input, in float64).

    Args:
        kind (str): ``"batch"`` (training mode), ``"layer"`` (over :math:`(C, *)`),
            ``"instance"`` or ``"group"``.
        shape (tuple[int]): the input's shape :math:`(N, C, *)`.
        num_groups (int, optional): :math:`G`, required for ``"group"``.
        index (tuple[int], optional): the reference element. Default: the first one.

    Returns:
        Tensor: a bool tensor of ``shape``, ``True`` where the element is normalized with the
        same statistics as ``input[index]``.

    Example::

        >>> shared_stats_mask("group", (2, 6, 2, 2), num_groups=3).sum()   # 2 channels x 4
        tensor(8)
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if (kind == "group") != (num_groups is not None):
        raise ValueError("num_groups is required for kind='group', and only for it")
    shape = tuple(shape)
    index = tuple(index) if index is not None else (0,) * len(shape)
    g = torch.Generator().manual_seed(0)
    X = torch.randn(shape, generator=g, dtype=torch.float64, requires_grad=True)
    functions = {
        "batch": lambda x: batch_norm(x, None, None, training=True),
        "layer": lambda x: layer_norm(x, shape[1:]),
        "instance": lambda x: instance_norm(x),
        "group": lambda x: group_norm(x, num_groups),
    }
    (grad,) = torch.autograd.grad(functions[kind](X)[index], X)  # d y_index / d x
    mask = grad != 0
    mask[index] = True  # an element always shares its own statistics
    return mask
