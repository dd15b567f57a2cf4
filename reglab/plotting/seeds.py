"""Seeded and paired comparisons: every seed is a dot, so the spread stays visible."""

from __future__ import annotations

import itertools

import torch
from matplotlib.axes import Axes

from reglab.plotting._checks import _check_runs

__all__ = [
    "plot_paired_differences",
    "plot_paired_seeds",
    "plot_seed_dots",
    "plot_seed_sweep",
    "plot_sweep",
]


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
        raise ValueError(
            f"values: every setting needs the same, non-zero number of seeds; got {counts}"
        )
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
    _check_runs(groups, "groups")
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
    _check_runs(values, "values")
    if any(not len(v) for v in values.values()):
        raise ValueError("values must hold at least one seed's value for every x")
    xs = list(values)
    means = [sum(v) / len(v) for v in values.values()]
    (line,) = ax.plot(xs, means, marker="_", markersize=12, label=label, color=color)
    for x, seeds in values.items():
        ax.plot([x] * len(seeds), seeds, ".", color=line.get_color(), alpha=0.7)
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


def plot_paired_differences(differences: dict, ax: Axes, *, xlabel: str) -> Axes:
    """One row per comparison: the per-seed paired differences as dots and the paired
    interval as a line, with zero marked (see ``reglab.stats.paired_difference``).

    Args:
        differences (dict): label -> ``reglab.stats.PairedDifference``.
        ax (Axes): where to draw.
        xlabel (str): what was subtracted, e.g. ``"test accuracy, A - B"``.

    Raises:
        ValueError: ``differences`` is empty.
    """
    if not differences:
        raise ValueError("differences is empty: nothing to plot")
    for label, d in differences.items():
        if not all(hasattr(d, a) for a in ("mean", "low", "high")):
            raise TypeError(
                f"differences[{label!r}] must be a PairedDifference, got {type(d).__name__}"
            )
    for row, d in enumerate(differences.values()):
        ax.plot([d.low, d.high], [row, row], color="0.5", lw=2, solid_capstyle="butt")
        ax.plot(list(d.differences), [row] * len(d.differences), "o", color="C0", ms=5)
        ax.plot([d.mean], [row], "|", color="k", ms=12, mew=2)
    ax.axvline(0, color="k", lw=0.8, ls="--")
    ax.set_yticks(range(len(differences)), list(differences))
    ax.set_ylim(-0.6, len(differences) - 0.4)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    return ax
