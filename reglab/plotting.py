"""Figures of the book. Every function takes results plus a matplotlib ``ax`` and returns it.

Captions belong to the chapters (``mystnb: figure:`` metadata), so nothing here sets a
title; axis labels are lowercase.
"""

from __future__ import annotations

import math

import torch
from matplotlib.axes import Axes

__all__ = [
    "plot_activation_histograms",
    "plot_curves",
    "plot_filter_factors",
    "plot_gaps",
    "plot_paired",
    "plot_running_stats",
    "plot_std_by_depth",
    "plot_stopping",
    "plot_weight_paths",
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


# --- Early stopping (chapter "Early stopping and model selection") --------------------------


def plot_filter_factors(eigenvalues: torch.Tensor, gd: dict, ridge: dict, ax: Axes) -> Axes:
    """Filter factors against the eigenvalue (log scale): gradient descent solid, ridge
    dashed, one colour per pair (see :mod:`reglab.filter_factors`).

    Args:
        eigenvalues (Tensor): :math:`(d,)` the x values, ascending.
        gd (dict): label -> :math:`(d,)` GD factors, e.g. ``{"tau = 10": ...}``.
        ridge (dict): label -> :math:`(d,)` ridge factors, paired with ``gd`` in order.
    """
    x = eigenvalues.detach().cpu().numpy()
    for (gd_label, f_gd), (ridge_label, f_ridge) in zip(gd.items(), ridge.items(), strict=True):
        (line,) = ax.plot(x, f_gd.detach().cpu().numpy(), label=gd_label)
        ax.plot(
            x, f_ridge.detach().cpu().numpy(), ls="--", color=line.get_color(), label=ridge_label
        )
    ax.set_xscale("log")
    ax.set_xlabel("eigenvalue of the hessian")
    ax.set_ylabel("filter factor")
    ax.legend(fontsize="small")
    return ax


def plot_weight_paths(
    trajectory: torch.Tensor,
    ridge_path: torch.Tensor,
    ax: Axes,
    *,
    hessian: torch.Tensor | None = None,
    optimum: torch.Tensor | None = None,
    levels: int = 6,
) -> Axes:
    r"""A 2-D gradient-descent trajectory (dots) and a ridge path (line) in weight space,
    over the loss's elliptic contours when ``hessian`` and ``optimum`` are given.

    Args:
        trajectory (Tensor): :math:`(T, 2)` iterates :math:`w_0, \dots, w_{T-1}`.
        ridge_path (Tensor): :math:`(A, 2)` ridge solutions, any order of :math:`\alpha`.
        hessian (Tensor, optional): :math:`(2, 2)` Hessian :math:`H` of the quadratic loss.
        optimum (Tensor, optional): :math:`(2,)` unregularized minimizer :math:`w^*`.
        levels (int): number of contour lines, geometrically spaced in loss. Default: ``6``.
    """
    trajectory = trajectory.detach().cpu().double()
    ridge_path = ridge_path.detach().cpu().double()
    if trajectory.shape[-1] != 2 or ridge_path.shape[-1] != 2:
        raise ValueError("trajectory and ridge_path must be (T, 2) and (A, 2): 2-D weights")
    if hessian is not None and optimum is not None:
        points = torch.cat([trajectory, ridge_path, optimum.view(1, 2).cpu().double()])
        low, high = points.min(0).values, points.max(0).values
        pad = 0.15 * (high - low)
        u = torch.linspace(float(low[0] - pad[0]), float(high[0] + pad[0]), 200)
        v = torch.linspace(float(low[1] - pad[1]), float(high[1] + pad[1]), 200)
        U, V = torch.meshgrid(u, v, indexing="xy")
        D = torch.stack([U, V], -1).double() - optimum.cpu().double()  # (200, 200, 2)
        excess = 0.5 * torch.einsum("...i,ij,...j->...", D, hessian.cpu().double(), D)
        top = excess.max().item()
        heights = torch.logspace(math.log10(top) - 3, math.log10(top), levels + 1)[:-1]
        grid = (U.numpy(), V.numpy(), excess.numpy())
        ax.contour(*grid, levels=heights.tolist(), colors="0.75", linewidths=0.7)
    ax.plot(*ridge_path.T.numpy(), color="C1", label="ridge path")
    ax.plot(*trajectory.T.numpy(), ".", color="C0", ms=4, label="gradient descent")
    if optimum is not None:
        ax.plot(*optimum.cpu().tolist(), "k*", ms=10, label="$w^*$")
    ax.plot(0, 0, "ko", ms=4)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")
    ax.legend(fontsize="small")
    return ax


def plot_stopping(
    history,
    ax: Axes,
    *,
    stops: dict | None = None,
    kept: int | None = None,
    train: bool = True,
    log: bool = True,
) -> Axes:
    """Training and validation loss per epoch of one run, with vertical lines where
    stopping rules fire and a marker on the epoch whose weights are kept.

    Args:
        history (History): a :class:`reglab.training.History` with ``val_loss``.
        stops (dict, optional): label -> stopping epoch (``None`` entries are skipped).
        kept (int, optional): the (1-based) epoch whose weights are restored.
        train (bool): draw the training loss too. Default: ``True``.
        log (bool): logarithmic loss axis. Default: ``True``.
    """
    if train:
        ax.plot(history.epoch, history.train_loss, color="C0", label="training loss")
    ax.plot(history.epoch, history.val_loss, color="C1", label="validation loss")
    for i, (label, epoch) in enumerate((stops or {}).items()):
        if epoch is not None:
            ax.axvline(epoch, color=f"C{i + 2}", ls=":", lw=1.2, label=f"{label} stops")
    if kept is not None:
        ax.plot(kept, history.val_loss[kept - 1], "o", color="C1", mfc="white", ms=7,
                label=f"kept weights (epoch {kept})")  # fmt: skip
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    ax.legend(fontsize="small")
    return ax


def plot_paired(values: dict, ax: Axes, *, ylabel: str) -> Axes:
    """Dot plot of paired results: one column per setting, one dot per seed, and a grey
    line joining each seed's dots across settings.

    Args:
        values (dict): setting label -> sequence of one value per seed (same seeds, same
            order, for every setting).
        ylabel (str): what the values are.
    """
    columns = [[float(v) for v in vals] for vals in values.values()]
    if len({len(c) for c in columns}) != 1:
        raise ValueError("every setting needs one value per seed, for the same seeds")
    xs = range(len(columns))
    for seed_values in zip(*columns, strict=True):
        ax.plot(xs, seed_values, color="0.7", lw=0.8, zorder=1)
    for x, column in zip(xs, columns, strict=True):
        ax.plot([x] * len(column), column, "o", color=f"C{x}", zorder=2)
    ax.set_xticks(list(xs), list(values))
    ax.set_xlim(-0.5, len(columns) - 0.5)
    ax.set_ylabel(ylabel)
    return ax
