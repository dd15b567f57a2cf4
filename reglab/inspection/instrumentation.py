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

from reglab._checks import check_positive_int

__all__ = ["ActivationStats", "activation_stats"]


@dataclass(frozen=True)
class ActivationStats:
    """Per-layer statistics of one pass; index ``i`` is the ``i``-th recorded layer.

    ``mean``/``std`` are of the layers' outputs (or inputs), ``grad_std`` of the gradient of
    the loss with respect to each of them (``None`` without labels), and ``samples`` holds up
    to ``max_samples`` of their values per layer (for histograms), drawn across the batch.
    """

    names: list[str]
    mean: torch.Tensor  # (L,)
    std: torch.Tensor  # (L,)
    grad_std: torch.Tensor | None  # (L,)
    samples: list[torch.Tensor]


def _std(v: torch.Tensor) -> torch.Tensor:
    """Population std of every element, reduced in float64 and cast back to ``v.dtype``."""
    return v.double().std(correction=0).to(v.dtype)


def activation_stats(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor | None = None,
    *,
    layer_types: tuple[type[nn.Module], ...] = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU),
    max_samples: int = 10_000,
    record: str = "output",
    generator: torch.Generator | None = None,
) -> ActivationStats:
    r"""Record the output (or input) statistics of every layer of the given types with hooks.

    With labels ``y``, also runs a backward pass of the mean cross-entropy and records the
    standard deviation of :math:`\partial \mathcal{L} / \partial h_\ell` for each recorded
    tensor :math:`h_\ell`. Statistics are over all elements of the batch (population ``std``,
    ``correction=0``), taken when the hook runs, so a later in-place layer cannot change
    them. The model's parameters' ``.grad`` are left untouched.

    Args:
        model (nn.Module): the network; run in its current mode.
        X (Tensor): a batch of inputs.
        y (Tensor, optional): class labels, for the gradient statistics. Default: ``None``.
        layer_types (tuple): module types whose outputs are recorded.
        max_samples (int): values kept per layer for histograms: all of them when there are
            at most ``max_samples``, else a uniform draw without replacement across the
            whole batch and every channel. Default: ``10_000``.
        record (str): ``"output"`` (default) or ``"input"`` of each layer; the input of a
            nonlinearity is its pre-activation. A recorded input is handed to the layer as
            a copy, so an in-place layer (``nn.ReLU(inplace=True)``) cannot overwrite it.
        generator (torch.Generator, optional): source of the sample draw. Default: ``None``,
            a generator seeded with 0 (the global RNG is never touched).

    Raises:
        ValueError: the model has no layer of ``layer_types``, ``record`` is unknown, or
            ``max_samples < 1``.
    """
    if record not in ("output", "input"):
        raise ValueError(f"record must be 'output' or 'input'; got {record!r}")
    check_positive_int(max_samples, "max_samples")
    generator = torch.Generator().manual_seed(0) if generator is None else generator
    names: list[str] = []
    recorded_tensors: list[torch.Tensor] = []  # what dL/dh is taken with respect to
    values: list[torch.Tensor] = []  # detached copies, taken when the hook runs

    def remember(name: str, h: torch.Tensor) -> None:
        names.append(name)
        recorded_tensors.append(h)
        values.append(h.detach().flatten().clone())

    def output_hook(name):
        def save(module, inputs, output):
            remember(name, output)

        return save

    def input_hook(name):
        def save(module, inputs):
            remember(name, inputs[0])
            return (inputs[0].clone(), *inputs[1:])  # an in-place layer modifies the copy

        return save

    recorded = [(n, m) for n, m in model.named_modules() if isinstance(m, layer_types)]
    if not recorded:
        raise ValueError(f"model has no layer of types {[t.__name__ for t in layer_types]}")
    if record == "output":
        handles = [m.register_forward_hook(output_hook(n)) for n, m in recorded]
    else:
        handles = [m.register_forward_pre_hook(input_hook(n)) for n, m in recorded]
    try:
        with torch.set_grad_enabled(y is not None):
            logits = model(X)
            grads = None
            if y is not None:  # dL/dh for each recorded h; parameters' .grad untouched
                grads = torch.autograd.grad(F.cross_entropy(logits, y), recorded_tensors)
    finally:
        for handle in handles:
            handle.remove()
    samples = []
    for v in values:
        if v.numel() > max_samples:  # uniform over every image and channel, not the first few
            keep = torch.randperm(v.numel(), generator=generator)[:max_samples]
            v = v[keep.sort().values.to(v.device)]
        samples.append(v)
    return ActivationStats(
        names=names,
        # reduced in float64, so a finite tensor whose squares overflow float32 still
        # gets its finite std; the result is cast back (inf only if the std itself is)
        mean=torch.stack([v.double().mean().to(v.dtype) for v in values]),
        std=torch.stack([_std(v) for v in values]),
        grad_std=None if grads is None else torch.stack([_std(g) for g in grads]),
        samples=samples,
    )
