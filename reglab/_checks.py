"""Argument checks shared by the library: one place for each rule, one wording for each error.

Bad input gets a :class:`ValueError` that names the argument, the allowed range and the
value it got; nothing is clamped silently.
"""

from __future__ import annotations

__all__ = ["check_nonnegative", "check_probability"]


def check_probability(value: float, name: str = "p") -> None:
    """Raise ``ValueError`` unless ``0 <= value <= 1`` (a probability, such as dropout's ``p``).

    Example::

        >>> check_probability(1.5)
        Traceback (most recent call last):
        ValueError: p has to be between 0 and 1, but got 1.5
    """
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} has to be between 0 and 1, but got {value}")


def check_nonnegative(value: float, name: str) -> None:
    """Raise ``ValueError`` unless ``value >= 0`` (a rate or a strength, such as ``lr``)."""
    if not value >= 0:  # also rejects NaN
        raise ValueError(f"{name} must be >= 0, got {value}")
