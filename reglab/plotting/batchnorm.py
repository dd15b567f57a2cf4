"""Running statistics of batch norm, batch by batch."""

from __future__ import annotations

import torch
from matplotlib.axes import Axes

from reglab.plotting._checks import _check_field, _check_runs

__all__ = ["plot_running_stats"]


def plot_running_stats(
    traces: dict, ax: Axes, *, field: str = "running_mean", channel: int = 0, target=None
) -> Axes:
    """One line per run: a running buffer of :class:`reglab.nn.RunningStats` for one
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
