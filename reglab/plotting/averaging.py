"""Figures of the chapter "Averaging": metrics against the number of members, a learning-rate
schedule, and 1-D loss curves (lines between solutions, random slices).

As everywhere in :mod:`reglab.plotting`, every function takes results plus ``ax`` and returns it;
nothing sets a title and axis labels are lowercase.
"""

from __future__ import annotations

import torch
from matplotlib.axes import Axes

from reglab.plotting._checks import _check_ax, _check_runs, _check_same_length

__all__ = ["plot_curves_1d", "plot_lr_schedule", "plot_scores_by_size"]


def plot_scores_by_size(runs: dict, ax: Axes, *, field: str = "nll") -> Axes:
    """``field`` against the number of averaged members k, one dot per seed, mean as a line.

    Args:
        runs (dict): label -> list (one per seed) of the lists returned by
            :func:`reglab.train.scores_by_size`.
        ax (Axes): where to draw.
        field (str): ``"accuracy"``, ``"nll"`` or ``"ece"``. Default: ``"nll"``.
    """
    if field not in ("accuracy", "nll", "ece"):
        raise ValueError(f"field must be 'accuracy', 'nll' or 'ece', got {field!r}")
    if not runs:
        raise ValueError("runs is empty: nothing to plot")
    for i, (label, seeds) in enumerate(runs.items()):
        color = f"C{i}"
        ks = [s["k"] for s in seeds[0]]
        values = torch.tensor([[s[field] for s in seed] for seed in seeds])  # (S, K)
        for row in values:
            ax.plot(ks, row.tolist(), "o", color=color, ms=3, alpha=0.6)
        ax.plot(ks, values.mean(0).tolist(), "-", color=color, label=label)
    ax.set_xlabel("members averaged, k")
    ax.set_ylabel({"accuracy": "test accuracy", "nll": "test nll", "ece": "test ece"}[field])
    return ax


def plot_lr_schedule(lrs: list[float], ax: Axes, *, swa_start: int | None = None) -> Axes:
    """Learning rate per epoch; a dashed line where averaging starts."""
    _check_ax(ax)
    _check_runs(lrs, "lrs")
    ax.plot(range(len(lrs)), lrs, "-o", ms=3)
    if swa_start is not None:
        ax.axvline(swa_start, color="k", ls="--", lw=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.set_ylim(bottom=0)
    return ax


def plot_curves_1d(
    xs: torch.Tensor, curves: dict, ax: Axes, *, xlabel: str, ylabel: str = "loss"
) -> Axes:
    """Several 1-D curves over the same ``xs`` (label -> values), e.g. loss along a line."""
    if not curves:
        raise ValueError("curves is empty: nothing to plot")
    for label, values in curves.items():
        _check_same_length(xs, values, "curves", label)
    for label, values in curves.items():
        ax.plot(xs.tolist(), torch.as_tensor(values).tolist(), label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax
