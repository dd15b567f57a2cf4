"""The ``REGLAB_*`` environment variables that the library and the example scripts read.

The library reads its settings through :func:`get`, :func:`flag` and :func:`path`, so
:data:`VARIABLES` is the complete list of what an installed reglab reads. The settings of
the docs build (``docs/_ext/reglab_settings.py``) and of the tests (``tests/conftest.py``)
are tables of their own, read through the same :class:`Variables`, and live where they are
read: a new test or build setting changes nothing in the installed library (nor the book's
execution key, which hashes ``reglab/``). The README's table lists all three; a test keeps
them in step.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["VARIABLES", "Variables", "data_root", "flag", "get", "path"]


class Variables:
    r"""A table of ``REGLAB_*`` variables, read only through it.

    Args:
        table: every variable name, with what it does (and its default).

    Example::

        >>> settings = Variables({"REGLAB_EXAMPLE": "an example (default: 0)"})
        >>> settings.flag("REGLAB_EXAMPLE")
        False
    """

    def __init__(self, table: dict[str, str]) -> None:
        if not isinstance(table, dict):
            raise TypeError(
                f"table must be a dict of name -> description, got {type(table).__name__}"
            )
        for name, description in table.items():
            if not (isinstance(name, str) and name.startswith("REGLAB_")):
                raise ValueError(f"table's names must start with REGLAB_, got {name!r}")
            if not isinstance(description, str):
                raise TypeError(f"table[{name!r}] must be a description (str)")
        self.table = dict(table)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of the variable ``name``, or ``default`` when it is unset or empty.

        Raises:
            KeyError: ``name`` is not in this table (a typo would otherwise read as
                "unset" forever).
        """
        if name not in self.table:
            known = ", ".join(self.table)
            raise KeyError(f"{name} is not a reglab environment variable here; known: {known}")
        value = os.environ.get(name)
        return value if value else default

    def flag(self, name: str) -> bool:
        """``True`` when the variable is ``1``, ``False`` when it is unset, empty or ``0``.

        Raises:
            ValueError: any other value (``yes``, ``true``...), naming the variable.
        """
        value = self.get(name, "0")
        if value not in ("0", "1"):
            raise ValueError(f"{name} must be 0 or 1, got {value!r}")
        return value == "1"

    def path(self, name: str, default: str | os.PathLike) -> Path:
        """The variable as a path (``~`` expanded), or ``default`` when it is unset or empty."""
        return Path(self.get(name) or default).expanduser()


#: Every variable the library and the example scripts read, with what it does.
VARIABLES: dict[str, str] = {
    "REGLAB_DATA": "data root holding MNIST/raw (default: $XDG_CACHE_HOME/reglab, "
    "i.e. ~/.cache/reglab)",
    "REGLAB_DEVICE": "device the library trains on, e.g. cpu or cuda:0 (default: cuda when "
    "available, else cpu)",
    "REGLAB_QUICK": "1 runs the example scripts at a tiny scale (default: 0)",
    "REGLAB_OUTPUT": "folder the example scripts write figures and results to "
    "(default: examples/output)",
}
_LIBRARY = Variables(VARIABLES)


def get(name: str, default: str | None = None) -> str | None:
    """The value of the library's variable ``name`` (see :meth:`Variables.get`)."""
    return _LIBRARY.get(name, default)


def flag(name: str) -> bool:
    """The library's variable ``name`` as a 0/1 flag (see :meth:`Variables.flag`)."""
    return _LIBRARY.flag(name)


def path(name: str, default: str | os.PathLike) -> Path:
    """The library's variable ``name`` as a path (see :meth:`Variables.path`)."""
    return _LIBRARY.path(name, default)


def data_root() -> Path:
    """The folder datasets are read from (and downloaded into), without importing torch.

    ``$REGLAB_DATA`` when set, else ``$XDG_CACHE_HOME/reglab`` (``~/.cache/reglab``).
    :func:`reglab.data.data_root` is this function.
    """
    env = get("REGLAB_DATA")
    if env:
        return Path(env).expanduser().resolve()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "reglab"
