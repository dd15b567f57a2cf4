r"""Batch norm's batch noise, measured: the same network trained with the statistics of
its whole batch or of small ghost batches (:class:`reglab.nn.GhostBatchNorm2d`, which
documents the layer), paired by seed. Only the number of samples behind each mean and
variance changes; the batches of the gradient steps, the learning rate, the data, the
batch order and the initial weights stay the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from reglab._checks import check_positive, check_positive_int
from reglab.data.splits import draw_train_val
from reglab.nn.ghost_batchnorm import ghost_batch_norm
from reglab.studies._arguments import check_instance
from reglab.train.loop import History, evaluate, train
from reglab.train.models import small_cnn
from reglab.train.stopping import Patience

__all__ = ["GhostConfig", "GhostRun", "run_ghost_study"]

Data = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class GhostConfig:
    r"""The settings of the batch-noise study; the defaults are the book's.

    Args:
        ghost_sizes (tuple[int, ...]): samples per slice of the batch whose statistics
            normalize it; ``batch_size`` is plain batch norm. Default: ``(2, 32)``.
        batch_size (int): samples per gradient step. Default: ``32``.
        lr (float): SGD learning rate. Default: ``0.05``.
        momentum (float): SGD momentum. Default: ``0.9``.
        channels (tuple[int, int]): conv widths of ``small_cnn``. Default: ``(4, 8)``.
        hidden (int): classifier width. Default: ``64``.
        per_class (int): training digits per class, drawn per seed. Default: ``50``.
        val_per_class (int): validation digits per class, drawn per seed. Default: ``50``.
        seeds (tuple[int, ...]): the paired seeds. Default: ``0`` to ``9``.
        num_epochs (int): the cap on the epochs. Default: ``60``.
        patience (int): early stopping on the validation loss. Default: ``5``.
    """

    ghost_sizes: tuple[int, ...] = (2, 32)
    batch_size: int = 32
    lr: float = 0.05
    momentum: float = 0.9
    channels: tuple[int, int] = (4, 8)
    hidden: int = 64
    per_class: int = 50
    val_per_class: int = 50
    seeds: tuple[int, ...] = tuple(range(10))
    num_epochs: int = 60
    patience: int = 5

    def __post_init__(self):
        for name in ("ghost_sizes", "seeds"):
            values = getattr(self, name)
            if not values or len(set(values)) != len(values):
                raise ValueError(f"{name} must be distinct and at least one, got {values}")
        for name in ("batch_size", "hidden", "per_class", "val_per_class", "num_epochs",
                     "patience"):  # fmt: skip
            check_positive_int(getattr(self, name), name)
        check_positive(self.lr, "lr")
        for size in self.ghost_sizes:
            check_positive_int(size, "ghost_sizes")
            if size < 2 or self.batch_size % size:
                raise ValueError(
                    f"ghost_sizes must be >= 2 and divide batch_size={self.batch_size}, "
                    f"got {self.ghost_sizes}"
                )
        if (10 * self.per_class) % self.batch_size % min(self.ghost_sizes) == 1:
            raise ValueError("the last batch of an epoch would leave a slice of one sample")


@dataclass(frozen=True)
class GhostRun:
    """One run of the batch-noise study.

    Args:
        ghost_size (int): samples whose statistics normalize each other.
        seed (int): the seed of the data, the initial weights and the batch order.
        history (History): early-stopped on the validation loss, best weights restored.
        test_acc (float): accuracy on the test set, after training.
        test_loss (float): cross-entropy on the test set, after training.
    """

    ghost_size: int
    seed: int
    history: History
    test_acc: float
    test_loss: float

    @property
    def best_epoch(self) -> int:
        """The epoch whose weights were kept."""
        return self.history.best_epoch


def run_ghost_study(config: GhostConfig, pool: Data, test_data: Data) -> list[GhostRun]:
    r"""Train ``small_cnn(batch_norm=True)`` once per ghost size and seed.

    Seed :math:`s` draws the training and validation digits from ``pool``
    (:func:`reglab.data.draw_train_val`), the initial weights and the batch order, so the
    runs of one seed differ only in ``ghost_size``: the same data, weights, order, batch
    size, learning rate and early stopping. The test set is evaluated once per run.

    Returns:
        list[GhostRun]: in the order ghost size, seed. The global random state is left as
        it was.
    """
    check_instance(config, GhostConfig, "config")
    rows = []
    for ghost_size in config.ghost_sizes:
        for seed in config.seeds:
            g = torch.Generator().manual_seed(seed)
            train_idx, val_idx = draw_train_val(
                pool[1], config.per_class, config.val_per_class, generator=g
            )
            with torch.random.fork_rng():
                model = small_cnn(config.channels, hidden=config.hidden, batch_norm=True,
                                  generator=g)  # fmt: skip
                if ghost_size < config.batch_size:
                    ghost_batch_norm(model, ghost_size)
                optimizer = torch.optim.SGD(
                    model.parameters(), lr=config.lr, momentum=config.momentum
                )
                history = train(
                    model, (pool[0][train_idx], pool[1][train_idx]),
                    val_data=(pool[0][val_idx], pool[1][val_idx]), optimizer=optimizer,
                    num_epochs=config.num_epochs, batch_size=config.batch_size, seed=g,
                    device="cpu", progress=False, stopping=Patience(config.patience),
                )  # fmt: skip
            test_loss, test_acc = evaluate(model, *test_data)
            rows.append(GhostRun(ghost_size, seed, history, test_acc, test_loss))
    return rows
