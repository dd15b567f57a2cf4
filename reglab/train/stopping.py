r"""When to stop training: patience and Prechelt's criteria, one object per rule.

A criterion is fed one epoch at a time through :meth:`StoppingCriterion.update`, which
says whether to stop now. :func:`reglab.train.train` calls it live after every epoch
(``train(..., stopping=GeneralizationLoss(5))``); :func:`replay` feeds a recorded run
through the very same ``update``, so a replayed stop is the live stop. Every criterion
also tracks the *best epoch* (lowest validation loss, or the best value of its
``monitor``), whose weights ``train(..., restore_best=True)`` loads at the end.

With :math:`E_{tr}(t)` the training loss of epoch :math:`t` (the mean loss of its batches,
"measured during epoch :math:`t`") and :math:`E_{va}(t)` the validation loss after it,
the best validation loss so far, the *generalization loss* (percent) and the *training
progress* of a strip of :math:`k` epochs ending at :math:`t` (per mille) are

.. math::
    E_{opt}(t) = \min_{t' \le t} E_{va}(t'), \qquad
    GL(t) = 100\left(\frac{E_{va}(t)}{E_{opt}(t)} - 1\right), \qquad
    P_k(t) = 1000\left(\frac{\sum_{t'=t-k+1}^{t} E_{tr}(t')}
                            {k\,\min_{t'=t-k+1}^{t} E_{tr}(t')} - 1\right).

- :class:`Patience`: stop once ``patience`` epochs in a row did not improve the monitored
  value by more than ``min_delta`` (the rule of most training libraries).
- :class:`GeneralizationLoss` (:math:`GL_\alpha`): stop after the first epoch with
  :math:`GL(t) > \alpha`.
- :class:`ProgressQuotient` (:math:`PQ_\alpha`): stop at the first end of a strip with
  :math:`GL(t) / P_k(t) > \alpha`.
- :class:`UpStrips` (:math:`UP_s`): stop after :math:`s` successive strips whose
  validation loss (at the strip's end) went up.

Reference:
    L. Prechelt, "Early stopping - but when?", in *Neural Networks: Tricks of the Trade*,
    Springer, 1998, pp. 55-69.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from reglab._checks import check_nonnegative, check_positive_int

__all__ = [
    "MONITORS",
    "GeneralizationLoss",
    "Patience",
    "ProgressQuotient",
    "StoppingCriterion",
    "UpStrips",
    "generalization_loss",
    "training_progress",
]

#: The :class:`~reglab.train.History` fields a criterion may watch. The test metrics are
#: not among them: choosing on the test set would leak it into the model.
MONITORS = ("val_loss", "val_acc", "train_loss", "train_acc")


def _check_finite(value, name: str, bound: str) -> None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not (number and math.isfinite(value)) or (bound == "> 0" and not value > 0):
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")


def _check_loss(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def generalization_loss(val_loss: float, best_val_loss: float) -> float:
    r""":math:`GL(t) = 100\,(E_{va}(t) / E_{opt}(t) - 1)`, the relative excess of the current
    validation loss over the best so far, in percent."""
    val_loss = _check_loss("val_loss", val_loss)
    best_val_loss = _check_loss("best_val_loss", best_val_loss)
    return 100 * (val_loss / best_val_loss - 1)  # GL(t) = 100 (E_va / E_opt - 1)


def training_progress(strip: Sequence[float]) -> float:
    r""":math:`P_k(t) = 1000\,(\mathrm{mean} / \min - 1)` over a strip of training losses, in
    per mille: large while the training loss still falls fast, near 0 once it flattens."""
    strip = [_check_loss("train_loss", v) for v in strip]
    if not strip:
        raise ValueError("strip must hold at least one training loss")
    return 1000 * (math.fsum(strip) / (len(strip) * min(strip)) - 1)  # P_k(t)


class StoppingCriterion:
    r"""Base class: :meth:`update` once per epoch with that epoch's metrics.

    Subclasses set ``requires`` (the :data:`MONITORS` that :meth:`update` needs),
    ``monitor``/``mode`` (what "best epoch" means) and implement ``_should_stop``.

    Attributes:
        epoch (int): epochs seen so far (1-based after the first :meth:`update`).
        best_epoch (int | None): the first epoch with the best ``monitor`` value so far;
            the weights a restore-best rule keeps.
        best_value (float | None): that value (:math:`E_{opt}(t)` for ``"val_loss"``).
        seen (dict): every value of each required metric, one per epoch.
    """

    name = "criterion"
    monitor = "val_loss"
    mode = "min"
    requires: tuple[str, ...] = ("val_loss",)

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget every epoch seen so far (:func:`~reglab.train.train` calls it first)."""
        self.epoch = 0
        self.best_epoch: int | None = None
        self.best_value: float | None = None
        self.seen: dict[str, list[float]] = {name: [] for name in self.requires}

    def _check(self, name: str, value: float) -> float:
        return _check_loss(name, value)  # Prechelt's ratios need losses > 0

    def update(self, **metrics: float) -> bool:
        """Record one epoch; return ``True`` if training should stop now.

        Args:
            **metrics (float): this epoch's values, by :class:`~reglab.train.History`
                field name; at least those in ``requires``, e.g. ``val_loss=0.31``.
        """
        missing = [name for name in self.requires if name not in metrics]
        if missing:
            raise ValueError(f"{self.name} needs {missing} in update(), got {sorted(metrics)}")
        values = {name: self._check(name, metrics[name]) for name in self.requires}
        self.epoch += 1
        for name, value in values.items():
            self.seen[name].append(value)
        value = values[self.monitor]
        if not math.isnan(value) and (
            self.best_value is None or self._better(value, self.best_value)
        ):
            self.best_epoch, self.best_value = self.epoch, value  # E_opt(t), t*
        return self._should_stop()

    def _better(self, value: float, best: float) -> bool:
        return value < best if self.mode == "min" else value > best  # ties keep the first

    def _should_stop(self) -> bool:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name


class Patience(StoppingCriterion):
    r"""Stop once ``patience`` epochs in a row did not improve the monitored value by more
    than ``min_delta``.

    .. math::
        \text{improvement at } t \iff v_t < v^\ast - \delta, \qquad
        \text{stop at } t \iff t - t^\ast \ge \text{patience}

    where :math:`v^\ast` is the last value that counted as an improvement, at epoch
    :math:`t^\ast` (mode ``"max"``: :math:`v_t > v^\ast + \delta`). A NaN never improves.

    Args:
        patience (int): epochs without improvement before stopping, ``>= 1``. Default: ``5``.
        min_delta (float): the smallest change that counts, ``>= 0``. Default: ``0.0``.
        monitor (str): the :class:`~reglab.train.History` field to watch, one of
            :data:`MONITORS`. Default: ``"val_loss"``.
        mode (str): ``"min"`` (losses) or ``"max"`` (accuracies). Default: ``"min"``.

    Example::

        >>> criterion = Patience(patience=2)
        >>> [criterion.update(val_loss=v) for v in (0.5, 0.4, 0.45, 0.41)]
        [False, False, False, True]
        >>> history = train(model, train_data, val_data=val_data, stopping=Patience(5))
    """

    def __init__(
        self,
        patience: int = 5,
        *,
        min_delta: float = 0.0,
        monitor: str = "val_loss",
        mode: str = "min",
    ) -> None:
        check_positive_int(patience, "patience")
        _check_finite(min_delta, "min_delta", ">= 0")
        check_nonnegative(min_delta, "min_delta")
        if monitor not in MONITORS:
            raise ValueError(f"monitor must be one of {MONITORS}, got {monitor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.patience, self.min_delta = patience, float(min_delta)
        self.monitor, self.mode, self.requires = monitor, mode, (monitor,)
        self.name = f"patience {patience}"
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self.reference: float | None = None  # v*, the last value that counted
        self.wait = 0  # t - t*

    def _check(self, name: str, value: float) -> float:
        return float(value)  # any metric; a NaN never improves

    def _should_stop(self) -> bool:
        value = self.seen[self.monitor][-1]
        if self.reference is None:
            improved = not math.isnan(value)
        elif self.mode == "min":
            improved = value < self.reference - self.min_delta  # v_t < v* - delta
        else:
            improved = value > self.reference + self.min_delta  # v_t > v* + delta
        if improved:
            self.reference, self.wait = value, 0
            return False
        self.wait += 1
        return self.wait >= self.patience  # t - t* >= patience


class GeneralizationLoss(StoppingCriterion):
    r""":math:`GL_\alpha`: stop after the first epoch whose generalization loss exceeds
    ``alpha`` percent.

    .. math::
        \text{stop at } t \iff GL(t) > \alpha

    Args:
        alpha (float): threshold in percent, ``> 0``. Default: ``5.0``.

    Example::

        >>> criterion = GeneralizationLoss(alpha=5.0)
        >>> [criterion.update(val_loss=v) for v in (0.50, 0.40, 0.41, 0.43)]
        [False, False, False, True]
    """

    def __init__(self, alpha: float = 5.0) -> None:
        _check_finite(alpha, "alpha", "> 0")
        self.alpha = alpha
        self.name = f"GL_{alpha:g}"
        super().__init__()

    def _should_stop(self) -> bool:
        gl = generalization_loss(self.seen["val_loss"][-1], self.best_value)  # GL(t)
        return gl > self.alpha  # GL(t) > alpha


class ProgressQuotient(StoppingCriterion):
    r""":math:`PQ_\alpha`: stop at the first end of a strip of ``strip_length`` epochs where
    the generalization loss is large *relative to* the training progress.

    .. math::
        \text{stop at } t \iff t \equiv 0 \pmod k \ \text{ and }\ \frac{GL(t)}{P_k(t)} > \alpha

    A strip with no progress at all (:math:`P_k = 0`) stops as soon as :math:`GL > 0`.
    Needs the training loss of every epoch (``train_loss``) besides ``val_loss``.

    Args:
        alpha (float): threshold, ``> 0``. Default: ``0.5``.
        strip_length (int): :math:`k`, epochs per strip, ``>= 1``. Default: ``5``.
    """

    requires = ("val_loss", "train_loss")

    def __init__(self, alpha: float = 0.5, *, strip_length: int = 5) -> None:
        _check_finite(alpha, "alpha", "> 0")
        check_positive_int(strip_length, "strip_length")
        self.alpha, self.strip_length = alpha, strip_length
        self.name = f"PQ_{alpha:g}"
        super().__init__()

    def _should_stop(self) -> bool:
        if self.epoch % self.strip_length:
            return False  # only evaluated at the end of a strip
        gl = generalization_loss(self.seen["val_loss"][-1], self.best_value)  # GL(t)
        progress = training_progress(self.seen["train_loss"][-self.strip_length :])  # P_k(t)
        if progress == 0:
            return gl > 0
        return gl / progress > self.alpha  # PQ(t) = GL(t) / P_k(t) > alpha


class UpStrips(StoppingCriterion):
    r""":math:`UP_s`: stop after ``s`` successive strips in which the validation loss rose.

    .. math::
        \text{stop at } t \iff E_{va}(t - jk) > E_{va}(t - (j+1)k)
        \ \text{ for } j = 0, \dots, s-1

    evaluated at the ends of strips only (:math:`t \equiv 0 \bmod k`); the first
    comparison is at :math:`t = 2k`.

    Args:
        s (int): successive rising strips, ``>= 1``. Default: ``3``.
        strip_length (int): :math:`k`, ``>= 1``. Default: ``5``.
    """

    def __init__(self, s: int = 3, *, strip_length: int = 5) -> None:
        check_positive_int(s, "s")
        check_positive_int(strip_length, "strip_length")
        self.s, self.strip_length = s, strip_length
        self.name = f"UP_{s}"
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self.rising = 0  # successive strips that went up

    def _should_stop(self) -> bool:
        k, val_loss = self.strip_length, self.seen["val_loss"]
        if self.epoch % k or self.epoch < 2 * k:
            return False
        went_up = val_loss[-1] > val_loss[-1 - k]  # E_va(t) > E_va(t - k)
        self.rising = self.rising + 1 if went_up else 0
        return self.rising >= self.s
