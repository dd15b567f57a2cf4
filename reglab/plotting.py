"""Figures of the book. Every function takes results plus a matplotlib ``ax`` and returns it.

Captions belong to the chapters (``mystnb: figure:`` metadata), so nothing here sets a
title; axis labels are lowercase.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from matplotlib.axes import Axes

__all__ = [
    "plot_activation_histograms",
    "plot_curves",
    "plot_filter_factors",
    "plot_gaps",
    "plot_paired",
    "plot_paired_differences",
    "plot_paired_seeds",
    "plot_run_curves",
    "plot_running_stats",
    "plot_seed_curves",
    "plot_seed_dots",
    "plot_seed_sweep",
    "plot_std_by_depth",
    "plot_stopping",
    "plot_sweep",
    "plot_weight_paths",
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


def _mark_out_of_range(ax: Axes, x: torch.Tensor, values: torch.Tensor, color) -> tuple[int, int]:
    """Mark the points a log axis cannot show: an overflow (``inf``/``nan``) as a triangle
    on the top edge, an underflow (exactly ``0``) as a triangle on the bottom edge, in
    ``color``, drawn on the edge rather than off the axes. Returns how many of each."""
    from matplotlib.transforms import blended_transform_factory

    edge = blended_transform_factory(ax.transData, ax.transAxes)  # x in data, y in axes
    over = ~torch.isfinite(values)
    under = values == 0
    for mask, y, marker in ((over, 1.0, "^"), (under, 0.0, "v")):
        if mask.any():
            ax.plot(x[mask].numpy(), [y] * int(mask.sum()), marker, color=color, ms=4,
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

    Raises:
        ValueError: ``stats`` is empty, ``field`` is not ``"std"``/``"grad_std"`` (or a run
            has no gradient statistics), or ``show`` names a run that is not in ``stats``.
    """
    _check_runs(stats, "stats")
    _check_field(field, ("std", "grad_std"))
    missing = [label for label, run in stats.items() if getattr(run, field) is None]
    if missing:
        raise ValueError(f"runs {missing} have no {field} (record them with labels y)")
    unknown = [label for label in (show or []) if label not in stats]
    if unknown:
        raise ValueError(f"show names runs {unknown} that are not in stats ({list(stats)})")
    any_over = any_under = False
    for i, (label, run) in enumerate(stats.items()):
        if show is not None and label not in show:
            continue
        values = getattr(run, field).detach().cpu().double()
        layers = torch.arange(1, len(values) + 1)
        shown = torch.where(torch.isfinite(values) & (values > 0), values, torch.nan)
        ax.plot(layers.numpy(), shown.numpy(), marker=".", markersize=3, color=f"C{i}",
                label=label)  # fmt: skip
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

    Raises:
        ValueError: ``runs`` is empty, a setting has no seeds, or a history has no values
            for ``field``.
    """
    _check_runs(runs, "runs")
    any_over = False
    for i, (label, histories) in enumerate(runs.items()):
        if not histories:
            raise ValueError(f"setting {label!r} has no runs")
        color = f"C{i}"
        for seed, history in enumerate(histories):
            if not getattr(history, field, None):
                raise ValueError(f"a run of {label!r} has no values for field {field!r}")
            epochs = torch.tensor(history.epoch)
            values = torch.tensor(getattr(history, field), dtype=torch.float64)
            shown = torch.where(torch.isfinite(values), values, torch.nan)
            name = f"{label} ({len(histories)} seeds)" if seed == 0 else "_nolegend_"
            ax.plot(epochs.numpy(), shown.numpy(), color=color, lw=1, alpha=0.8, marker=".",
                    ms=3, label=name)  # fmt: skip
            finite_or_over = torch.where(values == 0, 1.0, values)  # only overflow is marked
            any_over = _mark_out_of_range(ax, epochs, finite_or_over, color)[0] > 0 or any_over
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(field.replace("_", " ").replace("acc", "accuracy"))
    _legend_with_edge_markers(ax, any_over, False)
    return ax


def plot_paired_seeds(values: dict, ax: Axes, *, ylabel: str) -> Axes:
    """A dot plot of a paired comparison: one column per setting, one dot per seed, a grey
    line joining the same seed across settings, and a black bar at each setting's mean.
    No bar starts at an arbitrary baseline: the dots are the data.

    Args:
        values (dict): setting label -> sequence of one value per seed (same seeds, same
            order for every setting).
        ylabel (str): what the values are.

    Raises:
        ValueError: ``values`` is empty, or the settings have different numbers of seeds.
    """
    _check_runs(values, "values")
    counts = {label: len(v) for label, v in values.items()}
    if len(set(counts.values())) != 1 or 0 in counts.values():
        raise ValueError(f"every setting needs the same, non-zero number of seeds; got {counts}")
    labels = list(values)
    table = torch.tensor([[float(v) for v in values[k]] for k in labels], dtype=torch.float64)
    x = torch.arange(len(labels), dtype=torch.float64)
    for seed in range(table.shape[1]):
        ax.plot(x.numpy(), table[:, seed].numpy(), color="0.75", lw=0.8, zorder=1)
    for i in range(len(labels)):
        ax.plot([x[i].item()] * table.shape[1], table[i].numpy(), "o", color=f"C{i}", ms=5,
                zorder=2)  # fmt: skip
        mean = table[i].mean().item()
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
        lambdas (sequence of float): the strengths, increasing, ``>= 0``; at least one > 0.
        values (dict): curve label -> ``(seeds, len(lambdas))`` tensor.
        chosen (float, optional): one of ``lambdas``, marked with a vertical dashed line.
        ylabel (str): the vertical axis label. Default: ``"loss"``.

    Raises:
        ValueError: ``lambdas`` is not increasing and non-negative with a positive value,
            ``values`` is empty or has a table of another shape, or ``chosen`` is not one
            of ``lambdas``.
    """
    lambdas = [float(v) for v in lambdas]
    if not lambdas or lambdas[0] < 0 or any(b <= a for a, b in itertools.pairwise(lambdas)):
        raise ValueError(f"lambdas must be increasing and >= 0, got {lambdas}")
    positive = [v for v in lambdas if v > 0]
    if not positive:
        raise ValueError(f"lambdas needs a positive value for the log axis, got {lambdas}")
    _check_runs(values, "values")
    if chosen is not None and float(chosen) not in lambdas:
        raise ValueError(f"chosen must be one of lambdas {lambdas}, got {chosen}")
    zero_at = min(positive) / 10
    xs = torch.tensor([v if v > 0 else zero_at for v in lambdas], dtype=torch.float64)
    for i, (label, table) in enumerate(values.items()):
        table = torch.as_tensor(table, dtype=torch.float64)
        if table.dim() != 2 or table.shape[1] != len(lambdas):
            raise ValueError(
                f"values[{label!r}] must have shape (seeds, {len(lambdas)}), "
                f"got {tuple(table.shape)}"
            )
        for row in table:
            ax.plot(xs.numpy(), row.numpy(), "o", color=f"C{i}", ms=3, alpha=0.6,
                    label="_nolegend_")  # fmt: skip
        ax.plot(xs.numpy(), table.mean(0).numpy(), "-", color=f"C{i}",
                label=f"{label} (mean of {len(table)} seeds)")  # fmt: skip
    if chosen is not None:
        ax.axvline(chosen if chosen > 0 else zero_at, color="k", ls="--", lw=0.8)
    ax.set_xscale("log")
    labels = [  # short tick labels: 0, 1e-4, 0.003, 0.1
        "0" if v == 0 else f"{v:g}" if len(f"{v:g}") <= 5 else f"{v:.0e}".replace("e-0", "e-")
        for v in lambdas
    ]
    ax.set_xticks(xs.tolist(), labels)
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
