"""Argument checks shared by the library: one place for each rule, one wording for each error.

A value of the wrong type gets a :class:`TypeError`, a number out of range a
:class:`ValueError`; both name the argument, the allowed range and the value it got.
Nothing is clamped silently. ``bool`` is refused wherever a number is expected: ``True``
is neither a count nor a probability, even though Python lets it pass for ``1``.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

__all__ = [
    "check_nonnegative",
    "check_nonnegative_int",
    "check_positive",
    "check_positive_int",
    "check_probability",
]


def _check_real(value, name: str, allowed: str) -> None:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be {allowed}, got {type(value).__name__} {value!r}")


def _check_integer(value, name: str, minimum: int) -> None:
    allowed = f"an integer >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be {allowed}, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def check_positive_int(value: int, name: str) -> None:
    """Raise unless ``value`` is an integer ``>= 1`` (a count, such as ``num_epochs``).

    Raises:
        TypeError: ``value`` is not an integer (``bool`` and ``2.0`` included).
        ValueError: ``value < 1``.

    Example::

        >>> check_positive_int(0, "num_epochs")
        Traceback (most recent call last):
        ValueError: num_epochs must be an integer >= 1, got 0
    """
    _check_integer(value, name, 1)


def check_nonnegative_int(value: int, name: str) -> None:
    """Raise unless ``value`` is an integer ``>= 0`` (a count that may be zero, such as a
    number of steps). ``TypeError`` for a non-integer, ``ValueError`` below 0."""
    _check_integer(value, name, 0)


def check_probability(value: float, name: str = "p") -> None:
    """Raise unless ``0 <= value <= 1`` (a probability, such as dropout's ``p``).

    Raises:
        TypeError: ``value`` is not a real number (a string, a tensor, ``None``, a ``bool``).
        ValueError: ``value`` is outside ``[0, 1]`` or NaN.

    Example::

        >>> check_probability(1.5)
        Traceback (most recent call last):
        ValueError: p has to be between 0 and 1, but got 1.5
    """
    _check_real(value, name, "a number between 0 and 1")
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} has to be between 0 and 1, but got {value}")


def check_nonnegative(value: float, name: str) -> None:
    """Raise unless ``value`` is a finite number ``>= 0`` (a rate or a strength, such as
    ``weight_decay``). ``TypeError`` for a non-number; ``ValueError`` for a negative value,
    NaN or infinity."""
    _check_real(value, name, "a finite number >= 0")
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")


def check_positive(value: float, name: str) -> None:
    """Raise unless ``value`` is a finite number ``> 0`` (a step size such as ``lr``, a
    Beta parameter, a threshold in percent). ``TypeError`` for a non-number; ``ValueError``
    for zero, a negative value, NaN or infinity."""
    _check_real(value, name, "a finite number > 0")
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")


def check_items(values, cls: type, name: str) -> list:
    """``values`` as a list, raising unless it holds at least one element and every
    element is a ``cls``.

    Raises:
        ValueError: ``values`` is empty.
        TypeError: an element is of another type (named by its index).
    """
    values = list(values)
    if not values:
        raise ValueError(f"{name} must hold at least one {cls.__name__}, got none")
    for i, value in enumerate(values):
        if not isinstance(value, cls):
            raise TypeError(f"{name}[{i}] must be a {cls.__name__}, got {type(value).__name__}")
    return values
