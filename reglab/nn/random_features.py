r"""Random ReLU features: a one-hidden-layer network whose first layer is never trained.

Each input :math:`x \in \mathbb{R}^d` is mapped to :math:`\phi(x) = \mathrm{ReLU}(W x)`
with a fixed Gaussian :math:`W \in \mathbb{R}^{p \times d}`; only a linear model on top of
:math:`\phi` is fitted. The number of features :math:`p` is the model's capacity, and
the first :math:`p' < p` features of a draw are the features of a smaller draw.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from reglab._checks import check_positive_int

__all__ = ["RandomReLUFeatures"]


class RandomReLUFeatures(nn.Module):
    r"""Fixed random ReLU features of flattened inputs.

    .. math::
        \phi(x) = \mathrm{ReLU}(W x), \qquad W_{jl} \sim \mathcal{N}(0, 1/d)

    Args:
        in_features (int): :math:`d`, the size of a flattened input (784 for MNIST).
        num_features (int): :math:`p \ge 1`.
        generator (torch.Generator, optional): draws :math:`W`. Default: the global RNG.
        dtype (torch.dtype): dtype of :math:`W`. Default: ``torch.float32``.

    Attributes:
        weight (Tensor): :math:`(p, d)` buffer (saved in the ``state_dict``, never trained).

    Shape:
        - Input: :math:`(N, *)` with :math:`d` values per sample.
        - Output: :math:`(N, p)`.

    Example::

        >>> phi = RandomReLUFeatures(784, 1000, generator=torch.Generator().manual_seed(0))
        >>> phi(torch.rand(8, 1, 28, 28)).shape
        torch.Size([8, 1000])

    Reference: Rahimi and Recht, *Random Features for Large-Scale Kernel Machines*,
    NeurIPS 2007.
    """

    def __init__(
        self,
        in_features: int,
        num_features: int,
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("num_features", num_features)):
            check_positive_int(value, name)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        weight = torch.randn(num_features, in_features, generator=generator, dtype=dtype)
        self.register_buffer("weight", weight / math.sqrt(in_features))  # N(0, 1/d)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = input.reshape(len(input), -1).to(self.weight.dtype)  # (N, d)
        if x.shape[1] != self.weight.shape[1]:
            raise ValueError(
                f"input has {x.shape[1]} values per sample, the features expect "
                f"in_features = {self.weight.shape[1]}"
            )
        return torch.relu(x @ self.weight.T)  # ReLU(W x), (N, p)

    def extra_repr(self) -> str:
        p, d = self.weight.shape
        return f"in_features={d}, num_features={p}"
