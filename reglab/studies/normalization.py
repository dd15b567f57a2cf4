r"""Normalization layers against the batch size: the small-batch study of Wu & He, shrunk to a
CPU budget.

Every run trains ``small_cnn`` with one normalization layer at one batch size :math:`B`,
early-stopped on the validation loss with a cap on the epochs, with plain SGD with momentum
and the *linear scaling rule* for the learning rate,

.. math::
    \text{lr}(B) = \text{lr}_{32} \cdot \frac{B}{32},

so that every setting takes the same step per sample seen. Seed :math:`s` draws the
training and validation digits, the initialization and the order of the samples, so results
are paired across settings (:func:`reglab.stats.by_seed`). :class:`BatchSizeConfig` holds
the study's settings, in one place; every run is a :class:`BatchSizeRun`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from torch.optim.swa_utils import update_bn

from reglab._checks import check_positive_int
from reglab.data.splits import draw_train_val
from reglab.studies._arguments import check_instance
from reglab.train.diagnostics import overfitting
from reglab.train.loop import History, evaluate, train
from reglab.train.models import small_cnn
from reglab.train.stopping import Patience

__all__ = [
    "BatchSizeConfig",
    "BatchSizeRun",
    "accuracy_with_batch_statistics",
    "draw_data",
    "run_batch_size_study",
]

Data = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class BatchSizeConfig:
    r"""The settings of the batch-size study; the defaults are the book's.

    Args:
        norms (tuple[str, ...]): ``norm`` values of :func:`reglab.train.small_cnn`.
            Default: ``("batch", "group", "layer")``.
        batch_sizes (tuple[int, ...]): :math:`B`. Default: ``(2, 32)``.
        seeds (tuple[int, ...]): the paired seeds; seed :math:`s` draws the training and
            validation digits, the initial weights and the batch order. Default:
            ``(0, 1, 2, 3, 4)``.
        lr_32 (float): the learning rate at :math:`B = 32`. Default: ``0.05``.
        momentum (float): SGD momentum. Default: ``0.9``.
        channels (tuple[int, int]): conv widths of ``small_cnn``. Default: ``(4, 8)``.
        hidden (int): classifier width. Default: ``32``.
        num_groups (int): groups of ``norm="group"``. Default: ``4``.
        per_class (int): training images per class, drawn per seed. Default: ``20``.
        val_per_class (int): validation images per class, drawn per seed. Default: ``50``.
        num_epochs (int): the cap on the epochs of every run. Default: ``60``.
        patience (int): early stopping on the validation loss
            (:class:`reglab.train.Patience`). Default: ``5``.
    """

    norms: tuple[str, ...] = ("batch", "group", "layer")
    batch_sizes: tuple[int, ...] = (2, 32)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    lr_32: float = 0.05
    momentum: float = 0.9
    channels: tuple[int, int] = (4, 8)
    hidden: int = 32
    num_groups: int = 4
    per_class: int = 20
    val_per_class: int = 50
    num_epochs: int = 60
    patience: int = 5

    def __post_init__(self):
        for name in ("norms", "batch_sizes", "seeds"):
            values = getattr(self, name)
            if not values or len(set(values)) != len(values):
                raise ValueError(f"{name} must be distinct and at least one, got {values}")
        for name in ("hidden", "num_groups", "per_class", "val_per_class", "num_epochs",
                     "patience"):  # fmt: skip
            check_positive_int(getattr(self, name), name)
        if any(n not in ("batch", "group", "layer") for n in self.norms):
            raise ValueError(f"norms must hold 'batch', 'group' or 'layer', got {self.norms}")
        for b in self.batch_sizes:
            if isinstance(b, bool) or not isinstance(b, int):
                raise TypeError(f"batch_sizes must hold integers, got {self.batch_sizes}")
        if min(self.batch_sizes) < 2:
            raise ValueError(f"batch_sizes must be >= 2 (batch norm), got {self.batch_sizes}")
        if self.lr_32 <= 0:
            raise ValueError(f"lr_32 must be > 0, got {self.lr_32}")


@dataclass(frozen=True)
class BatchSizeRun:
    """One run of the batch-size study.

    Args:
        norm (str): the normalization layer.
        batch_size (int): :math:`B`.
        seed (int): the seed of the data, the initialization and the sample order.
        lr (float): the learning rate, ``lr_32 * B / 32``.
        steps (int): optimizer steps per epoch.
        history (History): the run's per-epoch record, early-stopped on the validation
            loss; the weights of its ``best_epoch`` were restored.
        test_acc (float): test accuracy in evaluation mode, on the whole test set.
        val_acc (float): validation accuracy in evaluation mode (running statistics).
        val_acc_batch_stats (float, optional): batch norm only: the validation accuracy
            with each batch of size :math:`B` normalized with its own statistics
            (:func:`accuracy_with_batch_statistics`). Default: ``None``.
        val_acc_recalibrated (float, optional): batch norm only: the validation accuracy
            in evaluation mode after ``torch.optim.swa_utils.update_bn`` recomputed the
            running statistics on the training set with the final weights. Default: ``None``.
    """

    norm: str
    batch_size: int
    seed: int
    lr: float
    steps: int
    history: History
    test_acc: float
    val_acc: float
    val_acc_batch_stats: float | None = None
    val_acc_recalibrated: float | None = None

    @property
    def best_epoch(self) -> int:
        """The epoch whose weights were kept."""
        return self.history.best_epoch

    @property
    def overfits(self) -> bool:
        """It memorised its training set and its validation loss turned up
        (:func:`reglab.train.overfitting`)."""
        return overfitting(self.history).overfits

    @property
    def train_acc(self) -> float:
        """The highest training accuracy of any epoch."""
        return max(self.history.train_acc)


def draw_data(config: BatchSizeConfig, pool: Data, seed: int) -> tuple[Data, Data]:
    """Seed ``seed``'s training and validation digits: ``per_class`` and
    ``val_per_class`` of each class of ``pool``, disjoint
    (:func:`reglab.data.draw_train_val`), drawn from ``torch.Generator().manual_seed(seed)``."""
    check_instance(config, BatchSizeConfig, "config")
    return _draw(config, pool, torch.Generator().manual_seed(seed))


def _draw(config: BatchSizeConfig, pool: Data, g: torch.Generator) -> tuple[Data, Data]:
    X, y = pool
    train_idx, val_idx = draw_train_val(y, config.per_class, config.val_per_class, generator=g)
    return (X[train_idx], y[train_idx]), (X[val_idx], y[val_idx])


@torch.no_grad()
def accuracy_with_batch_statistics(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, batch_size: int
) -> float:
    """Accuracy with every batch-norm layer normalizing by the statistics of the test batch
    itself (training-mode normalization), in batches of ``batch_size``.

    Every sample of ``X`` is counted: when ``batch_size`` does not divide ``len(X)``, the
    last batch is smaller. The model is copied first, so its running buffers are not
    touched. Dropout layers, if any, stay in evaluation mode.

    Raises:
        ValueError: if ``batch_size < 2`` or the last batch would hold one sample (batch
            norm needs more than one value per channel).
    """
    if len(X) != len(y):
        raise ValueError(f"y must hold one label per row of X: {len(y)} labels, {len(X)} rows")
    if batch_size < 2 or len(X) % batch_size == 1:
        raise ValueError(
            f"batch_size must be >= 2 and leave no last batch of one sample; "
            f"got batch_size={batch_size} for {len(X)} samples"
        )
    probe = copy.deepcopy(model).eval()
    for module in probe.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.train()  # normalize with the batch's own mean and variance
    correct = 0
    for start in range(0, len(X), batch_size):  # the last batch may be smaller
        logits = probe(X[start : start + batch_size])
        correct += (logits.argmax(dim=1) == y[start : start + batch_size]).sum().item()
    return correct / len(X)


def run_batch_size_study(
    config: BatchSizeConfig, pool: Data, test_data: Data
) -> list[BatchSizeRun]:
    r"""Train every (norm, batch size, seed) of ``config``, early-stopped on validation.

    Seed :math:`s` draws the training and validation digits from ``pool``
    (:func:`draw_data`), then, from the same generator, the initial weights (shared by every
    layer the architectures have in common) and the batch order: every setting run with
    seed :math:`s` sees the same data, starts from the same weights and visits the digits
    in the same order. Each run stops once the validation loss has not improved for
    ``patience`` epochs, or at ``num_epochs``, and keeps the weights of its best epoch.

    Args:
        config (BatchSizeConfig): the settings.
        pool (tuple): ``(X, y)``, the images that the seeds draw from.
        test_data (tuple): ``(X, y)``, evaluated once at the end of each run.

    Returns:
        list[BatchSizeRun]: one per run, in the order norm, batch size, seed. The caller's
        global random state is left as it was.

    Raises:
        ValueError: a batch size would leave a last batch of one sample.
    """
    check_instance(config, BatchSizeConfig, "config")
    rows = []
    n_train = 10 * config.per_class
    for norm in config.norms:
        for batch_size in config.batch_sizes:
            if n_train % batch_size == 1 or (10 * config.val_per_class) % batch_size == 1:
                raise ValueError(f"a last batch of one sample: n_train={n_train}, B={batch_size}")
            lr = config.lr_32 * batch_size / 32  # linear scaling rule
            for seed in config.seeds:
                g = torch.Generator().manual_seed(seed)
                train_data, val_data = _draw(config, pool, g)  # the seed's digits
                with torch.random.fork_rng():
                    model = small_cnn(config.channels, hidden=config.hidden, norm=norm,
                                      num_groups=config.num_groups, generator=g)  # fmt: skip
                    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=config.momentum)
                    history = train(
                        model, train_data, val_data=val_data, optimizer=optimizer,
                        num_epochs=config.num_epochs, batch_size=batch_size, seed=g,
                        device="cpu", progress=False, stopping=Patience(config.patience),
                        restore_best=True,
                    )  # fmt: skip
                test_acc = evaluate(model, *test_data)[1]
                val_acc = evaluate(model, *val_data)[1]
                extra = {}
                if norm == "batch":
                    extra["val_acc_batch_stats"] = accuracy_with_batch_statistics(
                        model, *val_data, batch_size=batch_size
                    )
                    # recompute the buffers with the final weights: a cumulative average
                    # over the training set (momentum=None), then evaluate again
                    X_train = train_data[0]
                    update_bn([X_train[i : i + 100] for i in range(0, n_train, 100)], model)
                    extra["val_acc_recalibrated"] = evaluate(model, *val_data)[1]
                rows.append(BatchSizeRun(
                    norm=norm, batch_size=batch_size, seed=seed, lr=lr,
                    steps=-(-n_train // batch_size), history=history, test_acc=test_acc,
                    val_acc=val_acc, **extra,
                ))  # fmt: skip
    return rows
