"""Result tables that render as Markdown in the book and as plain text in a terminal, and the
short texts that the tables and the prose are made of (per-seed values, verdicts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reglab.stats.paired import PairedDifference, holm

__all__ = ["Table", "paired_table", "seeds_text", "verdict"]


class Table:
    """A list of rows with headers; Jupyter and MyST-NB display it as a Markdown table.

    Args:
        headers (sequence of str): column names.
        rows (sequence of sequences): one entry per column; floats (Python, numpy, and
            0-dim tensors) are formatted with ``floatfmt``.
        floatfmt (str): format spec for floats. Default: ``".4g"``.

    Example::

        >>> Table(["p", "test accuracy"], [[0.5, 0.9712]])
    """

    def __init__(self, headers: Sequence[str], rows: Sequence[Sequence], floatfmt: str = ".4g"):
        if isinstance(headers, str | bytes) or not isinstance(headers, Sequence):
            raise TypeError(
                f"headers must be a sequence of strings (a list), got {type(headers).__name__} "
                f"{headers!r} (a string would be split into letters)"
            )
        if isinstance(rows, str | bytes) or not isinstance(rows, Sequence):
            raise TypeError(f"rows must be a sequence of rows, got {type(rows).__name__}")
        self.headers = list(headers)
        self.rows = [list(r) for r in rows]
        bad = [i for i, r in enumerate(self.rows) if len(r) != len(self.headers)]
        if bad:
            raise ValueError(f"rows {bad} do not have {len(self.headers)} entries (the headers)")
        self.floatfmt = floatfmt

    def _cells(self) -> list[list[str]]:
        def fmt(v) -> str:
            if getattr(v, "ndim", None) == 0 and hasattr(v, "item"):
                v = v.item()  # a numpy scalar or a 0-dim tensor: its Python number
            return format(v, self.floatfmt) if isinstance(v, float) else str(v)

        return [[fmt(v) for v in row] for row in self.rows]

    def _repr_markdown_(self) -> str:
        def row(cells) -> str:  # a literal | inside a cell (e.g. "mean |w|") must be escaped
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        lines = [row(self.headers), "|" + "---|" * len(self.headers)]
        lines += [row(cells) for cells in self._cells()]
        return "\n".join(lines)

    def __str__(self) -> str:
        cells = [self.headers, *self._cells()]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.headers))]
        out = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
        out.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(out)

    __repr__ = __str__


def paired_table(
    comparisons: Mapping[str, PairedDifference],
    *,
    title: str = "comparison",
    scale: float = 100.0,
    fmt: str = "+.1f",
) -> Table:
    """One row per paired comparison: mean, interval, per-seed differences, the Holm-adjusted
    p-value and the reading.

    The table is one family of comparisons: the paired t-tests are adjusted with Holm's
    method (:func:`~reglab.stats.holm`) within the table, and the reading column's header
    says how many comparisons the family holds. A row reads ``higher`` or ``lower`` only
    when its adjusted test rejects at ``1 - confidence``. The adjusted differences are kept
    in the table's ``comparisons`` attribute (label -> PairedDifference), for the checks
    of the sentences about it.

    Args:
        comparisons (dict): row label -> :class:`~reglab.stats.PairedDifference`, the
            result of :func:`reglab.stats.paired_difference`.
        title (str): header of the label column. Default: ``"comparison"``.
        scale (float): factor applied to every difference, e.g. ``100`` for percentage
            points of an accuracy. Default: ``100.0``.
        fmt (str): format spec of the scaled differences. Default: ``"+.1f"``.

    Example::

        >>> from reglab.stats.paired import paired_difference
        >>> print(paired_table({"A minus B": paired_difference([0.9, 0.8], [0.85, 0.7])}))
        comparison  mean difference    95% interval    per seed  p (Holm)  reading (1 comparison)
        ----------  ---------------  --------------  ----------  --------  ----------------------
         A minus B             +7.5  [-24.3, +39.3]  +5.0 +10.0     0.205   not clearly different
    """
    if not isinstance(comparisons, Mapping):
        raise TypeError(
            f"comparisons must be a mapping of row label -> PairedDifference, "
            f"got {type(comparisons).__name__}"
        )
    for label, d in comparisons.items():
        if not isinstance(d, PairedDifference):
            raise TypeError(
                f"comparisons[{label!r}] must be a PairedDifference, got {type(d).__name__}"
            )

    def num(v: float) -> str:
        return format(scale * v, fmt)

    level = _confidence(comparisons)
    adjusted = (
        dict(zip(comparisons, holm(comparisons.values()), strict=True)) if comparisons else {}
    )
    rows = [
        [
            name,
            num(d.mean),
            f"[{num(d.low)}, {num(d.high)}]",
            " ".join(num(v) for v in d.differences),
            format(d.p_adjusted, ".3g"),
            d.verdict(effect=False),
        ]
        for name, d in adjusted.items()
    ]
    m = len(adjusted)
    family = f"reading ({m} comparison{'' if m == 1 else 's'})"
    headers = [title, "mean difference", f"{level:.0%} interval", "per seed", "p (Holm)", family]
    table = Table(headers, rows)
    table.comparisons = adjusted
    return table


def _confidence(comparisons: Mapping[str, PairedDifference]) -> float:
    """The one confidence level of ``comparisons`` (0.95 when there are none)."""
    levels = {d.confidence for d in comparisons.values()}
    if len(levels) > 1:
        raise ValueError(f"comparisons mix confidence levels {sorted(levels)}")
    return levels.pop() if levels else 0.95


def seeds_text(values: Sequence, fmt: str) -> str:
    """One value per seed, formatted with ``fmt`` and separated by spaces: a table cell.

    Example::

        >>> seeds_text([0.9712, 0.9655, 0.9701], ".1%")
        '97.1% 96.6% 97.0%'
    """
    if not isinstance(fmt, str):
        raise TypeError(f"fmt must be a format spec string such as '.1%', got {type(fmt).__name__}")
    return " ".join(format(v, fmt) for v in values)


def verdict(
    d: PairedDifference,
    *,
    lower_is_better: bool = False,
    better: str = "better",
    worse: str = "worse",
    unclear: str = "not clearly different",
    **describe,
) -> str:
    """:meth:`PairedDifference.verdict` in better/worse words, for a sentence "A against B:
    <effect with its interval>: <verdict>" about ``d = A - B``.

    The words follow the paired t-test (Holm-adjusted when ``d`` came through
    :func:`~reglab.stats.holm`), never "the same sign for every seed".

    Args:
        d (PairedDifference): the paired difference A - B.
        lower_is_better (bool): a metric where less is better (a loss, an error, a
            calibration error); a negative difference then reads ``better``. Default:
            ``False`` (accuracy).
        better, worse (str): the words for a clear difference either way. Default:
            ``"better"``, ``"worse"``.
        unclear (str): the words when the test does not reject (``{n}``: the number of
            seeds). Default: ``"not clearly different"``.
        **describe: ``effect``, ``scale``, ``unit``, ``digits`` of
            :meth:`PairedDifference.verdict`.

    Example::

        >>> d = paired_difference([0.3, 0.2, 0.4, 0.3, 0.2], [0.5, 0.41, 0.6, 0.52, 0.4])
        >>> verdict(d, lower_is_better=True, effect=False)
        'better'
        >>> verdict(paired_difference([0.3, 0.2, 0.4], [0.5, 0.4, 0.9]), effect=False)
        'not clearly different'
    """
    if not isinstance(d, PairedDifference):
        raise TypeError(f"d must be a PairedDifference, got {type(d).__name__}")
    higher, lower = (worse, better) if lower_is_better else (better, worse)
    return d.verdict(higher, lower, unclear, **describe)
