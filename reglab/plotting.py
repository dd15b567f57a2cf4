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
    "plot_paired_differences",
    "plot_run_curves",
    "plot_running_stats",
    "plot_seed_dots",
    "plot_seed_sweep",
    "plot_std_by_depth",
    "set_color_limits",
    "show_image",
    "show_images",
]


def _check_runs(runs: dict, name: str) -> None:
    if not runs:
        raise ValueError(f"{name} is empty: nothing to plot")


def _check_field(field: str, allowed) -> None:
    if field not in allowed:
        raise ValueError(f"field must be one of {', '.join(map(repr, allowed))}; got {field!r}")


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


def plot_std_by_depth(stats: dict, ax: Axes, *, field: str = "std") -> Axes:
    """One line per run: a per-layer statistic of :class:`reglab.instrumentation.ActivationStats`
    (``"std"`` of the activations or ``"grad_std"`` of their gradients) against depth, log scale.

    Values that over- or underflowed (``inf``, ``nan``, ``0``) end the line where they occur.

    Raises:
        ValueError: ``stats`` is empty or ``field`` is not ``"std"``/``"grad_std"`` (or
            a run has no gradient statistics).
    """
    _check_runs(stats, "stats")
    _check_field(field, ("std", "grad_std"))
    missing = [label for label, run in stats.items() if getattr(run, field) is None]
    if missing:
        raise ValueError(f"runs {missing} have no {field} (record them with labels y)")
    for label, run in stats.items():
        values = getattr(run, field).detach().cpu().double()
        finite = torch.isfinite(values) & (values > 0)
        cut = int(finite.long().cumprod(0).sum())  # first non-finite value ends the line
        layers = torch.arange(1, len(values) + 1)
        ax.plot(layers[:cut].numpy(), values[:cut].numpy(), marker=".", markersize=3, label=label)
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

    Raises:
        ValueError: ``stats`` or ``layers`` is empty, a layer index is out of range, or
            ``axes`` is not ``(len(stats), len(layers))``.
    """
    _check_runs(stats, "stats")
    if not layers:
        raise ValueError("layers is empty: nothing to plot")
    for label, run in stats.items():
        bad = [i for i in layers if not 0 <= i < len(run.samples)]
        if bad:
            raise ValueError(
                f"layers {bad} out of range for run {label!r} with {len(run.samples)} layers"
            )
    shape = getattr(axes, "shape", None)
    if shape != (len(stats), len(layers)):
        raise ValueError(f"axes must have shape {(len(stats), len(layers))}, got {shape}")
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
    ``"train_loss"``, ``"test_acc"``).

    Raises:
        ValueError: ``histories`` is empty, or a run has no such field or no values in it.
    """
    _check_runs(histories, "histories")
    for label, history in histories.items():
        values = getattr(history, field, None)
        if values is None or len(values) == 0:
            raise ValueError(f"run {label!r} has no values for field {field!r}")
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

    Raises:
        ValueError: ``traces`` is empty, ``field`` is unknown, or ``channel`` is out of range.
    """
    _check_runs(traces, "traces")
    _check_field(field, ("running_mean", "running_var"))
    channels = next(iter(traces.values())).running_mean.shape[1]
    if not 0 <= channel < channels:
        raise ValueError(f"channel must be in [0, {channels - 1}], got {channel}")
    batch_field = "batch_mean" if field == "running_mean" else "batch_var"
    first = next(iter(traces.values()))
    steps = torch.arange(1, len(first.running_mean) + 1).numpy()
    ax.plot(steps, getattr(first, batch_field)[:, channel].cpu().numpy(), ".", color="0.7", ms=3,
            label=f"batch {batch_field.split('_')[1]}")  # fmt: skip
    for label, trace in traces.items():
        ax.plot(steps, getattr(trace, field)[:, channel].cpu().numpy(), label=label)
    if target is not None:
        ax.axhline(target, color="k", ls="--", lw=0.8)
    ax.set_xlabel("batches seen")
    ax.set_ylabel(field.replace("_", " "))
    ax.legend(fontsize="small")
    return ax


def plot_gaps(summary: list[dict], ax: Axes, *, field: str = "gap") -> Axes:
    """Bars of a summarized metric per setting (see :func:`reglab.experiment.summarize`),
    with the standard deviation across seeds as error bars.

    Raises:
        ValueError: ``summary`` is empty or its rows lack ``field`` or ``field + "_std"``.
    """
    if not summary:
        raise ValueError("summary is empty: nothing to plot")
    missing = {f for row in summary for f in (field, field + "_std") if f not in row}
    if missing:
        raise ValueError(f"summary rows lack {sorted(missing)}; they have {sorted(summary[0])}")
    names = [row["setting"] for row in summary]
    means = [row[field] for row in summary]
    stds = [row[field + "_std"] for row in summary]
    ax.bar(range(len(names)), means, yerr=stds, capsize=3, color="C0")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel(
        field.replace("_", " ").replace("acc", "accuracy").replace("gap", "train - test accuracy")
    )
    return ax


# Figures of seeded comparisons: every seed is a dot, so the spread stays visible.


def plot_seed_sweep(
    values: dict, ax: Axes, *, label: str | None = None, color: str | None = None
) -> Axes:
    """One metric against a swept hyperparameter: each seed as a dot, a line through the
    means over seeds.

    Args:
        values (dict): hyperparameter value (a number) -> list of per-seed values.
        ax (Axes): where to draw.
        label (str, optional): legend entry of the line. Default: ``None``.
        color (str, optional): colour of dots and line. Default: the next in the cycle.
    """
    xs = list(values)
    means = [sum(v) / len(v) for v in values.values()]
    (line,) = ax.plot(xs, means, marker="_", markersize=12, label=label, color=color)
    for x, seeds in values.items():
        ax.plot([x] * len(seeds), seeds, ".", color=line.get_color(), alpha=0.7)
    return ax


def plot_seed_dots(
    groups: dict, ax: Axes, *, ylabel: str | None = None, colors: list | None = None
) -> Axes:
    """A dot plot: one column per group (e.g. a setting), one dot per seed, and a short
    horizontal bar at the mean. No bars, so no axis needs to start at zero.

    Args:
        groups (dict): group label -> list of per-seed values.
        ax (Axes): where to draw.
        ylabel (str, optional): the y-axis label. Default: ``None``.
        colors (list, optional): one colour per group. Default: all ``"C0"``.
    """
    colors = colors if colors is not None else ["C0"] * len(groups)
    if len(colors) != len(groups):
        raise ValueError(f"got {len(colors)} colors for {len(groups)} groups")
    for i, (values, color) in enumerate(zip(groups.values(), colors, strict=True)):
        ax.plot([i] * len(values), values, "o", color=color, alpha=0.7, markersize=4)
        mean = sum(values) / len(values)
        ax.plot([i - 0.25, i + 0.25], [mean, mean], color="k", lw=1.5)
    ax.set_xticks(range(len(groups)), list(groups), rotation=30, ha="right")
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    return ax


def plot_paired_differences(differences: dict, ax: Axes, *, xlabel: str | None = None) -> Axes:
    """Paired differences against a baseline, one row per comparison: each seed's
    difference as a dot, the mean as a bar tick, and the paired t interval as a line
    (see ``reglab.stats.paired_difference``). A dashed line marks zero.

    Args:
        differences (dict): label -> ``reglab.stats.PairedDifference``.
        ax (Axes): where to draw.
        xlabel (str, optional): the x-axis label. Default: ``None``.
    """
    labels = list(differences)
    for i, d in enumerate(differences.values()):
        row = len(labels) - 1 - i  # the first comparison on top
        ax.plot([d.low, d.high], [row, row], color="0.6", lw=3, solid_capstyle="butt")
        ax.plot(d.differences, [row] * len(d.differences), "o", color="C0", markersize=4)
        ax.plot([d.mean], [row], "|", color="k", markersize=14, mew=2)
    ax.axvline(0, color="k", ls="--", lw=0.8)
    ax.set_yticks(range(len(labels)), labels[::-1])
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    return ax


def plot_run_curves(
    runs: list[dict], ax: Axes, *, field: str = "val_acc", color: str = "C0", **line_kwargs
) -> Axes:
    """One line per run (seed) of a per-epoch metric, for runs of different lengths (early
    stopping), with a dot at each run's ``best_epoch`` when it has one.

    Args:
        runs (list[dict]): :func:`reglab.experiment.run` results.
        ax (Axes): where to draw.
        field (str): a per-epoch field of the run's ``history``. Default: ``"val_acc"``.
        color (str): colour of every line. Default: ``"C0"``.
        **line_kwargs: passed to ``ax.plot`` (e.g. ``ls="--"``).
    """
    for run in runs:
        history = run["history"]
        ax.plot(history["epoch"], history[field], color=color, lw=1, **line_kwargs)
        best = run.get("best_epoch")
        if best is not None:
            at = history["epoch"].index(best)
            ax.plot([best], [history[field][at]], "o", color=color, markersize=4)
    return ax


def set_color_limits(axes, vmin: float, vmax: float):
    """Give every image drawn in ``axes`` the same colour scale ``[vmin, vmax]``, so equal
    values look equally bright in every panel (``imshow`` scales each panel on its own).

    Args:
        axes: an Axes, a sequence or a 2-D array of them.
        vmin (float): value shown as black. vmax (float): value shown as white.
    """
    if not vmin < vmax:
        raise ValueError(f"vmin must be smaller than vmax, got {vmin} and {vmax}")
    flat = [axes] if isinstance(axes, Axes) else (axes.ravel() if hasattr(axes, "ravel") else axes)
    for ax in flat:
        for image in ax.images:
            image.set_clim(vmin, vmax)
    return axes
