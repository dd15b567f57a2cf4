r"""Paired comparisons of training runs: is setting A better than setting B?

Two settings trained with the same seeds (same initialization stream, same data, same
budget) give paired results :math:`a_s, b_s`. The per-seed differences
:math:`d_s = a_s - b_s` cancel the variance that both runs share, so the book states "A
beats B" only when every :math:`d_s` has the same sign, or when the paired Student-t
interval for the mean difference excludes zero. Otherwise it says that there is no clear
difference at this scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from scipy import stats as _scipy_stats

__all__ = ["PairedDifference", "paired_difference"]


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
    """

    mean: float
    low: float
    high: float
    all_same_sign: bool
    differences: tuple[float, ...]
    confidence: float

    @property
    def excludes_zero(self) -> bool:
        """The interval lies entirely above or entirely below zero."""
        return self.low > 0 or self.high < 0

    @property
    def clear(self) -> bool:
        """Whether the difference is clear (one sign for every seed, or an interval without 0)."""
        return self.all_same_sign or self.excludes_zero

    @property
    def sign(self) -> int:
        """``+1`` if A is clearly larger, ``-1`` if clearly smaller, ``0`` if unclear."""
        if not self.clear:
            return 0
        return 1 if self.mean > 0 else -1

    def verdict(
        self,
        higher: str = "higher",
        lower: str = "lower",
        unclear: str = "no clear difference at this scale",
    ) -> str:
        """The reading in words, for a sentence that must hold whatever the run gives.

        Args:
            higher (str): the word for "A is clearly larger". Default: ``"higher"``.
            lower (str): the word for "A is clearly smaller". Default: ``"lower"``.
            unclear (str): the words for neither, for example ``"not clearly different"``
                where the sentence goes on with "than B". Default: ``"no clear difference
                at this scale"``.

        Returns:
            str: ``"<higher|lower> for every seed"``, ``"<higher|lower> (the interval
            excludes zero)"``, or ``unclear``.

        Example::

            >>> paired_difference([0.9, 0.8, 0.7], [0.8, 0.7, 0.6]).verdict()
            'higher for every seed'
            >>> paired_difference([0.1, 0.2], [0.2, 0.1]).verdict("better", "worse")
            'no clear difference at this scale'
        """
        if self.sign == 0:
            return unclear
        word = higher if self.sign > 0 else lower
        if self.all_same_sign:
            return f"{word} for every seed"
        return f"{word} (the interval excludes zero)"

    def __iter__(self):
        # (mean, low, high, all_same_sign), so the result unpacks like a tuple
        return iter((self.mean, self.low, self.high, self.all_same_sign))


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
        >>> d.all_same_sign, f"{d.mean:.4f}"
        (True, '0.0117')
    """
    a = [float(v) for v in (a.tolist() if isinstance(a, torch.Tensor) else a)]
    b = [float(v) for v in (b.tolist() if isinstance(b, torch.Tensor) else b)]
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
    return PairedDifference(
        mean=mean,
        low=mean - half,
        high=mean + half,
        all_same_sign=same,
        differences=tuple(d),
        confidence=confidence,
    )
