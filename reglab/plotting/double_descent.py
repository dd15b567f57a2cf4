"""Memorization and double descent: training-accuracy curves, and seeded curves against
the number of features or of training samples, with the interpolation threshold marked."""

from __future__ import annotations

import torch
from matplotlib.axes import Axes

from reglab.plotting._checks import _check_runs

__all__ = ["plot_seed_lines", "plot_training_accuracy"]


def plot_training_accuracy(curves: dict, ax: Axes) -> Axes:
    """Training accuracy against epoch: one thin line per seed, one colour per setting.

    Args:
        curves (dict): setting label -> list (one per seed) of per-epoch accuracies in
            [0, 1]; runs may have different lengths (each stops at 100%).
        ax (Axes): where to draw.
    """
    _check_runs(curves, "curves")
    for i, (label, runs) in enumerate(curves.items()):
        for k, acc in enumerate(runs):
            epochs = range(1, len(acc) + 1)
            ax.plot(epochs, [100 * a for a in acc], color=f"C{i}", lw=1, alpha=0.8,
                    label=label if k == 0 else "_nolegend_")  # fmt: skip
    ax.set_xlabel("epoch")
    ax.set_ylabel("training accuracy (%)")
    ax.legend(fontsize="small")
    return ax


def plot_seed_lines(
    x,
    curves: dict,
    ax: Axes,
    *,
    threshold: float | None = None,
    xlabel: str = "number of features p",
    ylabel: str = "test error (%)",
    scale: float = 100.0,
    logx: bool = True,
    logy: bool = False,
) -> Axes:
    """Curves over seeds against ``x``: the mean as a line with dots, every seed as a faint
    line of the same colour, and a dotted vertical line at ``threshold``.

    Args:
        x (sequence or Tensor): :math:`(P,)` the x values (e.g. numbers of features).
        curves (dict): label -> :math:`(S, P)` tensor, one row per seed.
        ax (Axes): where to draw.
        threshold (float, optional): where to draw the vertical line (e.g. :math:`p = n`).
        xlabel, ylabel (str): axis labels.
        scale (float): multiplies the values (100 turns error rates into %). Default: ``100``.
        logx, logy (bool): logarithmic axes. Default: ``True``, ``False``.
    """
    _check_runs(curves, "curves")
    xs = torch.as_tensor(x).double().numpy()
    for i, (label, values) in enumerate(curves.items()):
        values = torch.as_tensor(values).double() * scale
        if values.dim() != 2 or values.shape[1] != len(xs):
            raise ValueError(
                f"curves[{label!r}] must be (seeds, {len(xs)}), got {tuple(values.shape)}"
            )
        for row in values:
            ax.plot(xs, row.numpy(), color=f"C{i}", lw=0.6, alpha=0.35, label="_nolegend_")
        ax.plot(xs, values.mean(0).numpy(), "o-", color=f"C{i}", ms=3, label=label)
    if threshold is not None:
        ax.axvline(threshold, color="0.4", ls=":", lw=1, label="_nolegend_")
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    return ax
