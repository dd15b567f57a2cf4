r"""Forward-hook instrumentation: per-layer statistics of a forward (and backward) pass.

:func:`activation_stats` registers hooks on every layer of the chosen types, runs one
batch, removes the hooks, and returns the mean and standard deviation of each layer's
output (or input), the standard deviation of the gradient of the loss with respect to it,
and a sample of its values for histograms.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ActivationStats", "activation_stats"]


@dataclass(frozen=True)
class ActivationStats:
    """Per-layer statistics of one pass; index ``i`` is the ``i``-th recorded layer.

    ``mean``/``std`` are of the layers' outputs, ``grad_std`` of the gradient of the loss
    with respect to each output (``None`` without labels), and ``samples`` holds up to
    ``max_samples`` output values per layer (for histograms).
    """

    names: list[str]
    mean: torch.Tensor  # (L,)
    std: torch.Tensor  # (L,)
    grad_std: torch.Tensor | None  # (L,)
    samples: list[torch.Tensor]


def activation_stats(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor | None = None,
    *,
    layer_types: tuple[type[nn.Module], ...] = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU),
    max_samples: int = 10_000,
    record: str = "output",
) -> ActivationStats:
    r"""Record the output (or input) statistics of every layer of the given types with hooks.

    With labels ``y``, also runs a backward pass of the mean cross-entropy and records the
    standard deviation of :math:`\partial \mathcal{L} / \partial h_\ell` for each output
    :math:`h_\ell`. Statistics are over all elements of the batch (population ``std``,
    ``correction=0``). The model's parameters' ``.grad`` are left untouched.

    Args:
        model (nn.Module): the network; run in its current mode.
        X (Tensor): a batch of inputs.
        y (Tensor, optional): class labels, for the gradient statistics. Default: ``None``.
        layer_types (tuple): module types whose outputs are recorded.
        max_samples (int): output values kept per layer for histograms. Default: ``10_000``.
        record (str): ``"output"`` (default) or ``"input"`` of each layer; the input of a
            nonlinearity is its pre-activation.

    Raises:
        ValueError: the model has no layer of ``layer_types``.
    """
    if record not in ("output", "input"):
        raise ValueError(f"record must be 'output' or 'input'; got {record!r}")
    outputs: list[tuple[str, torch.Tensor]] = []

    def hook(name):
        def save(module, inputs, output):
            outputs.append((name, output if record == "output" else inputs[0]))

        return save

    recorded = [(n, m) for n, m in model.named_modules() if isinstance(m, layer_types)]
    handles = [m.register_forward_hook(hook(n)) for n, m in recorded]
    if not handles:
        raise ValueError(f"model has no layer of types {[t.__name__ for t in layer_types]}")
    try:
        with torch.set_grad_enabled(y is not None):
            logits = model(X)
            grads = None
            if y is not None:  # dL/dh for each recorded output h; parameters' .grad untouched
                hs = [h for _, h in outputs]
                grads = torch.autograd.grad(F.cross_entropy(logits, y), hs)
    finally:
        for handle in handles:
            handle.remove()
    values = [h.detach().flatten() for _, h in outputs]
    return ActivationStats(
        names=[n for n, _ in outputs],
        mean=torch.stack([v.mean() for v in values]),
        std=torch.stack([v.std(correction=0) for v in values]),
        grad_std=None if grads is None else torch.stack([g.std(correction=0) for g in grads]),
        samples=[v[:max_samples].clone() for v in values],
    )
