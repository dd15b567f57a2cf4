"""Figures of the book. Every function takes results plus a matplotlib ``ax`` and returns it.

Captions belong to the chapters (``mystnb: figure:`` metadata), so nothing here sets a
title; axis labels are lowercase.
"""

from __future__ import annotations

import torch
from matplotlib.axes import Axes

__all__ = ["show_image"]


def show_image(image: torch.Tensor, ax: Axes, *, label: str | None = None) -> Axes:
    """Draw one grey-scale image, ``(1, H, W)`` or ``(H, W)``, without axes ticks.

    Args:
        image (Tensor): pixel values (any range; shown from black to white).
        ax (Axes): where to draw.
        label (str, optional): written under the image. Default: ``None``.
    """
    image = image.detach().cpu()
    if image.dim() == 3:
        image = image.squeeze(0)  # (1, H, W) -> (H, W)
    if image.dim() != 2:
        raise ValueError(f"image must have shape (H, W) or (1, H, W), got {tuple(image.shape)}")
    ax.imshow(image, cmap="gray", interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    if label is not None:
        ax.set_xlabel(label)
    return ax
