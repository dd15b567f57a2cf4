"""Figures of the chapter "Regularizing inputs and targets": the reliability diagram, a
batch of mixed digits with their soft labels, the template-plane projection of
penultimate features.

As everywhere in :mod:`reglab.plotting`, every function takes results plus ``ax`` (or axes) and
returns it; nothing sets a title, axis labels are lowercase, and the numbers come from the
numerical modules (:mod:`reglab.stats.calibration`, :mod:`reglab.data.mixing`,
:mod:`reglab.inspection.penultimate`, ``reglab.stats.paired``).
"""

from __future__ import annotations

import torch
from matplotlib.axes import Axes

from reglab.plotting.images import show_image

__all__ = ["plot_reliability", "plot_template_projection", "show_mixed_batch"]


def plot_reliability(
    bin_confidence: torch.Tensor,
    bin_accuracy: torch.Tensor,
    bin_count: torch.Tensor,
    ax: Axes,
    *,
    label: str | None = None,
    color: str = "C0",
) -> Axes:
    """Reliability diagram: accuracy per confidence bin as bars, each bin's mean confidence
    as a black line across its bar, and the diagonal of perfect calibration.

    The inputs are the three outputs of :func:`reglab.stats.reliability_curve`
    (``n_bins + 1`` entries, the last being the bin of confidence exactly 1, drawn as a
    thin bar at 1). The gap between a bar's top (the bin's accuracy) and its black line
    (the bin's mean confidence) is the bin's miscalibration; the ECE is these gaps
    weighted by the bins' shares of the samples. A bar top below its line is
    over-confident, above it under-confident. Every non-empty bin is drawn (a bin of
    accuracy 0 as its line alone); empty bins are left blank.

    Raises:
        ValueError: the three inputs differ in length or have fewer than 2 entries.
    """
    if not len(bin_confidence) == len(bin_accuracy) == len(bin_count) >= 2:
        raise ValueError(
            "bin_confidence, bin_accuracy and bin_count must be the outputs of "
            f"reliability_curve (same length >= 2), got {len(bin_confidence)}, "
            f"{len(bin_accuracy)} and {len(bin_count)}"
        )
    n_bins = len(bin_count) - 1
    width = 1.0 / n_bins
    filled = (bin_count > 0).cpu()
    left = torch.arange(n_bins + 1, dtype=torch.float64) * width
    widths = torch.full((n_bins + 1,), width * 0.95, dtype=torch.float64)
    widths[-1] = width * 0.2  # the bin {confidence = 1}
    left[-1] = 1.0 - widths[-1] / 2
    acc, conf = bin_accuracy.detach().cpu().double(), bin_confidence.detach().cpu().double()
    ax.bar(left[filled].numpy(), acc[filled].numpy(), width=widths[filled].numpy(),
           align="edge", color=color, alpha=0.8, label=label)  # fmt: skip
    right = left + widths
    ax.hlines(conf[filled].numpy(), left[filled].numpy(), right[filled].numpy(),
              colors="k", lw=1.5, zorder=3, label="mean confidence")  # fmt: skip
    ax.plot([0, 1], [0, 1], ls="--", color="0.4", lw=0.8)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("confidence (max probability)")
    ax.set_ylabel("accuracy")
    if label is not None:
        ax.legend(fontsize="small", loc="upper left")
    return ax


def _soft_label_text(target: torch.Tensor, top: int = 2) -> str:
    weights, classes = target.topk(min(top, len(target)))
    pairs = zip(weights.tolist(), classes.tolist(), strict=True)
    parts = [f"{w:.2f}·{c}" for w, c in pairs if w > 0.005]
    return "\n".join(parts)


def show_mixed_batch(images: torch.Tensor, targets: torch.Tensor, axes) -> object:
    """Draw mixed images with their soft labels written under them (the two largest
    class weights, one per line, as ``0.73·3`` over ``0.27·5``).

    Args:
        images (Tensor): :math:`(B, 1, H, W)` or :math:`(B, H, W)`.
        targets (Tensor): :math:`(B, K)` probabilities (or :math:`(B,)` class indices).
        axes: ``B`` matplotlib axes (a 1-D or 2-D array, flattened row by row).

    Raises:
        ValueError: images, targets and axes differ in number.
    """
    flat = axes.ravel() if hasattr(axes, "ravel") else list(axes)
    if not len(images) == len(targets) == len(flat):
        raise ValueError(
            f"got {len(images)} images, {len(targets)} targets and {len(flat)} axes; "
            "they must match"
        )
    for image, target, ax in zip(images, targets, flat, strict=True):
        text = str(int(target)) if target.dim() == 0 else _soft_label_text(target.detach().cpu())
        show_image(image, ax, label=text)
    return axes


def plot_template_projection(
    coords: torch.Tensor, y: torch.Tensor, ax: Axes, *, max_points: int | None = None
) -> Axes:
    """Scatter of 2-D projected features (:func:`reglab.inspection.template_projection`),
    one colour per class, with equal axis scales so that distances are honest.

    Args:
        coords (Tensor): :math:`(N, 2)` projected features.
        y (Tensor): :math:`(N,)` class labels.
        max_points (int, optional): draw at most this many points per class (the first
            ones). Default: all.

    Raises:
        ValueError: ``coords`` is not :math:`(N, 2)` or ``y`` does not match it.
    """
    if coords.dim() != 2 or coords.shape[1] != 2 or y.shape != coords.shape[:1]:
        raise ValueError(
            f"coords must be (N, 2) and y (N,), got {tuple(coords.shape)} and {tuple(y.shape)}"
        )
    coords, y = coords.detach().cpu(), y.cpu()
    for i, k in enumerate(torch.unique(y).tolist()):
        points = coords[y == k][:max_points]
        ax.scatter(points[:, 0].numpy(), points[:, 1].numpy(), s=6, alpha=0.6,
                   color=f"C{i}", label=f"class {k}")  # fmt: skip
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("plane axis 1")
    ax.set_ylabel("plane axis 2")
    ax.legend(fontsize="small", markerscale=2)
    return ax
