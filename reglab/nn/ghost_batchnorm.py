r"""Ghost batch normalization: batch norm's statistics over slices of the batch.

In training mode a batch-norm layer normalizes with the mean and variance of its batch,
and those statistics scatter from batch to batch: noise that the original paper credits
with a regularizing effect. *Ghost* batch normalization (Hoffer et al., 2017) computes the
statistics over disjoint slices of ``ghost_size`` samples of each batch,

.. math::
    y_{i} = \gamma\,\frac{x_{i} - \mathrm{E}_{k(i)}}{\sqrt{\mathrm{V}_{k(i)} + \epsilon}}
        + \beta, \qquad k(i) = \lfloor i / \text{ghost\_size} \rfloor ,

so the noise of the statistics is set by ``ghost_size`` while the batch of the gradient
step, the learning rate, the data, the batch order and the initial weights all stay the
same. :func:`ghost_batch_norm` swaps the batch-norm layers of a model for
:class:`GhostBatchNorm2d`; with ``ghost_size`` equal to the batch size it is plain batch
norm.

Reference: Hoffer, Hubara and Soudry, *Train longer, generalize better: closing the
generalization gap in large batch training of neural networks*, NeurIPS 2017.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from reglab._checks import check_positive_int, check_probability

__all__ = ["GhostBatchNorm2d", "ghost_batch_norm"]


class GhostBatchNorm2d(nn.BatchNorm2d):
    r"""``nn.BatchNorm2d`` that, in training mode, normalizes each slice of ``ghost_size``
    samples of the batch with that slice's own statistics.

    Every slice updates the running buffers in turn, as a batch of its own would
    (momentum applied once per slice). In evaluation mode it is ``nn.BatchNorm2d``.

    Args:
        num_features (int): channels :math:`C`.
        ghost_size (int): samples per slice, ``>= 2``; the last slice of a batch may be
            smaller but must hold at least 2.
        **kwargs: the other arguments of ``nn.BatchNorm2d`` (``eps``, ``momentum``, ...);
            ``momentum`` must be a number in [0, 1], not ``None``.

    Shape:
        - Input: :math:`(N, C, H, W)`
        - Output: :math:`(N, C, H, W)`

    Example::

        >>> layer = GhostBatchNorm2d(8, ghost_size=4)
        >>> layer(torch.randn(16, 8, 5, 5)).shape  # 4 slices of 4 samples
        torch.Size([16, 8, 5, 5])
    """

    def __init__(self, num_features: int, ghost_size: int, **kwargs) -> None:
        super().__init__(num_features, **kwargs)
        check_positive_int(ghost_size, "ghost_size")
        if ghost_size < 2:
            raise ValueError(f"ghost_size must be >= 2 (a variance needs two), got {ghost_size}")
        if self.momentum is None:  # nn.BatchNorm2d's cumulative average, per batch
            raise ValueError(
                "momentum must be a number in [0, 1]: the cumulative average "
                "(momentum=None) is not defined per slice"
            )
        check_probability(self.momentum, "momentum")
        self.ghost_size = ghost_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        self._check_input_dim(x)
        if len(x) % self.ghost_size == 1 and len(x) > 1:
            raise ValueError(
                f"a last slice of one sample: batch of {len(x)}, ghost_size={self.ghost_size}"
            )
        self.num_batches_tracked.add_(1)
        return torch.cat([
            F.batch_norm(part, self.running_mean, self.running_var, self.weight, self.bias,
                         training=True, momentum=self.momentum, eps=self.eps)
            for part in x.split(self.ghost_size)  # E_k, V_k per slice k
        ])  # fmt: skip

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, ghost_size={self.ghost_size}"


def ghost_batch_norm(model: nn.Module, ghost_size: int) -> nn.Module:
    """Replace every ``nn.BatchNorm2d`` of ``model`` (in place) by a
    :class:`GhostBatchNorm2d` with the same parameters, buffers and settings.

    Args:
        model (nn.Module): e.g. ``reglab.train.small_cnn(batch_norm=True)``.
        ghost_size (int): samples per slice of the batch, ``>= 2``.

    Returns:
        nn.Module: ``model`` itself.

    Raises:
        ValueError: ``model`` has no ``nn.BatchNorm2d``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    check_positive_int(ghost_size, "ghost_size")
    swapped = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.BatchNorm2d:
                ghost = GhostBatchNorm2d(
                    child.num_features, ghost_size, eps=child.eps, momentum=child.momentum,
                    affine=child.affine, track_running_stats=child.track_running_stats,
                )  # fmt: skip
                ghost.load_state_dict(child.state_dict())
                setattr(parent, name, ghost)
                swapped += 1
    if not swapped:
        raise ValueError("model has no nn.BatchNorm2d to replace")
    return model
