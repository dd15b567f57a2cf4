"""Figures of the normalization chapter: Wu & He's cubes, drawn from the masks that
:func:`reglab.nn.shared_stats_mask` computes, and the batch-size study."""

from __future__ import annotations

import statistics

import numpy as np
import torch
from matplotlib.axes import Axes

from reglab.plotting._checks import _check_runs

__all__ = ["plot_batch_size_study", "plot_stats_cube"]


_NAMES = {"batch": "BN", "group": "GN", "layer": "LN", "instance": "IN"}


def plot_stats_cube(mask: torch.Tensor, ax: Axes, *, color: str = "C0") -> Axes:
    """Draw an ``(N, C, *)`` mask as Wu & He's cube: channels along the front, samples in
    depth, positions (flattened) upwards; the ``True`` cells (the values normalized with
    one shared mean and variance) are shaded.

    Args:
        mask (Tensor): bool, :math:`(N, C, *)`; the positions ``*`` are flattened.
        ax (Axes): a 3-D axes (``projection="3d"``).
        color (str): colour of the shaded cells. Default: ``"C0"``.
    """
    if mask.dim() < 3:
        raise ValueError(
            f"mask must be (N, C, *) with at least 3 dimensions, got {tuple(mask.shape)}"
        )
    cells = mask.reshape(mask.shape[0], mask.shape[1], -1).transpose(0, 1).numpy()  # (C, N, HW)
    colors = np.where(cells, color, "white").astype(object)
    ax.voxels(np.ones_like(cells), facecolors=colors, edgecolors="0.35", linewidth=0.4)
    ax.set_box_aspect(cells.shape)
    ax.set_xlabel("C", labelpad=-12)
    ax.set_ylabel("N", labelpad=-12)
    ax.set_zlabel("H, W", labelpad=-12)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_zticks([])
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.pane.set_visible(False)
    ax.view_init(elev=20, azim=-55)
    return ax


def plot_batch_size_study(
    rows: list, ax: Axes, *, field: str = "test_acc", ylabel: str = "test accuracy"
) -> Axes:
    """Accuracy against the batch size (log scale) for each normalization: one dot per seed,
    a line through the means over seeds.

    Args:
        rows (list[BatchSizeRun]): the output of
            :func:`reglab.studies.normalization.run_batch_size_study`.
        ax (Axes): where to draw.
        field (str): the field on the y axis; runs where it is ``None`` are left out.
            Default: ``"test_acc"``.
        ylabel (str): the y axis label. Default: ``"test accuracy"``.
    """
    _check_runs(rows, "rows")
    rows = [r for r in rows if getattr(r, field) is not None]
    norms = list(dict.fromkeys(r.norm for r in rows))
    for k, norm in enumerate(norms):
        mine = [r for r in rows if r.norm == norm]
        sizes = sorted({r.batch_size for r in mine})
        offset = 1 + 0.06 * (k - (len(norms) - 1) / 2)  # spread the dots of the norms apart
        means = [
            statistics.mean(getattr(r, field) for r in mine if r.batch_size == B) for B in sizes
        ]
        ax.plot([B * offset for B in sizes], means, color=f"C{k}", label=_NAMES.get(norm, norm))
        ax.scatter(
            [r.batch_size * offset for r in mine],
            [getattr(r, field) for r in mine],
            color=f"C{k}",
            s=14,
            alpha=0.7,
        )
    ax.set_xscale("log", base=2)
    all_sizes = sorted({r.batch_size for r in rows})
    ax.set_xticks(all_sizes, [str(B) for B in all_sizes])
    ax.set_xlabel("batch size B")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    return ax
