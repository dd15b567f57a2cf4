r"""Normalization layers against the batch size: the small-batch study of Wu & He, shrunk to a
CPU budget.

Every run trains ``small_cnn`` with one normalization layer at one batch size :math:`B` for
the same number of samples (one pass over the same training digits, in the same order for
a given seed), with plain SGD with momentum and the *linear scaling rule* for the learning
rate,

.. math::
    \text{lr}(B) = \text{lr}_{32} \cdot \frac{B}{32},

so that every setting takes the same step per sample seen. The seed fixes the initialization
and the order of the samples, so results are paired across settings
(:func:`reglab.stats.by_seed`). :class:`BatchSizeConfig` holds the study's settings, in one
place; every run is a :class:`BatchSizeRun`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from torch.optim.swa_utils import update_bn

from reglab._checks import check_positive_int
from reglab.data.mnist import balanced_subset
from reglab.studies._arguments import check_instance
from reglab.train.loop import evaluate, train
from reglab.train.models import small_cnn

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
        batch_sizes (tuple[int, ...]): :math:`B`. Default: ``(2, 4, 8, 32)``.
        seeds (tuple[int, ...]): the paired seeds. Default: ``(0, 1, 2)``.
        lr_32 (float): the learning rate at :math:`B = 32`. Default: ``0.1``.
        momentum (float): SGD momentum. Default: ``0.9``.
        channels (tuple[int, int]): conv widths of ``small_cnn``. Default: ``(4, 8)``.
        hidden (int): classifier width. Default: ``32``.
        num_groups (int): groups of ``norm="group"``. Default: ``4``.
        per_class (int): training images per class, each seen once. Default: ``100``.
        n_test (int): test images (the first ones of the test split). Default: ``1000``.
        data_seed (int): seed of the draw of the training images. Default: ``0``.
    """

    norms: tuple[str, ...] = ("batch", "group", "layer")
    batch_sizes: tuple[int, ...] = (2, 4, 8, 32)
    seeds: tuple[int, ...] = (0, 1, 2)
    lr_32: float = 0.1
    momentum: float = 0.9
    channels: tuple[int, int] = (4, 8)
    hidden: int = 32
    num_groups: int = 4
    per_class: int = 100
    n_test: int = 1000
    data_seed: int = 0

    def __post_init__(self):
        for name in ("norms", "batch_sizes", "seeds"):
            values = getattr(self, name)
            if not values or len(set(values)) != len(values):
                raise ValueError(f"{name} must be distinct and at least one, got {values}")
        for name in ("hidden", "num_groups", "per_class", "n_test"):
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
        seed (int): the seed of the initialization and of the sample order.
        lr (float): the learning rate, ``lr_32 * B / 32``.
        steps (int): optimizer steps (one pass over the training set).
        test_acc (float): test accuracy in evaluation mode.
        test_acc_batch_stats (float, optional): batch norm only: the test accuracy with
            each test batch of size :math:`B` normalized with its own statistics
            (:func:`accuracy_with_batch_statistics`). Default: ``None``.
        test_acc_recalibrated (float, optional): batch norm only: the test accuracy in
            evaluation mode after ``torch.optim.swa_utils.update_bn`` recomputed the
            running statistics on the training set with the final weights. Default: ``None``.
    """

    norm: str
    batch_size: int
    seed: int
    lr: float
    steps: int
    test_acc: float
    test_acc_batch_stats: float | None = None
    test_acc_recalibrated: float | None = None


def draw_data(config: BatchSizeConfig, train_pool: Data, test: Data) -> tuple[Data, Data]:
    """The study's training set (``per_class`` images of each class of ``train_pool``,
    drawn with ``data_seed``) and test set (the first ``n_test`` images of ``test``)."""
    check_instance(config, BatchSizeConfig, "config")
    (X, y), (X_test, y_test) = train_pool, test
    idx = balanced_subset(
        y, config.per_class, generator=torch.Generator().manual_seed(config.data_seed)
    )
    return (X[idx], y[idx]), (X_test[: config.n_test], y_test[: config.n_test])


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
    config: BatchSizeConfig, train_data: Data, test_data: Data
) -> list[BatchSizeRun]:
    r"""Train every (norm, batch size, seed) of ``config`` once for one pass over
    ``train_data``.

    Args:
        config (BatchSizeConfig): the settings.
        train_data (tuple): ``(X, y)``; every run sees each of these samples once.
        test_data (tuple): ``(X, y)``, evaluated once at the end of each run.

    Returns:
        list[BatchSizeRun]: one per run, in the order norm, batch size, seed. The caller's
        global random state is left as it was.

    Raises:
        ValueError: a batch size would leave a last batch of one sample.
    """
    check_instance(config, BatchSizeConfig, "config")
    rows = []
    n_train = len(train_data[0])
    for norm in config.norms:
        for batch_size in config.batch_sizes:
            if n_train % batch_size == 1:
                raise ValueError(f"a last batch of one sample: n_train={n_train}, B={batch_size}")
            lr = config.lr_32 * batch_size / 32  # linear scaling rule
            for seed in config.seeds:
                with torch.random.fork_rng():
                    torch.manual_seed(seed)  # the initialization
                    model = small_cnn(config.channels, hidden=config.hidden, norm=norm,
                                      num_groups=config.num_groups)  # fmt: skip
                    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=config.momentum)
                    train(
                        model, train_data, optimizer=optimizer, num_epochs=1,
                        batch_size=batch_size, seed=seed, device="cpu", progress=False,
                        evaluate_train=False,
                    )  # fmt: skip
                test_acc = evaluate(model, *test_data)[1]
                extra = {}
                if norm == "batch":
                    extra["test_acc_batch_stats"] = accuracy_with_batch_statistics(
                        model, *test_data, batch_size=batch_size
                    )
                    # recompute the buffers with the final weights: a cumulative average
                    # over the training set (momentum=None), then evaluate again
                    X_train = train_data[0]
                    update_bn([X_train[i : i + 100] for i in range(0, n_train, 100)], model)
                    extra["test_acc_recalibrated"] = evaluate(model, *test_data)[1]
                rows.append(BatchSizeRun(
                    norm=norm, batch_size=batch_size, seed=seed, lr=lr,
                    steps=-(-n_train // batch_size), test_acc=test_acc, **extra,
                ))  # fmt: skip
    return rows
