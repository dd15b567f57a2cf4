r"""The loss landscape around a solution: straight lines and filter-normalised slices.

Two 1-D views of a network's loss. Along the line between two weight vectors,
:math:`\theta(t) = \theta_a + t\,(\theta_b - \theta_a)`, extended beyond both ends
(Izmailov et al., 2018); and along a random direction :math:`d` whose every filter is
rescaled to the norm of the corresponding filter of :math:`\theta` (Li et al., 2018), so
that slices of differently scaled networks are comparable. :func:`flat_width` turns a slice
into one number: how wide the region is where the loss stays within ``rise`` of its value
at the centre.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from reglab._checks import check_positive

__all__ = ["filter_normalized_direction", "flat_width", "loss_along", "loss_on_line"]


@torch.no_grad()
def _loss(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    return float(F.cross_entropy(model(X), y))


@torch.no_grad()
def filter_normalized_direction(
    model: nn.Module, *, generator: torch.Generator | None = None
) -> list[torch.Tensor]:
    r"""A Gaussian direction with each filter rescaled to the norm of the model's filter.

    .. math::
        d_{i} \leftarrow \frac{d_{i}}{\lVert d_{i}\rVert}\,\lVert \theta_{i}\rVert

    for every filter :math:`i` (a row of a linear weight, an output channel of a
    convolution). One-dimensional parameters (biases, norm scales) get a zero direction, as
    in Li et al.'s default.

    Returns:
        list[Tensor]: one tensor per parameter, in ``model.parameters()`` order.

    Reference: Li et al., "Visualizing the Loss Landscape of Neural Nets", NeurIPS 2018.
    """
    out = []
    for p in model.parameters():
        if p.dim() <= 1:
            out.append(torch.zeros_like(p))
            continue
        d = torch.randn(p.shape, generator=generator, dtype=p.dtype).to(p.device)
        d_norm = d.flatten(1).norm(dim=1).view(-1, *[1] * (p.dim() - 1))  # ||d_i||
        p_norm = p.flatten(1).norm(dim=1).view(-1, *[1] * (p.dim() - 1))  # ||theta_i||
        out.append(d / d_norm * p_norm)
    return out


@torch.no_grad()
def loss_along(
    model: nn.Module,
    direction: list[torch.Tensor],
    alphas: torch.Tensor,
    X: torch.Tensor,
    y: torch.Tensor,
) -> torch.Tensor:
    r"""Cross-entropy at :math:`\theta + \alpha d` for each ``alpha`` (model unchanged)."""
    probe = copy.deepcopy(model).eval()
    start = parameters_to_vector(model.parameters())
    d = torch.cat([t.flatten() for t in direction])
    if d.shape != start.shape:
        raise ValueError(f"direction has {d.numel()} entries, the model {start.numel()}")
    losses = []
    for a in alphas.tolist():
        vector_to_parameters(start + a * d, probe.parameters())  # theta + alpha d
        losses.append(_loss(probe, X, y))
    return torch.tensor(losses)


@torch.no_grad()
def loss_on_line(
    start: nn.Module, end: nn.Module, ts: torch.Tensor, X: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    r"""Cross-entropy at :math:`\theta_a + t(\theta_b - \theta_a)` for each ``t``.

    ``t = 0`` is ``start``, ``t = 1`` is ``end``; values outside [0, 1] extend the line.
    Buffers are taken from ``end``.
    """
    a = parameters_to_vector(start.parameters())
    b = parameters_to_vector(end.parameters())
    direction = []
    offset = 0
    for p in end.parameters():
        direction.append((b - a)[offset : offset + p.numel()].view_as(p))
        offset += p.numel()
    return loss_along(end, direction, ts - 1.0, X, y)  # theta_b + (t - 1)(b - a)


def flat_width(alphas: torch.Tensor, losses: torch.Tensor, rise: float) -> float:
    r"""Width of the interval around ``alpha = 0`` where the loss stays below ``loss(0) + rise``.

    Walks out from the grid point nearest 0 in both directions and interpolates linearly
    where the loss first crosses the threshold.

    Returns:
        float: the width, or ``math.inf`` when the loss never rises by ``rise`` on one side
        within the grid (widen the grid).

    Raises:
        ValueError: ``rise`` is not positive, or ``alphas`` is not increasing.
    """
    check_positive(rise, "rise")
    if len(alphas) != len(losses) or not bool((alphas.diff() > 0).all()):
        raise ValueError("alphas must be increasing and as long as losses")
    a, L = alphas.double(), losses.double()
    i0 = int(a.abs().argmin())
    level = float(L[i0]) + rise
    ends = []
    for step in (-1, 1):
        i = i0
        while 0 <= i + step < len(a) and L[i + step] <= level:
            i += step
        if not 0 <= i + step < len(a):
            return math.inf
        j = i + step  # L[i] <= level < L[j]
        ends.append(float(a[i] + (level - L[i]) / (L[j] - L[i]) * (a[j] - a[i])))
    return ends[1] - ends[0]
