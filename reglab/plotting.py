"""Figures of the book. Every function takes results plus a matplotlib ``ax`` and returns it.

Captions belong to the chapters (``mystnb: figure:`` metadata), so nothing here sets a
title; axis labels are lowercase.
"""

from __future__ import annotations

import torch
from matplotlib.axes import Axes

__all__ = [
    "plot_activation_histograms",
    "plot_curves",
    "plot_gaps",
    "plot_running_stats",
    "plot_std_by_depth",
    "show_image",
    "show_images",
]


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


def plot_std_by_depth(stats: dict, ax: Axes, *, field: str = "std") -> Axes:
    """One line per run: a per-layer statistic of :class:`reglab.instrumentation.ActivationStats`
    (``"std"`` of the activations or ``"grad_std"`` of their gradients) against depth, log scale.

    Values that over- or underflowed (``inf``, ``nan``, ``0``) end the line where they occur.
    """
    for label, run in stats.items():
        values = getattr(run, field).detach().cpu().double()
        finite = torch.isfinite(values) & (values > 0)
        cut = int(finite.long().cumprod(0).sum())  # first non-finite value ends the line
        layers = torch.arange(1, len(values) + 1)
        ax.plot(layers[:cut], values[:cut], marker=".", markersize=3, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.set_ylabel("activation std" if field == "std" else "gradient std")
    ax.legend(fontsize="small")
    return ax


def plot_activation_histograms(stats: dict, axes, layers: list[int], *, bins: int = 50):
    """Small multiples: one row per run (the dict's keys), one column per layer index.

    Args:
        stats (dict): label -> :class:`reglab.instrumentation.ActivationStats`.
        axes: a 2-D array of Axes, ``(len(stats), len(layers))``.
        layers (list[int]): 0-based indices of the recorded layers to show.
    """
    for row, (label, run) in zip(axes, stats.items(), strict=True):
        for ax, layer in zip(row, layers, strict=True):
            values = run.samples[layer].detach().cpu().double()
            values = values[torch.isfinite(values)]
            if len(values):
                ax.hist(values.numpy(), bins=bins, color="C0")
            ax.set_yticks([])
            ax.tick_params(labelsize="x-small")
        row[0].set_ylabel(label, rotation=0, ha="right", va="center")
    for ax, layer in zip(axes[-1], layers, strict=True):
        ax.set_xlabel(f"layer {layer + 1}")
    return axes


def plot_curves(histories: dict, ax: Axes, *, field: str = "train_loss", log: bool = False) -> Axes:
    """One line per run: a per-epoch field of :class:`reglab.training.History` (e.g.
    ``"train_loss"``, ``"test_acc"``)."""
    for label, history in histories.items():
        ax.plot(history.epoch, getattr(history, field), marker=".", label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(field.replace("_", " ").replace("acc", "accuracy"))
    ax.legend(fontsize="small")
    return ax


def show_images(images, axes, labels=None):
    """Draw a sequence of grey-scale images into a sequence (or 2-D array) of axes.

    Args:
        images: a tensor ``(K, 1, H, W)``/``(K, H, W)`` or a list of such images.
        axes: matplotlib axes, as many as images (a 2-D array is flattened row by row).
        labels (list[str], optional): one label per image, written under it.
    """
    flat = axes.ravel() if hasattr(axes, "ravel") else list(axes)
    if len(flat) != len(images):
        raise ValueError(f"got {len(images)} images for {len(flat)} axes")
    labels = labels if labels is not None else [None] * len(images)
    for image, ax, label in zip(images, flat, labels, strict=True):
        show_image(image, ax, label=label)
    return axes


def plot_running_stats(
    traces: dict, ax: Axes, *, field: str = "running_mean", channel: int = 0, target=None
) -> Axes:
    """One line per run: a running buffer of :class:`reglab.batchnorm.RunningStats` for one
    channel against the number of batches seen, with the batches' own statistic as dots.

    Args:
        traces (dict): label -> ``RunningStats``.
        field (str): ``"running_mean"`` or ``"running_var"``.
        channel (int): which channel to draw. Default: ``0``.
        target (float, optional): the population value, drawn as a dashed line.
    """
    batch_field = "batch_mean" if field == "running_mean" else "batch_var"
    first = next(iter(traces.values()))
    steps = torch.arange(1, len(first.running_mean) + 1)
    ax.plot(steps, getattr(first, batch_field)[:, channel], ".", color="0.7", ms=3,
            label=f"batch {batch_field.split('_')[1]}")  # fmt: skip
    for label, trace in traces.items():
        ax.plot(steps, getattr(trace, field)[:, channel], label=label)
    if target is not None:
        ax.axhline(target, color="k", ls="--", lw=0.8)
    ax.set_xlabel("batches seen")
    ax.set_ylabel(field.replace("_", " "))
    ax.legend(fontsize="small")
    return ax


def plot_gaps(summary: list[dict], ax: Axes, *, field: str = "gap") -> Axes:
    """Bars of a summarized metric per setting (see :func:`reglab.experiment.summarize`),
    with the standard deviation across seeds as error bars."""
    names = [row["setting"] for row in summary]
    means = [row[field] for row in summary]
    stds = [row[field + "_std"] for row in summary]
    ax.bar(range(len(names)), means, yerr=stds, capsize=3, color="C0")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel(
        field.replace("_", " ").replace("acc", "accuracy").replace("gap", "train - test accuracy")
    )
    return ax
