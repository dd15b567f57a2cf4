"""Signal and gradient statistics through the depth of a network (initialization)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from matplotlib.axes import Axes

from reglab.plotting._checks import _check_field, _check_runs
from reglab.plotting.curves import _legend_with_edge_markers, _mark_out_of_range

__all__ = ["plot_activation_histograms", "plot_std_by_depth"]


def plot_std_by_depth(
    stats: dict, ax: Axes, *, field: str = "std", show: Sequence[str] | None = None
) -> Axes:
    """One line per run: a per-layer statistic of :class:`reglab.inspection.ActivationStats`
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


def plot_activation_histograms(stats: dict, axes, layers: list[int], *, bins: int = 50):
    """Small multiples: one row per run (the dict's keys), one column per layer index.

    Args:
        stats (dict): label -> :class:`reglab.inspection.ActivationStats`.
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
