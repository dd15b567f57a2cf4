"""The small networks the chapters train: an MLP and a CNN for 28x28 digits, with optional
dropout and batch normalization, built from plain ``torch.nn`` layers.

Seeded initialization, the one way the library does it: pass a ``generator``. The model is
then built under :func:`reglab.train.forked_rng`, seeded with one draw from the generator
(:func:`reglab.train.spawn_seeds`): ``torch.nn``'s own initialization, reproducible, and the
caller's global RNG untouched. Without a generator the layers draw from the global RNG, as
``torch.nn`` layers do.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from reglab._checks import check_positive_int, check_probability
from reglab.train.loop import forked_rng, spawn_seeds

__all__ = ["deep_mlp", "mlp", "small_cnn"]

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
# norm name -> layer(channels, num_groups) after a conv layer; layer norm over (C, H, W)
# is group norm with one group
_NORMS = {
    None: None,
    "batch": lambda C, G: nn.BatchNorm2d(C),
    "group": lambda C, G: nn.GroupNorm(G, C),
    "layer": lambda C, G: nn.GroupNorm(1, C),
}


def _build(layers: Callable[[], list[nn.Module]], generator: torch.Generator | None):
    """``nn.Sequential(*layers())``, initialized under a seed drawn from ``generator``."""
    if generator is None:
        return nn.Sequential(*layers())
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    (seed,) = spawn_seeds(generator, 1)
    with forked_rng(seed):  # the initial weights: their own stream
        return nn.Sequential(*layers())


def mlp(
    hidden: tuple[int, ...] = (512, 512),
    *,
    p: float = 0.0,
    nonlinearity: str = "relu",
    in_features: int = 784,
    classes: int = 10,
    generator: torch.Generator | None = None,
) -> nn.Sequential:
    """``Flatten -> [Linear -> activation -> Dropout(p)] x len(hidden) -> Linear``.

    Args:
        hidden (tuple[int]): widths of the hidden layers. Default: ``(512, 512)``.
        p (float): dropout probability after each hidden layer; ``0`` adds no dropout layer.
        nonlinearity (str): ``"relu"`` (default) or ``"tanh"``.
        in_features (int): input size after flattening. Default: ``784`` (28 x 28).
        classes (int): number of outputs. Default: ``10``.
        generator (torch.Generator, optional): seeds the initial weights (see the module's
            docstring); advanced by one draw. Default: ``None``, the global RNG.

    Example::

        >>> model = mlp((256,), p=0.5, generator=torch.Generator().manual_seed(0))
    """
    check_probability(p)
    if nonlinearity not in _ACTIVATIONS:
        raise ValueError(f"nonlinearity must be 'relu' or 'tanh'; got {nonlinearity!r}")

    def layers() -> list[nn.Module]:
        out: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden:
            out += [nn.Linear(width, h), _ACTIVATIONS[nonlinearity]()]
            if p > 0:
                out.append(nn.Dropout(p))
            width = h
        return [*out, nn.Linear(width, classes)]

    return _build(layers, generator)


def small_cnn(
    channels: tuple[int, int] = (16, 32),
    *,
    batch_norm: bool = False,
    p: float = 0.0,
    p2d: float = 0.0,
    hidden: int = 64,
    classes: int = 10,
    norm: str | None = None,
    num_groups: int = 4,
    generator: torch.Generator | None = None,
) -> nn.Sequential:
    """Two conv blocks and a classifier, for ``(N, 1, 28, 28)`` inputs.

    Each block is ``Conv2d(3x3) -> [BatchNorm2d] -> ReLU -> MaxPool2d(2)``; after the last
    block comes ``[Dropout2d(p2d)]``, then the classifier
    ``Flatten -> Linear -> ReLU -> [Dropout(p)] -> Linear``. A convolution followed by
    batch norm has no bias (the norm's shift replaces it).

    Every dropout layer sits after every batch-norm layer. Dropout before batch norm
    changes the variance of the norm's input between training and evaluation, so the
    running variance collected in training no longer fits at test time ("variance shift",
    Li et al., *Understanding the Disharmony between Dropout and Batch Normalization by
    Variance Shift*, CVPR 2019).

    Args:
        channels (tuple[int, int]): output channels of the two conv blocks.
        batch_norm (bool): add ``BatchNorm2d`` after each convolution. Default: ``False``.
        p (float): dropout probability in the classifier. Default: ``0``.
        p2d (float): channel dropout probability after the conv blocks. Default: ``0``.
        hidden (int): width of the classifier's hidden layer. Default: ``64``.
        classes (int): number of outputs. Default: ``10``.
        norm (str, optional): the normalization after each convolution: ``"batch"``
            (the same as ``batch_norm=True``), ``"group"`` (``GroupNorm(num_groups, C)``),
            ``"layer"`` (``GroupNorm(1, C)``, i.e. layer norm over (C, H, W) with a
            per-channel affine) or ``None``. The classifier is never normalized, so that
            dropout there sees no normalization after it.
        num_groups (int): groups for ``norm="group"``; must divide every width. Default: 4.
        generator (torch.Generator, optional): seeds the initial weights (see the module's
            docstring); advanced by one draw. Default: ``None``, the global RNG.
    """
    check_probability(p)
    check_probability(p2d, "p2d")
    if norm not in _NORMS:
        raise ValueError(f"norm must be one of {list(_NORMS)}; got {norm!r}")
    if batch_norm and norm not in (None, "batch"):
        raise ValueError(f"batch_norm=True contradicts norm={norm!r}")
    norm = "batch" if batch_norm else norm
    bias = norm is None  # a normalized layer needs no bias: the norm's shift replaces it

    def layers() -> list[nn.Module]:
        out: list[nn.Module] = []
        in_channels = 1
        for out_channels in channels:
            out.append(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias))
            if norm is not None:
                out.append(_NORMS[norm](out_channels, num_groups))
            out += [nn.ReLU(), nn.MaxPool2d(2)]  # 28 -> 14 -> 7
            in_channels = out_channels
        if p2d > 0:
            out.append(nn.Dropout2d(p2d))  # after the last normalization: no variance shift
        out += [nn.Flatten(), nn.Linear(in_channels * 7 * 7, hidden), nn.ReLU()]
        if p > 0:
            out.append(nn.Dropout(p))
        return [*out, nn.Linear(hidden, classes)]

    return _build(layers, generator)


def deep_mlp(
    depth: int,
    width: int,
    nonlinearity: str = "relu",
    in_features: int = 784,
    classes: int = 10,
    *,
    generator: torch.Generator | None = None,
) -> nn.Sequential:
    """``Flatten -> [Linear -> activation] x depth -> Linear``: the chapter's deep network,
    :func:`mlp` with ``depth`` hidden layers of the same ``width`` (and its ``generator``)."""
    check_positive_int(depth, "depth")
    return mlp(
        (width,) * depth, nonlinearity=nonlinearity, in_features=in_features, classes=classes,
        generator=generator,
    )  # fmt: skip
