r"""Batch normalization from scratch, with the signature and buffer semantics of
``torch.nn.functional.batch_norm``, and a tracer for the running statistics.

The subtle part: the *normalization* in training mode uses the biased batch variance
(divide by :math:`n`), while the running average stored in ``running_var`` is updated with
the *unbiased* one (divide by :math:`n - 1`), :math:`n = N \times H \times W` values per
channel. Import :func:`batch_norm` from :mod:`reglab.functional`, its one public path.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

# batch_norm is public as reglab.functional.batch_norm (one path)
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
        momentum (float): weight :math:`m` of the newest batch in the running averages.
            Default: ``0.1`` (Keras/Flax call ``1 - m`` the momentum).
        eps (float): added to the variance for numerical stability. Default: ``1e-5``.

    Shape:
        - Input: :math:`(N, C, *)`
        - Output: :math:`(N, C, *)`, same shape

    Raises:
        ValueError: a training batch has a single value per channel (its variance is
            undefined), or the input has fewer than 2 dimensions.
        RuntimeError: a buffer or affine parameter does not have ``C`` elements, or
            ``running_mean``/``running_var`` is missing in evaluation mode.

    Reference: Ioffe & Szegedy, *Batch Normalization: Accelerating Deep Network Training by
    Reducing Internal Covariate Shift*, ICML 2015.
    """
    if input.dim() < 2:
        raise ValueError(
            f"batch_norm expects an input of shape (N, C, *) with at least 2 dimensions; "
            f"got shape {tuple(input.shape)}"
        )
    C = input.shape[1]
    for name, t in [("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)]:  # fmt: skip
        if t is not None and t.numel() != C:
            raise RuntimeError(f"{name} should contain {C} elements not {t.numel()}")
    dims = [0, *range(2, input.dim())]  # every dimension except the channels
    shape = [1, C] + [1] * (input.dim() - 2)  # broadcasts a (C,) vector over (N, C, *)

    if training:
        n = input.numel() // C  # values per channel: N x H x W
        if n <= 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size "
                f"{input.size()}"
            )
        mean = input.mean(dim=dims)  # E[x] over (N, H, W)
        var = input.var(dim=dims, correction=0)  # biased: (1/n) sum (x - E[x])^2
        with torch.no_grad():
            if running_mean is not None:
                # mu_bar <- (1 - m) mu_bar + m E[x]
                running_mean.mul_(1 - momentum).add_(mean.detach(), alpha=momentum)
            if running_var is not None:
                # sigma2_bar <- (1 - m) sigma2_bar + m n/(n-1) Var[x]   (unbiased!)
                running_var.mul_(1 - momentum).add_(var.detach() * n / (n - 1), alpha=momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
        mean, var = running_mean, running_var

    x_hat = (input - mean.view(shape)) / torch.sqrt(var.view(shape) + eps)  # zero mean, unit var
    if weight is not None:
        x_hat = x_hat * weight.view(shape)  # gamma: the learnable scale
    if bias is not None:
        x_hat = x_hat + bias.view(shape)  # beta: the learnable shift
    return x_hat


@dataclass(frozen=True)
class RunningStats:
    """Buffers of a batch-norm module after each step: index ``k`` is after ``k + 1`` batches."""

    running_mean: torch.Tensor  # (steps, C)
    running_var: torch.Tensor  # (steps, C)
    batch_mean: torch.Tensor  # (steps, C), the mean of each batch
    batch_var: torch.Tensor  # (steps, C), the unbiased variance of each batch


@torch.no_grad()
def trace_running_stats(module: nn.modules.batchnorm._BatchNorm, batches) -> RunningStats:
    """Feed ``batches`` through ``module`` (in its current mode) and record its buffers.

    Args:
        module: an ``nn.BatchNorm1d/2d/3d`` (or any module with the same buffers).
        batches: an iterable of input tensors :math:`(N, C, *)`.
    """
    rows: dict[str, list[torch.Tensor]] = {k: [] for k in RunningStats.__dataclass_fields__}
    for X in batches:
        dims = [0, *range(2, X.dim())]
        module(X)
        rows["running_mean"].append(module.running_mean.detach().clone())
        rows["running_var"].append(module.running_var.detach().clone())
        rows["batch_mean"].append(X.mean(dim=dims))
        rows["batch_var"].append(X.var(dim=dims, correction=1))
    if not rows["running_mean"]:
        raise ValueError("batches is empty")
    return RunningStats(**{k: torch.stack(v) for k, v in rows.items()})
