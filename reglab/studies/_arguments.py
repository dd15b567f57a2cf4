"""Argument checks of the studies: a configuration of the right class, a path, a count.

A study handed a string for its configuration, or an int for a path, fails early with a
:class:`TypeError` naming the argument, not with an ``AttributeError`` deep inside.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from reglab._checks import check_positive_int


def check_instance(value, cls: type | tuple[type, ...], name: str) -> None:
    """Raise ``TypeError`` unless ``value`` is an instance of ``cls``."""
    if not isinstance(value, cls):
        names = " or ".join(c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,)))
        raise TypeError(f"{name} must be a {names}, got {type(value).__name__}")


def check_path(value, name: str = "path") -> None:
    """Raise ``TypeError`` unless ``value`` is a ``str`` or ``os.PathLike``."""
    if not isinstance(value, str | os.PathLike):
        raise TypeError(f"{name} must be a str or os.PathLike, got {type(value).__name__}")


def check_counts(config, names: Iterable[str]) -> None:
    """Raise unless each named field of ``config`` is an integer >= 1 (``bool`` refused)."""
    for name in names:
        check_positive_int(getattr(config, name), name)
