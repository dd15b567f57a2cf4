"""Digits and feature maps: one image per ``ax``, shared colour limits."""

from __future__ import annotations

import torch
from matplotlib.axes import Axes

__all__ = ["set_color_limits", "show_image", "show_images"]


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
    ax.imshow(image.numpy(), cmap="gray", interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    if label is not None:
        ax.set_xlabel(label)
    return ax


def show_images(images, axes, labels=None):
    """Draw a sequence of grey-scale images into a sequence (or 2-D array) of axes.

    Args:
        images: a tensor ``(K, 1, H, W)``/``(K, H, W)`` or a list of such images.
        axes: matplotlib axes, as many as images (a 2-D array is flattened row by row).
        labels (list[str], optional): one label per image, written under it.

    Raises:
        ValueError: as many images as axes (and labels, when given) are needed.
    """
    flat = axes.ravel() if hasattr(axes, "ravel") else list(axes)
    if len(flat) != len(images):
        raise ValueError(f"got {len(images)} images for {len(flat)} axes")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"got {len(labels)} labels for {len(images)} images")
    labels = labels if labels is not None else [None] * len(images)
    for image, ax, label in zip(images, flat, labels, strict=True):
        show_image(image, ax, label=label)
    return axes


def set_color_limits(axes, vmin: float, vmax: float):
    """Give every image drawn in ``axes`` the same colour scale ``[vmin, vmax]``, so equal
    values look equally bright in every panel (``imshow`` scales each panel on its own).

    Args:
        axes: an Axes, a sequence or a 2-D array of them.
        vmin (float): value shown as black.
        vmax (float): value shown as white.
    """
    if not vmin < vmax:
        raise ValueError(f"vmin must be smaller than vmax, got {vmin} and {vmax}")
    flat = [axes] if isinstance(axes, Axes) else (axes.ravel() if hasattr(axes, "ravel") else axes)
    for ax in flat:
        for image in ax.images:
            image.set_clim(vmin, vmax)
    return axes
