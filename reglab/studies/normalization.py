r"""Normalization layers against the batch size: the small-batch study of Wu & He, shrunk to a
CPU budget.

Every run trains ``small_cnn`` with one normalization layer at one batch size :math:`B` for
the same number of samples (one pass over the same training digits, in the same order for
a given seed), with plain SGD with momentum and the *linear scaling rule* for the learning
rate,

.. math::
    \text{lr}(B) = \text{lr}_{32} \cdot \frac{B}{32},

so that every setting takes the same step per sample seen. The seed fixes the initialization
and the order of the samples, so results are paired across settings.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from torch import nn
from torch.optim.swa_utils import update_bn

from reglab.train.loop import evaluate, train
from reglab.train.models import small_cnn

__all__ = ["accuracy_with_batch_statistics", "run_batch_size_study", "seed_values"]


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
    train_data: tuple[torch.Tensor, torch.Tensor],
    test_data: tuple[torch.Tensor, torch.Tensor],
    *,
    norms: Iterable[str] = ("batch", "group", "layer"),
    batch_sizes: Iterable[int] = (2, 4, 8, 32),
    seeds: Iterable[int] = (0, 1, 2),
    lr_32: float = 0.1,
    momentum: float = 0.9,
    channels: tuple[int, int] = (4, 8),
    hidden: int = 32,
    num_groups: int = 4,
) -> list[dict]:
    r"""Train every (norm, batch size, seed) once for one pass over ``train_data``.

    Args:
        train_data (tuple): ``(X, y)``; every run sees each of these samples once.
        test_data (tuple): ``(X, y)``, evaluated once at the end of each run.
        norms (iterable of str): ``norm`` values of :func:`reglab.train.small_cnn`.
        batch_sizes (iterable of int): :math:`B`. Default: ``(2, 4, 8, 32)``.
        seeds (iterable of int): the paired seeds. Default: ``(0, 1, 2)``.
        lr_32 (float): the learning rate at :math:`B = 32`. Default: ``0.1``.
        momentum (float): SGD momentum. Default: ``0.9``.
        channels (tuple[int, int]): conv widths of ``small_cnn``. Default: ``(4, 8)``.
        hidden (int): classifier width. Default: ``32``.
        num_groups (int): groups of ``norm="group"``. Default: ``4``.

    Returns:
        list[dict]: one row per run with ``norm``, ``batch_size``, ``seed``, ``lr``,
        ``steps``, ``test_acc`` (evaluation mode), and for batch norm also
        ``test_acc_batch_stats`` (:func:`accuracy_with_batch_statistics` at the training
        batch size) and ``test_acc_recalibrated`` (evaluation mode after
        ``torch.optim.swa_utils.update_bn`` has recomputed the running statistics on the
        training set with the final weights). The caller's global random state is left as
        it was.
    """
    rows = []
    n_train = len(train_data[0])
    for norm in norms:
        for batch_size in batch_sizes:
            if n_train % batch_size == 1:
                raise ValueError(f"a last batch of one sample: n_train={n_train}, B={batch_size}")
            lr = lr_32 * batch_size / 32  # linear scaling rule
            for seed in seeds:
                with torch.random.fork_rng():
                    torch.manual_seed(seed)  # the initialization
                    model = small_cnn(channels, hidden=hidden, norm=norm, num_groups=num_groups)
                    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
                    train(
                        model, train_data, optimizer=optimizer, num_epochs=1,
                        batch_size=batch_size, seed=seed, device="cpu", progress=False,
                        evaluate_train=False,
                    )  # fmt: skip
                row = {"norm": norm, "batch_size": batch_size, "seed": seed, "lr": lr}
                row["steps"] = -(-n_train // batch_size)
                row["test_acc"] = evaluate(model, *test_data)[1]
                if norm == "batch":
                    row["test_acc_batch_stats"] = accuracy_with_batch_statistics(
                        model, *test_data, batch_size=batch_size
                    )
                    # recompute the buffers with the final weights: a cumulative average
                    # over the training set (momentum=None), then evaluate again
                    X_train = train_data[0]
                    update_bn([X_train[i : i + 100] for i in range(0, n_train, 100)], model)
                    row["test_acc_recalibrated"] = evaluate(model, *test_data)[1]
                rows.append(row)
    return rows


def seed_values(rows: list[dict], norm: str, batch_size: int, field: str = "test_acc") -> list:
    """``field`` of the runs of one (norm, batch size), ordered by seed, ready for
    ``reglab.stats.paired_difference`` against another setting's."""
    mine = sorted(
        (r for r in rows if r["norm"] == norm and r["batch_size"] == batch_size),
        key=lambda r: r["seed"],
    )
    if not mine:
        raise ValueError(f"no runs with norm={norm!r} and batch_size={batch_size}")
    return [r[field] for r in mine]
