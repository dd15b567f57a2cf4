"""Argument checks shared by the plot functions."""

from __future__ import annotations


def _check_runs(runs: dict, name: str) -> None:
    if not runs:
        raise ValueError(f"{name} is empty: nothing to plot")


def _check_field(field: str, allowed) -> None:
    if field not in allowed:
        raise ValueError(f"field must be one of {', '.join(map(repr, allowed))}; got {field!r}")
