r"""Paired comparisons of training runs: is setting A better than setting B?

Two settings trained with the same seeds (same initialization stream, same data, same
budget) give paired results :math:`a_s, b_s`. The per-seed differences
:math:`d_s = a_s - b_s` cancel the variance that both runs share. The book states "A
beats B" only when the paired t-test rejects "no difference" at 5%, after Holm's
adjustment within the table or figure the comparison belongs to (:func:`holm`); otherwise
it says that the run cannot tell the two apart. "The same sign for every seed" is only a
description (:attr:`PairedDifference.all_same_sign`): with 3 seeds, two settings that do
not differ at all show it one time in four.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real

import torch
from scipy import stats as _scipy_stats

from reglab._checks import check_items

__all__ = ["PairedDifference", "holm", "paired_difference", "tally"]


@dataclass(frozen=True)
class PairedDifference:
    """The result of :func:`paired_difference`.

    Attributes:
        mean (float): mean of the per-seed differences :math:`\\bar d`.
        low (float): lower end of the paired t interval.
        high (float): upper end of the paired t interval.
        all_same_sign (bool): every difference is > 0, or every one is < 0.
        differences (tuple[float, ...]): the per-seed differences :math:`a_s - b_s`.
        confidence (float): the interval's confidence level.
        p_value (float): two-sided p-value of the paired t-test of :math:`\\bar d = 0`.
        p_adjusted (float): ``p_value`` after Holm's adjustment within its family
            (:func:`holm`); equal to ``p_value`` for a comparison made alone.
        family_size (int): how many comparisons that adjustment covered (1 when alone).
    """

    mean: float
    low: float
    high: float
    all_same_sign: bool
    differences: tuple[float, ...]
    confidence: float
    p_value: float = 1.0
    p_adjusted: float = 1.0
    family_size: int = 1

    @property
    def rejects(self) -> bool:
        """The paired t-test rejects "no difference" at level ``1 - confidence``, after
        Holm's adjustment within the family (:func:`holm`)."""
        return self.p_adjusted < 1 - self.confidence

    @property
    def n(self) -> int:
        """The number of paired seeds."""
        return len(self.differences)

    def describe(self, scale: float = 100.0, unit: str = "points", digits: int = 1) -> str:
        """The effect with its interval, e.g. ``"+1.6 points (95% interval -0.5 to +3.7)"``.

        The interval is the comparison's own (unadjusted) paired t interval. In a family
        (:func:`holm`) the verdict reads the Holm-adjusted p-value instead, so the text then
        adds it, e.g. ``"+1.6 points (95% interval +0.2 to +3.0; Holm-adjusted p = 0.09
        over 4)"``: an interval that excludes zero is not by itself a verdict.

        Args:
            scale (float): multiplies mean and interval (100 turns accuracies into
                percentage points). Default: ``100.0``.
            unit (str): the unit after the mean; ``""`` for none. Default: ``"points"``.
            digits (int): decimals. Default: ``1``.
        """
        f = f"+.{digits}f"
        level = f"{self.confidence:.0%}"
        unit = f" {unit}" if unit else ""  # a unitless effect: no trailing space
        # in a family, the interval is the comparison's own; the verdict reads Holm's p,
        # so say which p decides, lest an interval that excludes 0 read as a verdict
        holm = (
            ""
            if self.family_size == 1
            else (f"; Holm-adjusted {_format_p(self.p_adjusted)} over {self.family_size}")
        )
        effect = (
            f"{self.mean * scale:{f}}{unit} ({level} interval "
            f"{self.low * scale:{f}} to {self.high * scale:{f}}"
        ).replace("-", "\u2212")  # a true minus sign in the numbers
        return f"{effect}{holm})"

    @property
    def excludes_zero(self) -> bool:
        """Whether the (unadjusted) interval lies entirely above or entirely below zero.

        A description, not the verdict (see :attr:`rejects`).
        """
        return self.low > 0 or self.high < 0

    @property
    def clear(self) -> bool:
        """Whether the difference is clear, which is the same as :attr:`rejects`.

        The paired t-test decides, Holm-adjusted when the difference came through
        :func:`holm`. "The same sign for every seed" (:attr:`all_same_sign`) is not enough.
        """
        return self.rejects

    @property
    def sign(self) -> int:
        """``+1`` if A is clearly larger, ``-1`` if clearly smaller, ``0`` if the test does
        not reject."""
        if not self.rejects:
            return 0
        return 1 if self.mean > 0 else -1

    def verdict(
        self,
        higher: str = "higher",
        lower: str = "lower",
        unclear: str = "not clearly different",
        *,
        effect: bool = True,
        scale: float = 100.0,
        unit: str = "points",
        digits: int = 1,
    ) -> str:
        """The effect with its interval and the test's reading, for a sentence that must hold
        whatever the run gives: ``"+1.6 points (95% interval -0.5 to +3.7): higher"``.

        Args:
            higher (str): the word for "A is clearly larger". Default: ``"higher"``.
            lower (str): the word for "A is clearly smaller". Default: ``"lower"``.
            unclear (str): the words when the test does not reject; ``{n}`` is replaced by
                the number of seeds, e.g. ``"not clearly different (with {n} seeds this
                run cannot tell them apart)"``. Default: ``"not clearly different"``.
            effect (bool): put the effect and its interval (:meth:`describe`) in front.
                Default: ``True``.
            scale, unit, digits: as in :meth:`describe`. Defaults: ``100.0``,
                ``"points"``, ``1``.

        Returns:
            str: ``"<effect>: <higher|lower|unclear>"``, or the word alone when ``effect``
            is ``False``.

        Example::

            >>> d = paired_difference([0.9, 0.8, 0.7], [0.89, 0.7, 0.6])
            >>> d.verdict()  # the same sign for every seed, yet a wide interval
            '+7.0 points (95% interval −5.9 to +19.9): not clearly different'
            >>> d5 = paired_difference([0.91, 0.93, 0.92, 0.94, 0.92], [0.9, 0.91, 0.9, 0.92, 0.9])
            >>> d5.verdict("better", "worse")
            '+1.8 points (95% interval +1.2 to +2.4): better'
            >>> d.verdict("better", "worse", "tied with {n} seeds", effect=False)
            'tied with 3 seeds'
        """
        if self.sign == 0:
            word = unclear.replace("{n}", str(self.n))
        else:
            word = higher if self.sign > 0 else lower
        if not effect:
            return word
        return f"{self.describe(scale, unit, digits)}: {word}"

    def __iter__(self):
        # (mean, low, high, all_same_sign), so the result unpacks like a tuple
        return iter((self.mean, self.low, self.high, self.all_same_sign))


def _format_p(p: float) -> str:
    """``"p = 0.09"`` (two significant digits), or ``"p < 0.001"`` below a thousandth."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def _as_floats(values, name: str) -> list[float]:
    if isinstance(values, torch.Tensor):
        if values.dim() != 1:
            raise ValueError(f"{name} must be 1-D (one value per seed), got {tuple(values.shape)}")
        return [float(v) for v in values.tolist()]
    if isinstance(values, Mapping | str | bytes) or not isinstance(values, Iterable):
        raise TypeError(
            f"{name} must be a sequence of numbers, one per seed, got {type(values).__name__} "
            "(a dict would contribute its keys)"
        )
    values = list(values)
    for v in values:
        if isinstance(v, torch.Tensor) and v.numel() == 1:
            continue
        if isinstance(v, bool) or not isinstance(v, Real):
            raise TypeError(f"{name} must hold numbers, got {type(v).__name__} {v!r}")
    return [float(v) for v in values]


def paired_difference(
    a: Sequence[float] | torch.Tensor,
    b: Sequence[float] | torch.Tensor,
    *,
    confidence: float = 0.95,
) -> PairedDifference:
    r"""Mean of the paired differences ``a - b`` with a Student-t confidence interval.

    .. math::
        d_s = a_s - b_s, \qquad
        \bar d \pm t_{n-1,\,(1+c)/2}\, \frac{s_d}{\sqrt{n}}

    where :math:`s_d` is the sample standard deviation of the :math:`n` differences.

    Args:
        a (sequence of float): one metric per seed for setting A.
        b (sequence of float): the same metric, same seeds, same order, for setting B.
        confidence (float): confidence level :math:`c` of the interval, in (0, 1).
            Default: ``0.95``.

    Returns:
        PairedDifference: ``(mean, low, high, all_same_sign)`` and more; it unpacks as
        that 4-tuple.

    Raises:
        ValueError: ``a`` and ``b`` differ in length, have fewer than 2 seeds, hold a
            non-finite value, or ``confidence`` is outside (0, 1).

    Example::

        >>> d = paired_difference([0.91, 0.93, 0.92], [0.90, 0.91, 0.915])
        >>> d.all_same_sign, f"{d.mean:.4f}", d.rejects  # one sign on 3 seeds is no verdict
        (True, '0.0117', False)
    """
    a, b = _as_floats(a, "a"), _as_floats(b, "b")
    if len(a) != len(b):
        raise ValueError(f"a and b must pair seed by seed, got {len(a)} and {len(b)} values")
    if len(a) < 2:
        raise ValueError(f"a paired comparison needs at least 2 seeds, got {len(a)}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if not all(math.isfinite(v) for v in a + b):
        raise ValueError("a and b must hold finite values only")
    d = [x - y for x, y in zip(a, b, strict=True)]  # d_s = a_s - b_s
    n = len(d)
    mean = math.fsum(d) / n  # \bar d
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in d) / (n - 1))  # s_d
    half = float(_scipy_stats.t.ppf((1 + confidence) / 2, n - 1) * sd / math.sqrt(n))
    same = all(v > 0 for v in d) or all(v < 0 for v in d)
    if sd == 0:  # every seed moved by the same amount: certain unless that amount is 0
        p = 1.0 if mean == 0 else 0.0
    else:
        p = float(2 * _scipy_stats.t.sf(abs(mean) / (sd / math.sqrt(n)), n - 1))
    return PairedDifference(
        mean=mean,
        low=mean - half,
        high=mean + half,
        all_same_sign=same,
        differences=tuple(d),
        confidence=confidence,
        p_value=p,
        p_adjusted=p,
        family_size=1,
    )


def holm(differences: Sequence[PairedDifference]) -> list[PairedDifference]:
    r"""Holm's step-down adjustment of the p-values of one family of comparisons.

    A table or a figure makes several comparisons at once; testing each at 5% would state
    a difference that is not there more often than 1 time in 20. Holm's method keeps the
    chance of *any* false statement in the family at most :math:`\alpha`: sort the
    :math:`m` p-values, :math:`p_{(1)} \le \dots \le p_{(m)}`, and

    .. math::
        \tilde p_{(i)} = \max_{j \le i} \min\{1, (m - j + 1)\, p_{(j)}\}.

    Args:
        differences (sequence of PairedDifference): the family, from
            :func:`paired_difference`.

    Returns:
        list[PairedDifference]: copies in the same order, with ``p_adjusted`` and
        ``family_size`` set; their ``rejects`` then reads the adjusted test.

    Raises:
        TypeError: an element is not a :class:`PairedDifference`.
        ValueError: the family is empty.

    Example::

        >>> a = paired_difference([1.0, 1.2, 0.9, 1.1, 1.0], [0.0, 0.1, 0.1, 0.0, 0.2])
        >>> b = paired_difference([0.1, -0.1, 0.2, 0.0, -0.2], [0.0] * 5)
        >>> [d.rejects for d in holm([a, b])]
        [True, False]

    Reference: S. Holm, "A simple sequentially rejective multiple test procedure",
    Scandinavian Journal of Statistics 6 (1979).
    """
    from dataclasses import replace

    differences = check_items(differences, PairedDifference, "differences")
    m = len(differences)
    order = sorted(range(m), key=lambda i: differences[i].p_value)
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):  # \tilde p_{(i)} = max_{j<=i} min(1, (m-j+1) p_(j))
        running = max(running, min(1.0, (m - rank) * differences[i].p_value))
        adjusted[i] = running
    return [replace(d, p_adjusted=adjusted[i], family_size=m) for i, d in enumerate(differences)]


def tally(differences: Sequence[PairedDifference]) -> str:
    r"""``"<made>/<clear>"``: how many comparisons a page makes and how many of them its
    tests find clear (:attr:`PairedDifference.rejects`), for the build report.

    A chapter glues it, hidden, as ``comparisons``; the build report's claim-check table
    reads it from the executed notebook.

    Args:
        differences (sequence of PairedDifference): every comparison the page states,
            Holm-adjusted within its table or figure (:func:`holm`).

    Raises:
        TypeError: an element is not a :class:`PairedDifference`.

    Example::

        >>> a = paired_difference([1.0, 1.2, 0.9, 1.1, 1.0], [0.0, 0.1, 0.1, 0.0, 0.2])
        >>> b = paired_difference([0.1, -0.1, 0.2, 0.0, -0.2], [0.0] * 5)
        >>> tally(holm([a, b]))
        '2/1'
    """
    if isinstance(differences, str) or not isinstance(differences, Iterable):
        raise TypeError(
            f"differences must be a sequence of PairedDifference, got {type(differences).__name__}"
        )
    differences = list(differences)
    for i, d in enumerate(differences):
        if not isinstance(d, PairedDifference):
            raise TypeError(f"differences[{i}] must be a PairedDifference, got {type(d).__name__}")
    return f"{len(differences)}/{sum(d.rejects for d in differences)}"
