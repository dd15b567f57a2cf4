r"""One value per seed: the two sides of a paired comparison.

A paired comparison (:func:`reglab.stats.paired_difference`) takes two lists whose
elements pair up by seed. :func:`by_seed` picks, among a study's results, the runs of one
setting and returns one field of each, ordered by seed, so that two settings' lists pair
up element by element.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["by_seed"]

_MISSING = object()


def _get(result: Any, name: str) -> Any:
    """``result``'s field ``name``: a key of a mapping, an attribute of anything else."""
    if isinstance(result, Mapping):
        return result.get(name, _MISSING)
    return getattr(result, name, _MISSING)


def _fields_of(result: Any) -> list[str]:
    """The field names of a result, for error messages."""
    if isinstance(result, Mapping):
        return sorted(map(str, result))
    names = [f.name for f in dataclasses.fields(result)] if dataclasses.is_dataclass(result) else []
    names += [n for n, v in vars(type(result)).items() if isinstance(v, property)]
    return names or sorted(n for n in vars(result) if not n.startswith("_"))


def _field(result: Any, name: str, role: str) -> Any:
    value = _get(result, name)
    if value is _MISSING:
        raise ValueError(
            f"{role} {name!r} is not a field of the results; "
            f"a result has: {', '.join(_fields_of(result))}"
        )
    return value


def by_seed(
    results: Iterable[Any], field: str, *, seeds: Iterable[int] | None = None, **where: Any
) -> list:
    r"""One value of ``field`` per seed, ordered by seed, among the results that match
    ``where``.

    .. math::
        \big(r_{s_1}.\mathrm{field}, \dots, r_{s_n}.\mathrm{field}\big), \quad
        s_1 < \dots < s_n, \quad r_{s}.k = v \text{ for every } k = v \text{ in where}

    A result is a dataclass (its attributes and properties are its fields) or a mapping
    (its keys); every result has a ``seed``. Two calls with the same seeds give lists that
    pair up element by element, ready for :func:`reglab.stats.paired_difference`.

    Args:
        results (iterable): the runs of a study, each with a ``seed`` field.
        field (str): the field whose values are returned.
        seeds (iterable of int, optional): the seeds that must be there, no more, no
            fewer. Default: ``None`` (whichever seeds match).
        **where: ``name=value`` pairs; only results whose field ``name`` equals ``value``
            are kept (e.g. ``name="none"``, ``batch_size=2``).

    Returns:
        list: ``field`` of each matching result, ordered by seed.

    Raises:
        ValueError: ``field``, ``seed`` or a key of ``where`` is not a field of a result;
            no result matches ``where``; a seed occurs twice among the matches; or the
            matching seeds are not ``seeds``.

    Example::

        >>> none = by_seed(results, "test_acc", name="none")
        >>> all_ = by_seed(results, "test_acc", name="all")
        >>> paired_difference(all_, none)   # seed k of "all" against seed k of "none"
    """
    rows = []
    for result in results:
        matches = [_field(result, key, "where key") == value for key, value in where.items()]
        if all(matches):
            rows.append((_field(result, "seed", "field"), _field(result, field, "field")))
    wanted = ", ".join(f"{key}={value!r}" for key, value in where.items()) or "any result"
    if not rows:
        raise ValueError(f"no results match {wanted}")
    rows.sort(key=lambda row: row[0])
    found = [seed for seed, _ in rows]
    if len(set(found)) != len(found):
        raise ValueError(f"a seed occurs more than once among the results of {wanted}: {found}")
    if seeds is not None and found != sorted(seeds):
        missing = sorted(set(seeds) - set(found))
        extra = sorted(set(found) - set(seeds))
        raise ValueError(
            f"the results of {wanted} have seeds {found}, expected {sorted(seeds)} "
            f"(missing: {missing}, unexpected: {extra})"
        )
    return [value for _, value in rows]
