r"""Label noise: replace a fraction of the labels by uniformly random classes.

As in Zhang et al. (ICLR 2017): each label is, independently with probability
:math:`q`, replaced by a class drawn uniformly from all :math:`K` classes (so it may, by
chance, keep its true value). :math:`q = 1` gives completely random labels.
"""

from __future__ import annotations

import torch

from reglab._checks import check_positive_int, check_probability

__all__ = ["corrupt_labels"]


def corrupt_labels(
    y: torch.Tensor,
    fraction: float,
    *,
    num_classes: int = 10,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Replace each label, with probability ``fraction``, by a uniformly random class.

    .. math::
        \tilde y_i = \begin{cases} u_i \sim \mathrm{Uniform}\{0, \dots, K-1\}
        & \text{with probability } q \\ y_i & \text{otherwise} \end{cases}

    Args:
        y (Tensor): :math:`(N,)` integer labels in ``[0, num_classes)``.
        fraction (float): :math:`q \in [0, 1]`.
        num_classes (int): :math:`K`. Default: ``10``.
        generator (torch.Generator, optional): draws which labels and which classes.

    Returns:
        (Tensor, Tensor): the new labels :math:`(N,)` and the boolean mask :math:`(N,)` of
        the labels that were redrawn.

    Example::

        >>> y_noisy, redrawn = corrupt_labels(y, 0.2, generator=torch.Generator().manual_seed(0))
    """
    if not isinstance(y, torch.Tensor) or y.dim() != 1 or y.is_floating_point():
        raise TypeError("y must be a 1-D tensor of integer labels")
    check_probability(fraction, "fraction")
    check_positive_int(num_classes, "num_classes")
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"y must hold labels in [0, {num_classes}), got {y.min()}..{y.max()}")
    redrawn = torch.rand(len(y), generator=generator) < fraction  # with probability q
    random = torch.randint(0, num_classes, (len(y),), generator=generator)  # u_i
    return torch.where(redrawn, random, y), redrawn
