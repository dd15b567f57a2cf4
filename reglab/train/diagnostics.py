r"""Does a run overfit, and did its budget decide the result?

A page that compares regularizers must first show that its baseline has something to
regularize: the network memorises its training set and its validation loss turns up
after a minimum. And every setting must be stopped on validation before the epoch cap,
or the cap, not the validation data, chose its weights. :func:`overfitting` reads both
from a :class:`~reglab.train.History` recorded with ``evaluate_train=True`` and
``val_data``:

.. math::
    t^\star = \arg\min_t E_{va}(t), \qquad
    \text{rise} = E_{va}(T) - E_{va}(t^\star), \qquad
    \text{gap} = \max_t \mathrm{acc}_{tr}(t) - \mathrm{acc}_{va}(t^\star)

where :math:`T` is the last epoch trained.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from reglab._checks import check_items, check_positive_int, check_probability
from reglab.train.loop import History

__all__ = ["Overfitting", "overfitting", "stopped_before_cap"]


@dataclass(frozen=True)
class Overfitting:
    """What :func:`overfitting` read from one run.

    Attributes:
        train_acc (float): the highest training accuracy of any epoch.
        min_val_loss (float): the lowest validation loss :math:`E_{va}(t^\\star)`.
        min_val_epoch (int): the epoch :math:`t^\\star` of that minimum (1-based).
        final_val_loss (float): the validation loss of the last epoch trained.
        val_acc (float): the validation accuracy at :math:`t^\\star`.
        epochs (int): the number of epochs trained.
        memorise_at (float): the training accuracy that counts as memorising.
    """

    train_acc: float
    min_val_loss: float
    min_val_epoch: int
    final_val_loss: float
    val_acc: float
    epochs: int
    memorise_at: float

    @property
    def memorises(self) -> bool:
        """The training accuracy reached ``memorise_at`` in some epoch."""
        return self.train_acc >= self.memorise_at

    @property
    def rise(self) -> float:
        """How far the validation loss climbed from its minimum by the last epoch."""
        return self.final_val_loss - self.min_val_loss

    @property
    def turns_up(self) -> bool:
        """The validation loss has a minimum before the last epoch and ends above it."""
        return self.min_val_epoch < self.epochs and self.rise > 0

    @property
    def gap(self) -> float:
        """The best training accuracy minus the validation accuracy at the loss minimum,
        what there is to regularize."""
        return self.train_acc - self.val_acc

    @property
    def overfits(self) -> bool:
        """Both signs at once, that is, it memorises and its validation loss turns up."""
        return self.memorises and self.turns_up


def overfitting(history: History, *, memorise_at: float = 0.995) -> Overfitting:
    r"""Read the signs of overfitting from one run's history.

    Args:
        history (History): a run of :func:`reglab.train.train` with ``val_data`` and
            ``evaluate_train=True``.
        memorise_at (float): training accuracy that counts as memorising the training
            set, in [0, 1]. Default: ``0.995``.

    Returns:
        Overfitting: training accuracy, validation-loss minimum and rise, and the gap.

    Raises:
        TypeError: ``history`` is not a :class:`~reglab.train.History`.
        ValueError: the history has no training accuracy or no validation loss, or their
            lengths differ; ``memorise_at`` is outside [0, 1].

    Example::

        >>> h = History(epoch=[1, 2, 3], train_acc=[0.9, 0.99, 1.0],
        ...             val_loss=[0.5, 0.4, 0.45], val_acc=[0.85, 0.88, 0.88])
        >>> o = overfitting(h)
        >>> o.memorises, o.turns_up, o.min_val_epoch, round(o.gap, 2)
        (True, True, 2, 0.12)
    """
    if not isinstance(history, History):
        raise TypeError(f"history must be a reglab.train.History, got {type(history).__name__}")
    check_probability(memorise_at, "memorise_at")
    if not history.train_acc:
        raise ValueError("history has no training accuracy: train with evaluate_train=True")
    if not history.val_loss:
        raise ValueError("history has no validation loss: train with val_data")
    if not len(history.train_acc) == len(history.val_loss) == len(history.val_acc):
        raise ValueError(
            f"history's train_acc, val_loss and val_acc differ in length: "
            f"{len(history.train_acc)}, {len(history.val_loss)}, {len(history.val_acc)}"
        )
    if not all(math.isfinite(v) for v in history.val_loss):
        raise ValueError("history's val_loss holds a non-finite value")
    losses = history.val_loss
    best = min(range(len(losses)), key=losses.__getitem__)  # t*: first minimum
    return Overfitting(
        train_acc=max(history.train_acc),
        min_val_loss=losses[best],
        min_val_epoch=best + 1,
        final_val_loss=losses[-1],
        val_acc=history.val_acc[best],
        epochs=len(losses),
        memorise_at=memorise_at,
    )


def stopped_before_cap(histories: Iterable[History], num_epochs: int) -> bool:
    """Whether early stopping, not the cap, ended every run.

    True when every history stopped (``stopped_epoch`` set) before ``num_epochs``, so each
    run's best epoch lies at least one patience before the cap.

    Args:
        histories (iterable of History): runs trained with a ``stopping`` criterion.
        num_epochs (int): the cap they were given, ``>= 1``.

    Raises:
        TypeError: an element is not a :class:`~reglab.train.History`.
        ValueError: no history, or ``num_epochs`` is not a positive integer.
    """
    check_positive_int(num_epochs, "num_epochs")
    histories = check_items(histories, History, "histories")
    return all(h.stopped_epoch is not None and h.stopped_epoch < num_epochs for h in histories)
