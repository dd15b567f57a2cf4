r"""Stopping criteria from Prechelt, "Early stopping — but when?" (1998), and patience.

Each criterion watches the per-epoch training loss :math:`E_{tr}(t)` and validation loss
:math:`E_{va}(t)` and says when to stop. With the lowest validation loss so far

.. math::
    E_{opt}(t) = \min_{t' \le t} E_{va}(t'),

Prechelt defines the *generalization loss* (in percent) and the *training progress* of a
strip of :math:`k` epochs ending at :math:`t` (in per mille):

.. math::
    GL(t) = 100\left(\frac{E_{va}(t)}{E_{opt}(t)} - 1\right), \qquad
    P_k(t) = 1000\left(\frac{\sum_{t'=t-k+1}^{t} E_{tr}(t')}
                            {k\,\min_{t'=t-k+1}^{t} E_{tr}(t')} - 1\right).

- :class:`GeneralizationLoss` (:math:`GL_\alpha`): stop after the first epoch with
  :math:`GL(t) > \alpha`.
- :class:`ProgressQuotient` (:math:`PQ_\alpha`): stop after the first end of a strip with
  :math:`GL(t) / P_k(t) > \alpha`.
- :class:`UpStrips` (:math:`UP_s`): stop after :math:`s` successive strips whose
  validation loss (at the strip's end) went up.
- :class:`Patience`: stop once the validation loss has not improved by more than
  ``min_delta`` for ``patience`` epochs in a row (the rule of most training libraries).

A criterion only decides *when* to stop; the weights one keeps are those of the epoch
with the lowest validation loss up to then (:func:`best_epoch`). :func:`stopping_epoch`
and :func:`replay` run a recorded run through a criterion, which is how Prechelt compared
them: training is deterministic, so the first :math:`t` epochs of a long run are exactly
the run that a criterion would have stopped at :math:`t`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from reglab._checks import check_positive, check_positive_int
from reglab.train.early_stopping import EarlyStopping

__all__ = [
    "GeneralizationLoss",
    "Patience",
    "ProgressQuotient",
    "Replay",
    "StoppingCriterion",
    "UpStrips",
    "best_epoch",
    "generalization_loss",
    "replay",
    "stopping_epoch",
    "training_progress",
]


def _check_loss(name: str, value: float) -> float:
    value = float(value)
    check_positive(value, name)
    return value


def _check_strip_length(strip_length: int) -> None:
    check_positive_int(strip_length, "strip_length")


def generalization_loss(val_loss: float, best_val_loss: float) -> float:
    r""":math:`GL(t) = 100\,(E_{va}(t) / E_{opt}(t) - 1)`, the relative excess of the current
    validation loss over the best so far, in percent."""
    return 100 * (val_loss / best_val_loss - 1)  # GL(t) = 100 (E_va / E_opt - 1)


def training_progress(strip: Sequence[float]) -> float:
    r""":math:`P_k(t) = 1000\,(\mathrm{mean} / \min - 1)` over a strip of training losses, in
    per mille: large while training loss still falls fast, near 0 once it flattens."""
    strip = [_check_loss("train_loss", v) for v in strip]
    if not strip:
        raise ValueError("strip must hold at least one training loss")
    return 1000 * (math.fsum(strip) / (len(strip) * min(strip)) - 1)  # P_k(t)


class StoppingCriterion:
    """Base class: :meth:`step` once per epoch, after evaluating on the validation split.

    Subclasses implement ``_decide``. ``epoch`` counts the calls to :meth:`step`
    (1-based); ``best_val_loss`` is :math:`E_{opt}(t)`.
    """

    name = "criterion"

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything seen so far (to replay another run)."""
        self.epoch = 0
        self.best_val_loss = math.inf
        self.train_losses: list[float] = []
        self.val_losses: list[float] = []

    def step(self, train_loss: float, val_loss: float) -> bool:
        """Record one epoch's losses; return ``True`` if training should stop now.

        Args:
            train_loss (float): :math:`E_{tr}(t) > 0`, e.g. the epoch's mean batch loss.
            val_loss (float): :math:`E_{va}(t) > 0` on the validation split.
        """
        train_loss = _check_loss("train_loss", train_loss)
        val_loss = _check_loss("val_loss", val_loss)
        self.epoch += 1
        self.train_losses.append(train_loss)
        self.val_losses.append(val_loss)
        self.best_val_loss = min(self.best_val_loss, val_loss)  # E_opt(t)
        return self._decide(val_loss)

    def _decide(self, val_loss: float) -> bool:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name


class GeneralizationLoss(StoppingCriterion):
    r""":math:`GL_\alpha`: stop after the first epoch whose generalization loss exceeds
    ``alpha`` percent.

    .. math::
        \text{stop at } t \iff GL(t) > \alpha

    Args:
        alpha (float): threshold in percent, ``> 0``. Default: ``5.0``.

    Example::

        >>> criterion = GeneralizationLoss(alpha=5.0)
        >>> [criterion.step(1.0, v) for v in (0.50, 0.40, 0.41, 0.43)]
        [False, False, False, True]
    """

    def __init__(self, alpha: float = 5.0) -> None:
        check_positive(alpha, "alpha")  # in percent
        self.alpha = alpha
        self.name = f"GL_{alpha:g}"
        super().__init__()

    def _decide(self, val_loss):
        return generalization_loss(val_loss, self.best_val_loss) > self.alpha


class ProgressQuotient(StoppingCriterion):
    r""":math:`PQ_\alpha`: stop after the first end of a strip of ``strip_length`` epochs
    where the generalization loss is large *relative to* the training progress.

    .. math::
        \text{stop at } t \iff t \equiv 0 \pmod k \ \text{ and }\ \frac{GL(t)}{P_k(t)} > \alpha

    A strip with no progress at all (:math:`P_k = 0`) stops as soon as :math:`GL > 0`.

    Args:
        alpha (float): threshold, ``> 0``. Default: ``0.5``.
        strip_length (int): :math:`k`, epochs per strip, ``>= 1``. Default: ``5``.
    """

    def __init__(self, alpha: float = 0.5, *, strip_length: int = 5) -> None:
        check_positive(alpha, "alpha")
        _check_strip_length(strip_length)
        self.alpha, self.strip_length = alpha, strip_length
        self.name = f"PQ_{alpha:g}"
        super().__init__()

    def _decide(self, val_loss):
        if self.epoch % self.strip_length:
            return False  # only evaluated at the end of a strip
        gl = generalization_loss(val_loss, self.best_val_loss)
        progress = training_progress(self.train_losses[-self.strip_length :])
        if progress == 0:
            return gl > 0
        return gl / progress > self.alpha  # PQ(t) = GL(t) / P_k(t)


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
        _check_strip_length(strip_length)
        self.s, self.strip_length = s, strip_length
        self.name = f"UP_{s}"
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self.rising = 0

    def _decide(self, val_loss):
        k = self.strip_length
        if self.epoch % k or self.epoch < 2 * k:
            return False
        went_up = val_loss > self.val_losses[-1 - k]  # E_va(t) > E_va(t - k)
        self.rising = self.rising + 1 if went_up else 0
        return self.rising >= self.s


class Patience(StoppingCriterion):
    r"""Stop once ``patience`` epochs in a row did not improve the best validation loss by
    more than ``min_delta``: the rule of :class:`reglab.train.EarlyStopping`
    (which it runs), as a criterion on recorded losses.

    .. math::
        \text{improvement at } t \iff E_{va}(t) < v^\ast - \delta, \qquad
        \text{stop at } t \iff t - t^\ast \ge \text{patience}

    where :math:`v^\ast` is the last value that counted as an improvement, at epoch
    :math:`t^\ast`.

    Args:
        patience (int): epochs without improvement before stopping, ``>= 1``. Default: ``5``.
        min_delta (float): the smallest decrease that counts, ``>= 0``. Default: ``0.0``.

    Example::

        >>> criterion = Patience(patience=2)
        >>> [criterion.step(1.0, v) for v in (0.5, 0.4, 0.45, 0.41)]
        [False, False, False, True]
    """

    def __init__(self, patience: int = 5, *, min_delta: float = 0.0) -> None:
        # EarlyStopping checks both arguments; no weights are kept, so no model is needed
        self.rule = EarlyStopping(patience, min_delta=min_delta, restore_best=False)
        self.patience, self.min_delta = patience, min_delta
        self.name = f"patience {patience}"
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self.rule.reset()

    def _decide(self, val_loss):
        return self.rule.step(self.epoch, val_loss, model=None)


def stopping_epoch(
    criterion: StoppingCriterion, train_loss: Sequence[float], val_loss: Sequence[float]
) -> int | None:
    """Replay a recorded run through ``criterion``: the first (1-based) epoch at which it
    says stop, or ``None`` if it never does. The criterion is reset first.

    Example::

        >>> stopping_epoch(Patience(2), [1.0] * 5, [0.5, 0.4, 0.45, 0.41, 0.3])
        4
    """
    if len(train_loss) != len(val_loss):
        raise ValueError(
            f"train_loss and val_loss must have one value per epoch, got "
            f"{len(train_loss)} and {len(val_loss)}"
        )
    criterion.reset()
    for epoch, (e_tr, e_va) in enumerate(zip(train_loss, val_loss, strict=True), start=1):
        if criterion.step(e_tr, e_va):
            return epoch
    return None


def best_epoch(val_loss: Sequence[float], until: int | None = None) -> int:
    """The (1-based) epoch with the lowest validation loss among epochs ``1..until``
    (the first one on ties): the weights a restore-best rule keeps.

    Args:
        val_loss (sequence of float): one value per epoch.
        until (int, optional): last epoch considered, ``1 <= until <= len(val_loss)``.
            Default: all epochs.
    """
    if not len(val_loss):
        raise ValueError("val_loss must hold at least one epoch")
    until = len(val_loss) if until is None else until
    check_positive_int(until, "until")
    if until > len(val_loss):
        raise ValueError(f"until must be an integer in [1, {len(val_loss)}], got {until!r}")
    values = list(val_loss[:until])
    return values.index(min(values)) + 1


@dataclass(frozen=True)
class Replay:
    """What a criterion decides on a recorded run (see :func:`replay`).

    Attributes:
        criterion (str): the criterion's name, e.g. ``"GL_5"``.
        stopped_epoch (int | None): the epoch at which it stops; ``None`` if it never
            fires within the run (training then uses the whole budget).
        restored_epoch (int): the epoch whose weights are kept: the lowest validation
            loss up to the stop.
        epochs_trained (int): the cost, ``stopped_epoch`` or the run's length.
        test_loss (float | None): test loss of the kept weights, if the run recorded it.
        test_acc (float | None): test accuracy of the kept weights, if recorded.
    """

    criterion: str
    stopped_epoch: int | None
    restored_epoch: int
    epochs_trained: int
    test_loss: float | None
    test_acc: float | None


def replay(criterion: StoppingCriterion, history) -> Replay:
    """Apply ``criterion`` to a recorded :class:`~reglab.train.History` (trained
    without early stopping) and read off the kept epoch's test metrics.

    The test metrics are only *read* at the epoch the criterion and the validation loss
    choose, exactly as if that epoch's weights had been restored and evaluated once.

    Args:
        criterion (StoppingCriterion): the rule; it is reset first.
        history (History): per-epoch ``train_loss`` and ``val_loss`` (and optionally
            ``test_loss``, ``test_acc``) of one run.
    """
    stopped = stopping_epoch(criterion, history.train_loss, history.val_loss)
    trained = len(history.val_loss) if stopped is None else stopped
    kept = best_epoch(history.val_loss, trained)
    test_loss = history.test_loss[kept - 1] if history.test_loss else None
    test_acc = history.test_acc[kept - 1] if history.test_acc else None
    return Replay(criterion.name, stopped, kept, trained, test_loss, test_acc)
