r"""Batch normalization from scratch, with the signature and buffer semantics of
``torch.nn.functional.batch_norm``, and a tracer for the running statistics.

The subtle part: the *normalization* in training mode uses the biased batch variance
(divide by :math:`n`), while the running average stored in ``running_var`` is updated with
the *unbiased* one (divide by :math:`n - 1`), :math:`n = N \times H \times W` values per
channel. Import :func:`~reglab.nn.functional.batch_norm` from :mod:`reglab.nn.functional`, its one
public path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from reglab._checks import check_probability
from reglab.nn._arguments import check_like_input, check_tensors

# batch_norm is public as reglab.nn.functional.batch_norm (one path)
__all__ = ["RunningStats", "trace_running_stats"]


def batch_norm(
    input: torch.Tensor,
    running_mean: torch.Tensor | None,
    running_var: torch.Tensor | None,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> torch.Tensor:
    r"""Normalize each channel over the batch (and spatial) dimensions.

    .. math::
        y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

    In training mode :math:`\mathrm{E}` and :math:`\mathrm{Var}` are the batch's per-channel
    mean and *biased* variance, and the running buffers (when given) are updated in place:

    .. math::
        \bar{\mu} \leftarrow (1 - m)\,\bar{\mu} + m\,\mathrm{E}[x], \qquad
        \bar{\sigma}^2 \leftarrow (1 - m)\,\bar{\sigma}^2 + m\,\frac{n}{n - 1}\mathrm{Var}[x]

    In evaluation mode the running buffers are used instead of the batch statistics.
    ``nn.BatchNorm*`` with ``momentum=None`` (a cumulative average) passes
    ``momentum = 1 / num_batches_tracked`` here; do the same.

    Args:
        input (Tensor): :math:`(N, C)`, :math:`(N, C, L)` or :math:`(N, C, H, W)`.
        running_mean (Tensor, optional): :math:`(C,)`, updated in place when training.
        running_var (Tensor, optional): :math:`(C,)`, updated in place when training.
        weight (Tensor, optional): :math:`\gamma`, the per-channel scale. Default: ``None`` (1).
        bias (Tensor, optional): :math:`\beta`, the per-channel shift. Default: ``None`` (0).
        training (bool): use batch statistics and update the buffers. Default: ``False``.
        momentum (float): weight :math:`m \in [0, 1]` of the newest batch in the running
            averages. Default: ``0.1`` (Keras/Flax call ``1 - m`` the momentum).
        eps (float): added to the variance for numerical stability; ``> 0`` when training.
            Default: ``1e-5``.

    Shape:
        - Input: :math:`(N, C, *)`
        - Output: :math:`(N, C, *)`, same shape

    Float16 and bfloat16 inputs are normalized in float32 and the result is cast back, as
    torch does; the output always has the input's dtype. An empty input (``N = 0`` or
    ``C = 0``) gives an empty output and leaves the buffers unchanged.

    Raises:
        TypeError: ``input`` is not a floating-point tensor, or another tensor argument is
            neither ``None`` nor a floating-point tensor (a ``float`` weight, an ``int``
            tensor).
        ValueError: a training batch has a single value per channel (its variance is
            undefined), the input has fewer than 2 dimensions, ``momentum`` is outside
            :math:`[0, 1]`, or ``eps`` is not positive when training (negative otherwise).
        RuntimeError: a buffer or affine parameter does not have ``C`` elements, or
            ``running_mean``/``running_var`` is missing in evaluation mode.

    Reference: Ioffe & Szegedy, *Batch Normalization: Accelerating Deep Network Training by
    Reducing Internal Covariate Shift*, ICML 2015.
    """
    check_tensors("batch_norm", input, running_mean=running_mean, running_var=running_var,
                  weight=weight, bias=bias)  # fmt: skip
    check_like_input("batch_norm", input, weight=weight, bias=bias)
    if input.dim() < 2:
        raise ValueError(
            f"batch_norm expects an input of shape (N, C, *) with at least 2 dimensions; "
            f"got shape {tuple(input.shape)}"
        )
    check_probability(momentum, "momentum")
    if training and not eps > 0:  # also rejects NaN
        raise ValueError(f"batch_norm eps must be > 0 when training, got {eps}")
    if not eps >= 0:
        raise ValueError(f"batch_norm eps must be >= 0, got {eps}")
    C = input.shape[1]
    for name, t in [("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)]:  # fmt: skip
        if t is not None and t.numel() != C:
            raise RuntimeError(f"{name} should contain {C} elements not {t.numel()}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    # Statistics and arithmetic in float32 for float16/bfloat16 inputs, as torch does
    # (n/(n-1) Var[x] overflows float16 beyond ~164 values per channel); the output keeps
    # the input's dtype whatever the buffers' dtype.
    opmath = torch.promote_types(input.dtype, torch.float32)
    x = input.to(opmath)
    dims = [0, *range(2, input.dim())]  # every dimension except the channels
    shape = [1, C] + [1] * (input.dim() - 2)  # broadcasts a (C,) vector over (N, C, *)

    if input.numel() == 0:  # C = 0 or N = 0: an empty output, buffers untouched (as torch)
        mean, var = x.new_zeros(C), x.new_ones(C)
    elif training:
        n = input.shape[0] * math.prod(input.shape[2:])  # values per channel: N x H x W
        if n == 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size "
                f"{input.size()}"
            )
        mean = x.mean(dim=dims)  # E[x] over (N, H, W)
        var = x.var(dim=dims, correction=0)  # biased: (1/n) sum (x - E[x])^2
        with torch.no_grad():
            if running_mean is not None:
                # mu_bar <- m E[x] + (1 - m) mu_bar
                running_mean.copy_(momentum * mean + (1 - momentum) * running_mean.to(opmath))
            if running_var is not None:
                # sigma2_bar <- m n/(n-1) Var[x] + (1 - m) sigma2_bar   (unbiased!)
                unbiased = var * n / (n - 1)
                running_var.copy_(momentum * unbiased + (1 - momentum) * running_var.to(opmath))
    else:
        mean, var = running_mean.to(opmath), running_var.to(opmath)

    x_hat = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + eps)  # zero mean, unit var
    if weight is not None:
        x_hat = x_hat * weight.to(opmath).view(shape)  # gamma: the learnable scale
    if bias is not None:
        x_hat = x_hat + bias.to(opmath).view(shape)  # beta: the learnable shift
    return x_hat.to(input.dtype)


@dataclass(frozen=True)
class RunningStats:
    """Buffers of a batch-norm module after each step: index ``k`` is after ``k + 1`` batches."""

    running_mean: torch.Tensor  # (steps, C)
    running_var: torch.Tensor  # (steps, C)
    batch_mean: torch.Tensor  # (steps, C), the mean of each batch
    batch_var: torch.Tensor  # (steps, C), the unbiased variance of each batch


def trace_running_stats(module: nn.modules.batchnorm._BatchNorm, batches) -> RunningStats:
    """Feed ``batches`` through ``module`` (in its current mode) and record its buffers.

    Args:
        module: an ``nn.BatchNorm1d/2d/3d`` (or any module with the same buffers).
        batches: an iterable of input tensors :math:`(N, C, *)`.

    Raises:
        ValueError: ``module`` keeps no running statistics (``track_running_stats=False``,
            or not a batch-norm module), or ``batches`` is empty.
    """
    if (
        getattr(module, "running_mean", None) is None
        or getattr(module, "running_var", None) is None
    ):
        raise ValueError(
            f"{type(module).__name__} has no running statistics to trace "
            f"(a batch-norm module with track_running_stats=True has them)"
        )
    rows: dict[str, list[torch.Tensor]] = {k: [] for k in RunningStats.__dataclass_fields__}
    with torch.no_grad():
        for X in batches:
            dims = [0, *range(2, X.dim())]  # all but the channels
            module(X)
            rows["running_mean"].append(module.running_mean.clone())
            rows["running_var"].append(module.running_var.clone())
            rows["batch_mean"].append(X.mean(dim=dims))
            rows["batch_var"].append(X.var(dim=dims, correction=1))  # unbiased, as stored
    if not rows["running_mean"]:
        raise ValueError("batches is empty")
    return RunningStats(**{k: torch.stack(v) for k, v in rows.items()})
