"""Figures of the book. Every function takes results plus a matplotlib ``ax`` and returns it.

Captions belong to the chapters (``mystnb: figure:`` metadata), so nothing here sets a
title; axis labels are lowercase.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from matplotlib.axes import Axes

__all__ = [
    "plot_activation_histograms",
    "plot_curves",
    "plot_gaps",
    "plot_paired_seeds",
    "plot_running_stats",
    "plot_seed_curves",
    "plot_std_by_depth",
    "plot_sweep",
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


def _mark_out_of_range(ax: Axes, x: torch.Tensor, values: torch.Tensor, color) -> tuple[int, int]:
    """Mark the points a log axis cannot show: an overflow (``inf``/``nan``) as a triangle
    on the top edge, an underflow (exactly ``0``) as a triangle on the bottom edge, in
    ``color`` and clipped to the axes. Returns how many of each were marked."""
    from matplotlib.transforms import blended_transform_factory

    edge = blended_transform_factory(ax.transData, ax.transAxes)  # x in data, y in axes
    over = ~torch.isfinite(values)
    under = values == 0
    for mask, y, marker in ((over, 1.0, "^"), (under, 0.0, "v")):
        if mask.any():
            ax.plot(x[mask], torch.full((int(mask.sum()),), y), marker, color=color, ms=4,
                    transform=edge, clip_on=False, label="_nolegend_")  # fmt: skip
    return int(over.sum()), int(under.sum())


def _legend_with_edge_markers(ax: Axes, over: bool, under: bool) -> None:
    """The legend, plus grey entries explaining the edge markers that were drawn."""
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    if over:
        handles.append(Line2D([], [], ls="", marker="^", color="0.4", ms=4))
        labels.append("overflow (inf/nan), at the top edge")
    if under:
        handles.append(Line2D([], [], ls="", marker="v", color="0.4", ms=4))
        labels.append("underflow (0), at the bottom edge")
    ax.legend(handles, labels, fontsize="x-small")


def plot_std_by_depth(
    stats: dict, ax: Axes, *, field: str = "std", show: Sequence[str] | None = None
) -> Axes:
    """One line per run: a per-layer statistic of :class:`reglab.instrumentation.ActivationStats`
    (``"std"`` of the activations or ``"grad_std"`` of their gradients) against depth, log scale.

    A log axis cannot show a value that overflowed (``inf``, ``nan``) or underflowed to
    ``0``: such layers break the line and are marked on the top (overflow) or bottom
    (underflow) edge of the axes in the run's colour, and the legend says so.

    Args:
        stats (dict): label -> ``ActivationStats``; the i-th label is drawn in colour ``Ci``.
        field (str): ``"std"`` (default) or ``"grad_std"``.
        show (sequence of str, optional): draw only these labels (each keeps its colour), so
            that a second panel can zoom in on runs that a wide axis flattens.
    """
    any_over = any_under = False
    for i, (label, run) in enumerate(stats.items()):
        if show is not None and label not in show:
            continue
        values = getattr(run, field).detach().cpu().double()
        layers = torch.arange(1, len(values) + 1)
        shown = torch.where(torch.isfinite(values) & (values > 0), values, torch.nan)
        ax.plot(layers, shown, marker=".", markersize=3, color=f"C{i}", label=label)
        over, under = _mark_out_of_range(ax, layers, values, f"C{i}")
        any_over, any_under = any_over or over > 0, any_under or under > 0
    ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.set_ylabel("activation std" if field == "std" else "gradient std")
    _legend_with_edge_markers(ax, any_over, any_under)
    return ax


def plot_seed_curves(runs: dict, ax: Axes, *, field: str = "train_loss", log: bool = False) -> Axes:
    """Per-epoch curves of several seeds per setting: one colour per setting, one thin line
    per seed. Epochs whose value is ``inf``/``nan`` are marked on the top edge.

    Args:
        runs (dict): setting label -> list of :class:`reglab.training.History`, one per seed.
        field (str): the per-epoch field to draw. Default: ``"train_loss"``.
        log (bool): log scale on the vertical axis. Default: ``False``.
    """
    any_over = False
    for i, (label, histories) in enumerate(runs.items()):
        color = f"C{i}"
        for seed, history in enumerate(histories):
            epochs = torch.tensor(history.epoch)
            values = torch.tensor(getattr(history, field), dtype=torch.float64)
            shown = torch.where(torch.isfinite(values), values, torch.nan)
            name = f"{label} ({len(histories)} seeds)" if seed == 0 else "_nolegend_"
            ax.plot(epochs, shown, color=color, lw=1, alpha=0.8, marker=".", ms=3, label=name)
            values = torch.where(values == 0, 1.0, values)  # only overflow is marked here
            any_over = _mark_out_of_range(ax, epochs, values, color)[0] > 0 or any_over
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(field.replace("_", " ").replace("acc", "accuracy"))
    _legend_with_edge_markers(ax, any_over, False)
    return ax


def plot_paired_seeds(values: dict, ax: Axes, *, ylabel: str) -> Axes:
    """A dot plot of a paired comparison: one column per setting, one dot per seed, a grey
    line joining the same seed across settings, and a black bar at each setting's mean.

    Args:
        values (dict): setting label -> sequence of one value per seed (same seeds, same
            order for every setting).
        ylabel (str): what the values are.
    """
    labels = list(values)
    table = torch.tensor([list(map(float, values[k])) for k in labels], dtype=torch.float64)
    if table.dim() != 2 or table.shape[1] < 1:
        raise ValueError("values must hold the same number of seeds for every setting")
    x = torch.arange(len(labels), dtype=torch.float64)
    for seed in range(table.shape[1]):
        ax.plot(x, table[:, seed], color="0.75", lw=0.8, zorder=1)
    for i in range(len(labels)):
        ax.plot(x[i].expand(table.shape[1]), table[i], "o", color=f"C{i}", ms=5, zorder=2)
        mean = table[i].mean()
        ax.plot([x[i] - 0.15, x[i] + 0.15], [mean, mean], color="k", lw=1.5, zorder=3)
    ax.set_xticks(x.tolist(), labels)
    ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.set_ylabel(ylabel)
    return ax


def plot_sweep(
    lambdas, values: dict, ax: Axes, *, chosen: float | None = None, ylabel: str = "loss"
) -> Axes:
    """A hyperparameter sweep on a log axis: for each curve, one dot per seed and a line
    through the seeds' mean. A strength of ``0`` is drawn at the left edge, one decade below
    the smallest positive value, and labelled ``0``.

    Args:
        lambdas (sequence of float): the strengths, increasing, ``0`` allowed first.
        values (dict): curve label -> ``(seeds, len(lambdas))`` tensor.
        chosen (float, optional): a strength to mark with a vertical dashed line.
        ylabel (str): the vertical axis label. Default: ``"loss"``.
    """
    lambdas = [float(v) for v in lambdas]
    positive = [v for v in lambdas if v > 0]
    zero_at = min(positive) / 10
    xs = torch.tensor([v if v > 0 else zero_at for v in lambdas], dtype=torch.float64)
    for i, (label, table) in enumerate(values.items()):
        table = torch.as_tensor(table, dtype=torch.float64)
        for row in table:
            ax.plot(xs, row, "o", color=f"C{i}", ms=3, alpha=0.6, label="_nolegend_")
        ax.plot(
            xs, table.mean(0), "-", color=f"C{i}", label=f"{label} (mean of {len(table)} seeds)"
        )
    if chosen is not None:
        ax.axvline(chosen if chosen > 0 else zero_at, color="k", ls="--", lw=0.8)
    ax.set_xscale("log")
    ticks = xs.tolist()
    labels = [  # short tick labels: 0, 1e-4, 0.003, 0.1
        "0" if v == 0 else f"{v:g}" if len(f"{v:g}") <= 5 else f"{v:.0e}".replace("e-0", "e-")
        for v in lambdas
    ]
    ax.set_xticks(ticks, labels)
    ax.minorticks_off()
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="x-small")
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
