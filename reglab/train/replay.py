r"""Replaying a recorded run through a stopping criterion, as Prechelt compared them.

Training is deterministic, so the first :math:`t` epochs of a long run are exactly the run
that a criterion would have stopped at :math:`t`. :func:`replay` feeds a recorded
:class:`~reglab.train.History` through the same :meth:`~reglab.train.StoppingCriterion.update`
that :func:`~reglab.train.train` calls live, so the replayed stop and best epoch are those
that ``train(..., stopping=criterion)`` would give.

Reference:
    L. Prechelt, "Early stopping - but when?", in *Neural Networks: Tricks of the Trade*,
    Springer, 1998, pp. 55-69.
"""

from __future__ import annotations

from dataclasses import dataclass

from reglab.train.stopping import StoppingCriterion

__all__ = ["Replay", "replay"]


@dataclass(frozen=True)
class Replay:
    """What a criterion decides on a recorded run (see :func:`replay`).

    Attributes:
        criterion (str): the criterion's name, e.g. ``"GL_5"``.
        stopped_epoch (int | None): the epoch at which it stops; ``None`` if it never
            fires within the run (training then uses the whole budget).
        best_epoch (int): the epoch whose weights are kept: the best monitored value up to
            the stop, as ``History.best_epoch`` of a live run.
        epochs_trained (int): the cost, ``stopped_epoch`` or the run's length.
        test_loss (float | None): test loss of the kept weights, if the run recorded it.
        test_acc (float | None): test accuracy of the kept weights, if recorded.
    """

    criterion: str
    stopped_epoch: int | None
    best_epoch: int
    epochs_trained: int
    test_loss: float | None
    test_acc: float | None


def replay(criterion: StoppingCriterion, history) -> Replay:
    """Feed a recorded run, one epoch at a time, through ``criterion.update`` and read off
    the kept epoch's test metrics.

    The test metrics are only *read* at the epoch the criterion chose, exactly as if that
    epoch's weights had been restored and evaluated once.

    Args:
        criterion (StoppingCriterion): the rule; it is reset first.
        history (History): a run trained without stopping (or any object with the same
            per-epoch lists): those in ``criterion.requires`` (e.g. ``val_loss``,
            ``train_loss``) and optionally ``test_loss``, ``test_acc``.

    Example::

        >>> r = replay(Patience(2), History(val_loss=[0.5, 0.4, 0.45, 0.41, 0.3]))
        >>> r.stopped_epoch, r.best_epoch
        (4, 2)
    """
    if not isinstance(criterion, StoppingCriterion):
        raise TypeError(
            f"criterion must be a reglab.train.StoppingCriterion, got {type(criterion).__name__}"
        )
    columns = {name: list(getattr(history, name)) for name in criterion.requires}
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) != 1 or 0 in lengths.values():
        raise ValueError(f"{criterion.name} needs one value per epoch of each, got {lengths}")
    num_epochs = next(iter(lengths.values()))
    criterion.reset()
    stopped = None
    for t in range(num_epochs):
        if criterion.update(**{name: values[t] for name, values in columns.items()}):
            stopped = t + 1
            break
    kept = criterion.best_epoch
    if kept is None:  # e.g. patience 1 and a NaN first epoch: no epoch's weights to keep
        raise ValueError(
            f"{criterion.name} stopped at epoch {stopped} before any epoch improved: "
            f"{', '.join(criterion.requires)} must hold a finite value before the stop, got "
            f"{ {name: columns[name][:stopped] for name in criterion.requires} }"
        )
    test_loss = history.test_loss[kept - 1] if getattr(history, "test_loss", None) else None
    test_acc = history.test_acc[kept - 1] if getattr(history, "test_acc", None) else None
    trained = num_epochs if stopped is None else stopped
    return Replay(criterion.name, stopped, kept, trained, test_loss, test_acc)
