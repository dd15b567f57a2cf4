"""Per-epoch curves of several runs (seeds), with values off the axis marked on its edge."""

from __future__ import annotations

import torch
from matplotlib.axes import Axes

from reglab.plotting._checks import _check_runs

__all__ = ["plot_run_curves", "plot_seed_curves"]


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


def plot_seed_curves(runs: dict, ax: Axes, *, field: str = "train_loss", log: bool = False) -> Axes:
    """Per-epoch curves of several seeds per setting: one colour per setting, one thin line
    per seed. Epochs whose value is ``inf``/``nan`` are marked on the top edge.

    Args:
        runs (dict): setting label -> list of :class:`reglab.train.History`, one per seed.
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


def plot_run_curves(
    runs: list, ax: Axes, *, field: str = "val_acc", color: str = "C0", **line_kwargs
) -> Axes:
    """One line per run (seed) of a per-epoch metric, for runs of different lengths (early
    stopping), with a dot at each run's ``best_epoch`` when it has one.

    Args:
        runs (list[RunResult]): :class:`reglab.studies.results.RunResult` objects (or any
            with a ``history`` and a ``best_epoch``).
        ax (Axes): where to draw.
        field (str): a per-epoch field of the run's ``history``. Default: ``"val_acc"``.
        color (str): colour of every line. Default: ``"C0"``.
        **line_kwargs: passed to ``ax.plot`` (e.g. ``ls="--"``).

    Raises:
        ValueError: a run's history has no values for ``field``.
    """
    _check_runs(runs, "runs")
    for run in runs:
        history = run.history
        values = getattr(history, field, None)
        if not values:
            raise ValueError(f"a run's history has no values for field {field!r}")
        ax.plot(history.epoch, values, color=color, lw=1, **line_kwargs)
        if run.best_epoch is not None:
            at = history.epoch.index(run.best_epoch)
            ax.plot([run.best_epoch], [values[at]], "o", color=color, markersize=4)
    return ax
