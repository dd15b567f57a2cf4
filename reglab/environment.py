"""The ``REGLAB_*`` environment variables: every one the project reads, read here.

The library, the examples, the tests and the docs build read their settings through
:func:`get`, :func:`flag` and :func:`path`, so this table is the complete list (the
README's table is generated from the same names; a test keeps them in step).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["VARIABLES", "flag", "get", "path"]

#: Every variable the project reads, with what it does.
VARIABLES: dict[str, str] = {
    "REGLAB_DATA": "data root holding MNIST/raw (default: $XDG_CACHE_HOME/reglab, "
    "i.e. ~/.cache/reglab)",
    "REGLAB_DEVICE": "device the library trains on, e.g. cpu or cuda:0 (default: cuda when "
    "available, else cpu)",
    "REGLAB_QUICK": "1 runs the example scripts at a tiny scale (default: 0)",
    "REGLAB_OUTPUT": "folder the example scripts write figures and results to "
    "(default: examples/output)",
    "REGLAB_EXECUTE": "force re-executes every chapter regardless of the cache (default: cache)",
    "REGLAB_REPOSITORY_URL": "repository the site's source and Colab links point to "
    "(default: https://github.com/reglab/reglab)",
    "REGLAB_SITE": "an already built site for the docs/browser tests to check instead of "
    "building one (default: build it)",
    "REGLAB_CHROMIUM": "Chromium executable for the browser tests (default: /usr/bin/chromium)",
    "REGLAB_SCREENSHOTS": "folder the browser tests save screenshots to "
    "(default: docs/_build/screenshots)",
}


def get(name: str, default: str | None = None) -> str | None:
    """The value of the variable ``name``, or ``default`` when it is unset or empty.

    Raises:
        KeyError: ``name`` is not one of :data:`VARIABLES` (a typo would otherwise read
            as "unset" forever).
    """
    if name not in VARIABLES:
        known = ", ".join(VARIABLES)
        raise KeyError(f"{name} is not a reglab environment variable; known: {known}")
    value = os.environ.get(name)
    return value if value else default


def flag(name: str) -> bool:
    """``True`` when the variable is ``1``, ``False`` when it is unset, empty or ``0``.

    Raises:
        ValueError: any other value (``yes``, ``true``...), naming the variable.
    """
    value = get(name, "0")
    if value not in ("0", "1"):
        raise ValueError(f"{name} must be 0 or 1, got {value!r}")
    return value == "1"


def path(name: str, default: str | os.PathLike) -> Path:
    """The variable as a path (``~`` expanded), or ``default`` when it is unset or empty."""
    return Path(get(name) or default).expanduser()
