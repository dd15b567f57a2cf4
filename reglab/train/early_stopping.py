r"""Early stopping: stop training when a validation metric stops improving, and keep a copy
of the best weights.

The rule (patience :math:`P`, minimal improvement :math:`\delta`, mode ``"min"``): after
epoch :math:`t` with monitored value :math:`v_t`,

.. math::
    \text{improved}_t = v_t < v^\ast - \delta, \qquad
    \text{stop at } t \iff t - t^\ast \ge P,

where :math:`v^\ast` is the best value so far and :math:`t^\ast` its epoch.

The best weights are kept as a *copy*: ``model.state_dict()`` returns references to the
live parameters, which the optimizer keeps changing, so ``best = model.state_dict()``
would silently follow training. :class:`EarlyStopping` clones every tensor.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from reglab._checks import check_nonnegative, check_positive_int

__all__ = ["MONITORS", "EarlyStopping"]

#: The :class:`~reglab.train.History` fields an early-stopping rule may watch. The test
#: metrics are not among them: choosing on the test set would leak it into the model.
MONITORS = ("val_loss", "val_acc", "train_loss", "train_acc")


class EarlyStopping:
    r"""Patience-based early stopping with restore-best, as used by
    :func:`reglab.train.train`.

    Args:
        patience (int): epochs without improvement after which to stop; ``>= 1``.
            Default: ``5``.
        min_delta (float): an epoch improves only if it beats the best value by more than
            ``min_delta``; ``>= 0``. Default: ``0.0``.
        monitor (str): the :class:`~reglab.train.History` field to watch, one of
            :data:`MONITORS`. Default: ``"val_loss"``.
        mode (str): ``"min"`` (lower is better, losses) or ``"max"`` (accuracies).
            Default: ``"min"``.
        restore_best (bool): keep a copy of the best epoch's weights so that
            :meth:`restore` can load them. Default: ``True``.

    Attributes:
        best_epoch (int | None): epoch of the best value so far.
        best_value (float | None): the best value so far.
        best_state (dict | None): cloned ``state_dict`` of the best epoch (only with
            ``restore_best``).

    Example::

        >>> stopper = EarlyStopping(patience=3)
        >>> history = train(model, train_data, val_data=val_data, early_stopping=stopper)
        >>> history.best_epoch, history.stopped_epoch

    Reference:
        L. Prechelt, "Early stopping - but when?", in *Neural Networks: Tricks of the Trade*,
        1998.
    """

    def __init__(
        self,
        patience: int = 5,
        *,
        min_delta: float = 0.0,
        monitor: str = "val_loss",
        mode: str = "min",
        restore_best: bool = True,
    ):
        check_positive_int(patience, "patience")
        check_nonnegative(min_delta, "min_delta")
        if monitor not in MONITORS:
            raise ValueError(f"monitor must be one of {MONITORS}, got {monitor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.patience = patience
        self.min_delta = float(min_delta)
        self.monitor = monitor
        self.mode = mode
        self.restore_best = restore_best
        self.reset()

    def reset(self) -> None:
        """Forget every epoch seen so far (:func:`~reglab.train.train` calls it first)."""
        self.best_epoch: int | None = None
        self.best_value: float | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.wait = 0  # epochs since the best one

    def improved(self, value: float) -> bool:
        """Whether ``value`` beats the best value so far by more than ``min_delta``."""
        if self.best_value is None:
            return not math.isnan(value)
        if self.mode == "min":
            return value < self.best_value - self.min_delta  # v_t < v* - delta
        return value > self.best_value + self.min_delta  # v_t > v* + delta

    def step(self, epoch: int, value: float, model: nn.Module) -> bool:
        """Record epoch ``epoch``'s monitored ``value``; return ``True`` when training
        should stop now (``patience`` epochs in a row without improvement)."""
        value = float(value)
        if self.improved(value):
            self.best_epoch, self.best_value, self.wait = epoch, value, 0
            if self.restore_best:
                # a copy: state_dict() alone holds the live tensors the optimizer updates
                self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return False
        self.wait += 1
        return self.wait >= self.patience  # t - t* >= P

    def restore(self, model: nn.Module) -> None:
        """Load the best epoch's weights (and buffers) into ``model``."""
        if self.best_state is None:
            raise RuntimeError(
                "no best weights to restore: step() has not recorded an improvement"
                + ("" if self.restore_best else " (restore_best=False keeps no copy)")
            )
        model.load_state_dict(self.best_state)

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, "
            f"monitor={self.monitor!r}, mode={self.mode!r}, restore_best={self.restore_best})"
        )
