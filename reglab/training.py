r"""A small, seeded, device-aware training loop on in-memory tensors.

The data stay as tensors (no per-sample decoding, no ``DataLoader`` workers); each epoch
draws one random permutation from a seeded generator and walks it in mini-batches.
Nothing is printed: the loop returns a :class:`History`. A progress bar appears only
when the loop runs in a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from reglab.device import default_device

__all__ = ["History", "evaluate", "train"]


@dataclass
class History:
    """Per-epoch metrics of one run; ``asdict(history)`` gives plain lists for JSON."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)  # mean data loss over the epoch
    train_acc: list[float] = field(default_factory=list)  # accuracy on the training set, eval mode
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, list]:
        return asdict(self)

    @property
    def gap(self) -> float:
        """The final generalization gap, training accuracy minus test accuracy."""
        return self.train_acc[-1] - self.test_acc[-1]


@torch.no_grad()
def evaluate(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, batch_size: int = 1000
) -> tuple[float, float]:
    """Return ``(mean cross-entropy, accuracy)`` of ``model`` on ``(X, y)`` in eval mode.

    The model's mode (train or eval) is restored afterwards.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total_loss = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    for start in range(0, len(X), batch_size):
        X_b = X[start : start + batch_size].to(device, non_blocking=True)
        y_b = y[start : start + batch_size].to(device, non_blocking=True)
        logits = model(X_b)
        total_loss += F.cross_entropy(logits, y_b, reduction="sum")
        correct += (logits.argmax(dim=1) == y_b).sum()
    model.train(was_training)
    return total_loss.item() / len(X), correct.item() / len(X)


def train(
    model: nn.Module,
    train_data: tuple[torch.Tensor, torch.Tensor],
    *,
    test_data: tuple[torch.Tensor, torch.Tensor] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 0.1,
    num_epochs: int = 10,
    batch_size: int = 64,
    penalty: Callable[[nn.Module], torch.Tensor] | None = None,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool | None = None,
    on_epoch_end: Callable[[int, nn.Module], None] | None = None,
    evaluate_train: bool = True,
) -> History:
    r"""Train ``model`` with mini-batch gradient descent on in-memory tensors.

    Each step minimises the mean cross-entropy of the batch plus, optionally, a penalty:

    .. math::
        \mathcal{L} = \frac{1}{B}\sum_{i=1}^{B} \ell(f(x_i), y_i) + \Omega(\theta)

    Args:
        model (nn.Module): moved to ``device``; trained in place.
        train_data (tuple): ``(X, y)`` tensors.
        test_data (tuple, optional): ``(X, y)`` evaluated after every epoch. Default: ``None``.
        optimizer (Optimizer, optional): default ``torch.optim.SGD(model.parameters(), lr)``.
        lr (float): learning rate of the default optimizer. Default: ``0.1``.
        num_epochs (int): passes over the training data. Default: ``10``.
        batch_size (int): samples per step. Default: ``64``.
        penalty (callable, optional): ``penalty(model)`` returns a scalar added to the loss,
            e.g. ``lambda m: 1e-4 * l1_penalty(m.parameters())``. Default: ``None``.
        augment (callable, optional): applied to each training batch ``X_b`` on the device,
            e.g. a ``torchvision.transforms.v2`` pipeline. Default: ``None``.
        seed (int): seeds the batch order (and the global RNG used by dropout and
            augmentation). Default: ``0``.
        device (device, optional): default :func:`reglab.device.default_device`.
        progress (bool, optional): show a progress bar; default only in a terminal.
        on_epoch_end (callable, optional): ``on_epoch_end(epoch, model)`` after each epoch
            (epoch 0 is before training), e.g. to record a layer's statistics.
        evaluate_train (bool): measure the training accuracy after every epoch (an extra
            forward pass over the training set). Default: ``True``.

    Returns:
        History: per-epoch training loss and accuracies (train and test, in eval mode).

    Shape:
        - X: :math:`(N, *)`, any shape the model accepts
        - y: :math:`(N,)` class indices

    Example::

        >>> history = train(model, (X_train, y_train), test_data=(X_test, y_test), num_epochs=5)
        >>> history.test_acc[-1]
    """
    if num_epochs < 1:
        raise ValueError(f"num_epochs must be >= 1, got {num_epochs}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    X, y = train_data
    if len(X) != len(y):
        raise ValueError(f"X and y differ in length: {len(X)} != {len(y)}")
    device = torch.device(device) if device is not None else default_device()
    torch.manual_seed(seed)  # dropout masks and random augmentations
    generator = torch.Generator().manual_seed(seed)  # the batch order
    model.to(device)
    X, y = X.to(device), y.to(device)
    if optimizer is None:
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    if progress is None:
        progress = sys.stderr.isatty()
    epochs = range(1, num_epochs + 1)
    if progress:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc="epochs", leave=False)

    history = History()
    if on_epoch_end is not None:
        on_epoch_end(0, model)
    for epoch in epochs:
        model.train()
        order = torch.randperm(len(X), generator=generator).to(device)
        epoch_loss = torch.zeros((), device=device)
        for start in range(0, len(X), batch_size):
            idx = order[start : start + batch_size]
            X_b, y_b = X[idx], y[idx]
            if augment is not None:
                X_b = augment(X_b)
            loss = F.cross_entropy(model(X_b), y_b)
            objective = loss if penalty is None else loss + penalty(model)
            optimizer.zero_grad(set_to_none=True)
            objective.backward()
            optimizer.step()
            epoch_loss += loss.detach() * len(idx)
        history.epoch.append(epoch)
        history.train_loss.append(epoch_loss.item() / len(X))
        if evaluate_train:
            history.train_acc.append(evaluate(model, X, y)[1])
        if test_data is not None:
            test_loss, test_acc = evaluate(model, *test_data)
            history.test_loss.append(test_loss)
            history.test_acc.append(test_acc)
        if on_epoch_end is not None:
            on_epoch_end(epoch, model)
    return history
