"""Argument checks shared by the plot functions."""

from __future__ import annotations


def _check_runs(runs: dict, name: str) -> None:
    if not runs:
        raise ValueError(f"{name} is empty: nothing to plot")


def _check_field(field: str, allowed) -> None:
    if field not in allowed:
        raise ValueError(f"field must be one of {', '.join(map(repr, allowed))}; got {field!r}")


def _check_ax(ax, name: str = "ax") -> None:
    if not hasattr(ax, "plot"):
        raise TypeError(f"{name} must be a matplotlib Axes, got {type(ax).__name__}")


def _check_same_length(x, values, name: str, label) -> None:
    if len(values) != len(x):
        raise ValueError(
            f"{name}[{label!r}] must hold one value per x ({len(x)}), got {len(values)}"
        )
