r"""A small, seeded, device-aware training loop on in-memory tensors.

The data stay as tensors (no per-sample decoding, no ``DataLoader`` workers). The loop is
three functions a reader can follow: :func:`train_one_epoch` (one pass in shuffled
mini-batches), :func:`evaluate` (loss and accuracy in eval mode) and :func:`train` (the
epochs, the bookkeeping in a :class:`History`, and optional early stopping by a
criterion of :mod:`reglab.train.stopping`, consulted live after every epoch).

Hooks change one step each, all optional: ``augment`` the inputs of a batch, ``mix`` a
batch with its labels (mixup, CutMix: soft targets), ``loss`` the training loss (e.g. label
smoothing) and ``penalty`` a term on the weights. Evaluation is always plain cross-entropy
and accuracy on the hard labels.

Random numbers come from explicit streams, never from the caller's global RNG:

- the batch order from its own ``torch.Generator``;
- dropout masks, augmentations and mixing, which draw from the global RNG, run inside
  :func:`forked_rng`, seeded from a second stream and restored afterwards.

Both streams derive from ``seed`` (an int, or a ``torch.Generator`` that is advanced)
through :func:`spawn_seeds`.
Nothing is printed; a progress bar appears only when the loop runs in a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from reglab._checks import check_positive, check_positive_int
from reglab.train.device import resolve_device
from reglab.train.stopping import StoppingCriterion

__all__ = ["History", "evaluate", "forked_rng", "spawn_seeds", "train", "train_one_epoch"]

Data = tuple[torch.Tensor, torch.Tensor]


@dataclass
class History:
    """Per-epoch metrics of one run; ``asdict(history)`` gives plain data for JSON.

    The lists hold one value per epoch trained (``val_*``/``test_*`` stay empty without
    ``val_data``/``test_data``, ``train_acc`` without ``evaluate_train``). ``best_epoch``
    and ``stopped_epoch`` are set only with a ``stopping`` criterion: the epoch with its
    best monitored value, and the epoch at which it stopped training (``None`` if it ran
    all ``num_epochs``). ``train_loss`` is
    the mean over the epoch's batches of the loss that was minimised (``loss`` on the
    augmented and mixed batches), without the penalty; the other metrics are measured in
    eval mode with plain cross-entropy on the hard labels.
    """

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)  # mean training loss, no penalty
    train_acc: list[float] = field(default_factory=list)  # accuracy on the training set, eval mode
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_epoch: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def append(self, **metrics: float) -> None:
        """Append one epoch's values by field name, e.g. ``append(epoch=3, val_loss=0.2)``."""
        for name, value in metrics.items():
            getattr(self, name).append(value)

    @property
    def gap(self) -> float:
        """The generalization gap of the last epoch, training minus test accuracy."""
        return self.train_acc[-1] - self.test_acc[-1]


def spawn_seeds(generator: torch.Generator, n: int) -> list[int]:
    """Draw ``n`` seeds for independent streams from ``generator`` (advancing it)."""
    return torch.randint(0, 2**62, (n,), generator=generator).tolist()


@contextmanager
def forked_rng(seed: int, device: torch.device | str | None = None) -> Iterator[None]:
    """Run a block with the global RNG seeded with ``seed``, then restore the caller's.

    Forks the CPU generator and, for a CUDA ``device``, that device's generator
    (:func:`torch.random.fork_rng`); only those are seeded, so no other state changes.

    Example::

        >>> with forked_rng(0):
        ...     mask = torch.rand(3) > 0.5   # the same mask every time; global RNG untouched
    """
    device = torch.device("cpu" if device is None else device)
    cuda = []
    if device.type == "cuda":
        cuda = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=cuda):
        torch.default_generator.manual_seed(seed)
        for index in cuda:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield


def _check_data(name: str, data, *, allow_none: bool = True) -> None:
    if data is None and allow_none:
        return
    if not (isinstance(data, tuple | list) and len(data) == 2):
        raise ValueError(f"{name} must be a pair (X, y) of tensors, got {type(data).__name__}")
    X, y = data
    if len(X) != len(y):
        raise ValueError(f"{name}: X and y differ in length: {len(X)} != {len(y)}")
    if len(X) == 0:
        raise ValueError(f"{name} is empty: need at least one sample")


def _model_device(model: nn.Module) -> torch.device | None:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return None


@torch.no_grad()
def evaluate(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int = 1000,
    device: torch.device | str | None = None,
) -> tuple[float, float]:
    """Return ``(mean cross-entropy, accuracy)`` of ``model`` on ``(X, y)`` in eval mode.

    The model's mode (train or eval) is restored afterwards, even if the forward raises.

    Args:
        model (nn.Module): a classifier returning logits.
        X (Tensor): inputs.
        y (Tensor): class indices.
        batch_size (int): samples per forward pass. Default: ``1000``.
        device (device, optional): where to run; default the device of the model's first
            parameter or buffer, else that of ``X`` (a model without any).
    """
    if len(X) != len(y):
        raise ValueError(f"X and y differ in length: {len(X)} != {len(y)}")
    if len(X) == 0:
        raise ValueError("X is empty: evaluate needs at least one sample")
    check_positive_int(batch_size, "batch_size")
    if device is None:
        device = _model_device(model)
    device = X.device if device is None else resolve_device(device)
    was_training = model.training
    model.eval()
    try:
        total_loss = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        for start in range(0, len(X), batch_size):
            X_b = X[start : start + batch_size].to(device, non_blocking=True)
            y_b = y[start : start + batch_size].to(device, non_blocking=True)
            logits = model(X_b)  # (B, num_classes)
            total_loss += F.cross_entropy(logits, y_b, reduction="sum")
            correct += (logits.argmax(dim=1) == y_b).sum()
    finally:
        model.train(was_training)
    return total_loss.item() / len(X), correct.item() / len(X)


def train_one_epoch(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    batch_size: int,
    generator: torch.Generator,
    penalty: Callable[[nn.Module], torch.Tensor] | None = None,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    mix: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> float:
    """One pass over ``(X, y)`` in mini-batches, in the order of a permutation drawn from
    ``generator``; return the mean training loss (without the penalty) over the epoch.

    Each batch is augmented (``augment(X_b)``), then mixed (``X_b, t_b = mix(X_b, y_b)``),
    then scored by ``loss(model(X_b), t_b)`` (default ``F.cross_entropy``); the hooks are
    those of :func:`train`. Anything random in them draws from the global RNG.
    """
    loss_fn = F.cross_entropy if loss is None else loss
    model.train()
    order = torch.randperm(len(X), generator=generator).to(X.device)
    epoch_loss = torch.zeros((), device=X.device)
    for start in range(0, len(X), batch_size):
        idx = order[start : start + batch_size]
        X_b, t_b = X[idx], y[idx]
        if augment is not None:
            X_b = augment(X_b)
        if mix is not None:
            X_b, t_b = mix(X_b, t_b)  # (x~_i, t~_i): mixed inputs, soft targets
        data_loss = loss_fn(model(X_b), t_b)  # (1/B) sum_i l(f(x~_i), t~_i)
        if data_loss.dim() != 0:
            raise ValueError(
                f"loss must return a scalar (reduce over the batch), got shape "
                f"{tuple(data_loss.shape)}"
            )
        objective = data_loss if penalty is None else data_loss + penalty(model)  # + Omega
        optimizer.zero_grad(set_to_none=True)
        objective.backward()
        optimizer.step()
        epoch_loss += data_loss.detach() * len(idx)
    return epoch_loss.item() / len(X)


def _measure(model, train_data, val_data, test_data, evaluate_train) -> dict[str, float]:
    """The eval-mode metrics after an epoch, by :class:`History` field name."""
    metrics = {}
    if evaluate_train:
        metrics["train_acc"] = evaluate(model, *train_data)[1]
    for split, data in (("val", val_data), ("test", test_data)):
        if data is not None:
            metrics[f"{split}_loss"], metrics[f"{split}_acc"] = evaluate(model, *data)
    return metrics


def _check_stopping(stopping, val_data, evaluate_train) -> None:
    if stopping is None:
        return
    if not isinstance(stopping, StoppingCriterion):
        raise TypeError(
            f"stopping must be a reglab.train.StoppingCriterion (e.g. Patience(5)), "
            f"got {type(stopping).__name__}"
        )
    for name in stopping.requires:
        if name.startswith("val_") and val_data is None:
            missing = "val_data is None"
        elif name == "train_acc" and not evaluate_train:
            missing = "evaluate_train=False"
        else:
            continue
        raise ValueError(f"stopping {stopping.name!r} monitors {name!r} but {missing}")


def train(
    model: nn.Module,
    train_data: Data,
    *,
    val_data: Data | None = None,
    test_data: Data | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float | None = None,
    num_epochs: int = 10,
    batch_size: int = 64,
    penalty: Callable[[nn.Module], torch.Tensor] | None = None,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    mix: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None,
    seed: int | torch.Generator = 0,
    device: torch.device | str | None = None,
    progress: bool | None = None,
    on_epoch_end: Callable[[int, nn.Module], None] | None = None,
    evaluate_train: bool = True,
    stopping: StoppingCriterion | None = None,
    restore_best: bool = True,
) -> History:
    r"""Train ``model`` with mini-batch gradient descent on in-memory tensors.

    Each step minimises the mean loss of the batch (cross-entropy unless ``loss`` is given)
    plus, optionally, a penalty:

    .. math::
        \mathcal{L} = \frac{1}{B}\sum_{i=1}^{B} \ell\big(f(\tilde x_i), \tilde t_i\big)
            + \Omega(\theta),

    where :math:`(\tilde x_i, \tilde t_i)` is the batch after ``augment`` and ``mix``
    (plain :math:`(x_i, y_i)` without them).

    Args:
        model (nn.Module): moved to ``device``; trained in place.
        train_data (tuple): ``(X, y)`` tensors.
        val_data (tuple, optional): ``(X, y)`` evaluated after every epoch, for choosing
            hyperparameters and for early stopping. Default: ``None``.
        test_data (tuple, optional): ``(X, y)`` evaluated after every epoch. Default: ``None``.
        optimizer (Optimizer, optional): default ``torch.optim.SGD(model.parameters(), lr)``.
        lr (float, optional): learning rate of that default SGD, ``> 0``; give either
            ``optimizer`` or ``lr``, not both. Default: ``None``, i.e. ``0.1``.
        num_epochs (int): maximal passes over the training data. Default: ``10``.
        batch_size (int): samples per step. Default: ``64``.
        penalty (callable, optional): ``penalty(model)`` returns a scalar added to the loss,
            e.g. ``lambda m: 1e-4 * l1_penalty(m.parameters())``. Default: ``None``.
        augment (callable, optional): applied to each training batch ``X_b`` on the device,
            e.g. :func:`reglab.data.random_affine`. Default: ``None``.
        loss (callable, optional): ``loss(logits, targets) -> scalar``, the training loss
            of a batch: ``logits`` :math:`(B, K)`, ``targets`` the class indices
            :math:`(B,)` or, after ``mix``, what it returns (e.g. probabilities
            :math:`(B, K)`). E.g. ``nn.CrossEntropyLoss(label_smoothing=0.1)`` or
            ``functools.partial(reglab.nn.functional.cross_entropy, label_smoothing=0.1)``.
            Default: ``None``, i.e. ``F.cross_entropy``.
        mix (callable, optional): ``mix(X_b, y_b) -> (X_b, targets)``, applied to each
            training batch after ``augment``; the targets may be soft, e.g.
            ``v2.MixUp(num_classes=10)`` or ``functools.partial(reglab.data.mixup,
            alpha=0.2, num_classes=10)``. Its random numbers must come from the global
            RNG (``generator=None``), i.e. from the same seeded stream as dropout and
            augmentation. Default: ``None``.
        seed (int or torch.Generator): source of the two random streams (batch order;
            dropout masks, augmentation and mixing): an int, or a generator that is
            advanced (for a caller drawing several streams from one seed). Default: ``0``.
        device (device, optional): default :func:`reglab.train.default_device`.
        progress (bool, optional): show a progress bar; default only in a terminal.
        on_epoch_end (callable, optional): ``on_epoch_end(epoch, model)`` after each epoch
            (epoch 0 is before training), e.g. to record a layer's statistics.
        evaluate_train (bool): measure the training accuracy after every epoch (an extra
            forward pass over the training set). Default: ``True``.
        stopping (StoppingCriterion, optional): a criterion of
            :mod:`reglab.train.stopping` (:class:`~reglab.train.Patience`,
            :class:`~reglab.train.GeneralizationLoss`, ...), reset first, then updated
            after each epoch's evaluation with the metrics it ``requires``; training
            stops when it says so. A criterion watching ``val_*`` needs ``val_data``.
            Default: ``None``, i.e. all ``num_epochs``.
        restore_best (bool): with ``stopping``, load at the end the weights of the
            criterion's best epoch (``history.best_epoch``), whether it fired or the
            budget ran out; a copy of them is kept during training. Without
            ``stopping`` the last weights stay. Default: ``True``.

    Returns:
        History: per-epoch training loss and accuracies (train, val and test, in eval
        mode); ``best_epoch``/``stopped_epoch`` with ``stopping``. ``train_loss`` is the
        objective that was minimised, ``loss`` averaged over the epoch's augmented and
        mixed batches, without the penalty; ``train_acc`` and the val/test metrics are
        plain cross-entropy and accuracy on the clean inputs and hard labels.

    Shape:
        - X: :math:`(N, *)`, any shape the model accepts
        - y: :math:`(N,)` class indices

    Example::

        >>> history = train(model, (X_train, y_train), val_data=(X_val, y_val),
        ...                 num_epochs=50, stopping=Patience(5))
        >>> history.best_epoch, history.val_loss[history.best_epoch - 1]
        >>> smoothed = train(model, (X_train, y_train),
        ...                  loss=nn.CrossEntropyLoss(label_smoothing=0.1),
        ...                  mix=v2.MixUp(alpha=0.2, num_classes=10))
    """
    check_positive_int(num_epochs, "num_epochs")
    check_positive_int(batch_size, "batch_size")
    if optimizer is not None and lr is not None:
        raise ValueError("give either optimizer or lr (of the default SGD), not both")
    lr = 0.1 if lr is None else lr
    if optimizer is None:
        check_positive(lr, "lr")
    if isinstance(seed, bool) or not isinstance(seed, int | torch.Generator):
        raise TypeError(f"seed must be an int or a torch.Generator, got {type(seed).__name__}")
    for name, hook, signature in (("loss", loss, "(logits, targets) -> scalar"),
                                  ("mix", mix, "(X_b, y_b) -> (X_b, targets)")):  # fmt: skip
        if hook is not None and not callable(hook):
            raise TypeError(f"{name} must be a callable {signature}, got {type(hook).__name__}")
    _check_data("train_data", train_data, allow_none=False)
    _check_data("val_data", val_data)
    _check_data("test_data", test_data)
    _check_stopping(stopping, val_data, evaluate_train)
    for name, flag in (("evaluate_train", evaluate_train), ("restore_best", restore_best)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False, got {flag!r}")

    device = resolve_device(device)
    source = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(seed)
    order_seed, noise_seed = spawn_seeds(source, 2)
    order_generator = torch.Generator().manual_seed(order_seed)  # the batch order
    model.to(device)
    X, y = train_data[0].to(device), train_data[1].to(device)
    if optimizer is None:
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    if progress is None:
        progress = sys.stderr.isatty()
    epochs = range(1, num_epochs + 1)
    if progress:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc="epochs", leave=False)  # closed below, also after a stop
    if stopping is not None:
        stopping.reset()
    best_state = None  # a copy of the best epoch's weights (restore_best)

    history = History()
    with forked_rng(noise_seed, device):  # dropout masks, augmentations and mixing
        if on_epoch_end is not None:
            on_epoch_end(0, model)
        for epoch in epochs:
            train_loss = train_one_epoch(
                model, X, y, optimizer, batch_size=batch_size, generator=order_generator,
                penalty=penalty, augment=augment, loss=loss, mix=mix,
            )  # fmt: skip
            metrics = {"train_loss": train_loss}
            metrics |= _measure(model, (X, y), val_data, test_data, evaluate_train)
            history.append(epoch=epoch, **metrics)
            if on_epoch_end is not None:
                on_epoch_end(epoch, model)
            if stopping is None:
                continue
            stop = stopping.update(**{name: metrics[name] for name in stopping.requires})
            if restore_best and stopping.best_epoch == epoch:
                # a copy: state_dict() alone holds the live tensors the optimizer updates
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if stop:
                history.stopped_epoch = epoch
                break
    if progress:
        epochs.close()
    if stopping is not None:
        history.best_epoch = stopping.best_epoch
        if best_state is not None:
            model.load_state_dict(best_state)
    return history
