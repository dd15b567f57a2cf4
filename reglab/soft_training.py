r"""Training on modified targets: a loss other than plain cross-entropy, and batches mixed
together with their labels (mixup, CutMix).

:func:`reglab.training.train` fixes the loss to ``F.cross_entropy(model(X_b), y_b)`` and
lets an ``augment`` change only the images. :func:`train_soft` is the same loop with two
more hooks: ``loss(logits, target)`` (e.g. cross-entropy with label smoothing) and
``mix(X_b, y_b, generator)`` returning new inputs *and* targets (e.g.
:func:`reglab.mixing.mixup`). It records the same :class:`reglab.training.History`, with
val/test metrics measured by :func:`reglab.training.evaluate` (plain cross-entropy, i.e.
the negative log-likelihood, and accuracy).

Random numbers come from explicit streams derived from ``seed``, as in ``train``: the batch
order, the mixing (passed to ``mix`` as a generator) and, inside
:func:`reglab.training.forked_rng`, anything in the model that draws from the global RNG
(dropout). The caller's global RNG is left untouched.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from reglab.device import resolve_device
from reglab.training import History, evaluate, forked_rng, spawn_seeds

__all__ = ["train_soft"]

Data = tuple[torch.Tensor, torch.Tensor]


def _check_pair(name: str, data) -> None:
    if data is None:
        return
    if not (isinstance(data, tuple | list) and len(data) == 2):
        raise ValueError(f"{name} must be a pair (X, y) of tensors, got {type(data).__name__}")
    if len(data[0]) != len(data[1]) or len(data[0]) == 0:
        raise ValueError(
            f"{name}: X and y must be non-empty and of equal length, got {len(data[0])} and "
            f"{len(data[1])}"
        )


def train_soft(
    model: nn.Module,
    train_data: Data,
    *,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    mix: Callable[..., tuple[torch.Tensor, torch.Tensor]] | None = None,
    val_data: Data | None = None,
    test_data: Data | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 0.1,
    num_epochs: int = 10,
    batch_size: int = 64,
    seed: int = 0,
    device: torch.device | str | None = None,
    evaluate_train: bool = True,
) -> History:
    r"""Mini-batch training where each step minimises ``loss(model(X_mix), t_mix)`` with
    ``(X_mix, t_mix) = mix(X_b, y_b, generator)``.

    .. math::
        \mathcal{L} = \frac{1}{B}\sum_{i=1}^{B} \ell\big(f(\tilde x_i), \tilde t_i\big)

    Args:
        model (nn.Module): moved to ``device``; trained in place.
        train_data (tuple): ``(X, y)`` with class indices ``y``.
        loss (callable, optional): ``loss(logits, target)``, a scalar; default
            ``F.cross_entropy`` (which accepts class indices and probabilities).
        mix (callable, optional): ``mix(X_b, y_b, generator) -> (X_b, target)``, e.g.
            ``functools.partial(reglab.mixing.mixup, alpha=0.2, num_classes=10)`` (its
            ``generator`` is passed by keyword). Default: no mixing.
        val_data, test_data (tuple, optional): evaluated after every epoch.
        optimizer (Optimizer, optional): default ``torch.optim.SGD(model.parameters(), lr)``.
        lr (float): learning rate of the default optimizer. Default: ``0.1``.
        num_epochs (int): passes over the training data. Default: ``10``.
        batch_size (int): samples per step. Default: ``64``.
        seed (int): source of the random streams. Default: ``0``.
        device (device, optional): default :func:`reglab.device.default_device`.
        evaluate_train (bool): record the (clean, unmixed) training accuracy after every
            epoch. Default: ``True``.

    Returns:
        History: ``train_loss`` is the epoch's mean training objective (smoothed or mixed);
        ``val_*``/``test_*`` are plain cross-entropy and accuracy in eval mode.

    Example::

        >>> mix = functools.partial(mixup, alpha=0.2, num_classes=10)
        >>> history = train_soft(model, (X, y), mix=mix, test_data=(X_test, y_test))
    """
    if isinstance(num_epochs, bool) or not isinstance(num_epochs, int) or num_epochs < 1:
        raise ValueError(f"num_epochs must be an integer >= 1, got {num_epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if optimizer is None and not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if train_data is None:
        raise ValueError("train_data must be a pair (X, y) of tensors, got None")
    for name, data in [("train_data", train_data), ("val_data", val_data)]:
        _check_pair(name, data)
    _check_pair("test_data", test_data)
    loss = F.cross_entropy if loss is None else loss
    device = resolve_device(device)
    order_seed, mix_seed, model_seed = spawn_seeds(torch.Generator().manual_seed(seed), 3)
    order_generator = torch.Generator().manual_seed(order_seed)  # the batch order
    mix_generator = torch.Generator().manual_seed(mix_seed)  # lambda and boxes, on the CPU
    model.to(device)
    X, y = train_data[0].to(device), train_data[1].to(device)
    if optimizer is None:
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    history = History()
    with forked_rng(model_seed, device):  # dropout masks, if the model has any
        for epoch in range(1, num_epochs + 1):
            model.train()
            order = torch.randperm(len(X), generator=order_generator).to(device)
            total = torch.zeros((), device=device)
            for start in range(0, len(X), batch_size):
                idx = order[start : start + batch_size]
                X_b, t_b = X[idx], y[idx]
                if mix is not None:
                    X_b, t_b = mix(X_b, t_b, generator=mix_generator)
                objective = loss(model(X_b), t_b)  # (1/B) sum_i l(f(x~_i), t~_i)
                optimizer.zero_grad(set_to_none=True)
                objective.backward()
                optimizer.step()
                total += objective.detach() * len(idx)
            history.epoch.append(epoch)
            history.train_loss.append(total.item() / len(X))
            if evaluate_train:
                history.train_acc.append(evaluate(model, X, y)[1])
            for prefix, data in (("val", val_data), ("test", test_data)):
                if data is not None:
                    data_loss, data_acc = evaluate(model, *data)
                    getattr(history, f"{prefix}_loss").append(data_loss)
                    getattr(history, f"{prefix}_acc").append(data_acc)
    return history
