"""The small networks the chapters train: an MLP and a CNN for 28x28 digits, with optional
dropout and batch normalization, built from plain ``torch.nn`` layers.

Seeded initialization, the one way the library does it: pass a ``generator``. One draw
from it (:func:`reglab.train.spawn_seeds`) is the model's seed; without a generator that
one draw comes from the global RNG. Each layer with weights (``Linear``, ``Conv2d``) is then
initialized by ``torch.nn``'s own ``reset_parameters`` under
:func:`reglab.train.forked_rng`, seeded by the model's seed and the layer's position among
the layers with weights (:func:`layer_seeds`). So two architectures that share layers start
those layers from identical weights: a network with batch norm or dropout and the same
network without it differ only in what they do not share, and a paired comparison of the
two compares the regularizer, not two draws of the initial weights.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from reglab._checks import check_positive_int, check_probability
from reglab.train.loop import forked_rng, spawn_seeds


def _check_widths(widths, name: str) -> None:
    if isinstance(widths, str | bytes) or not isinstance(widths, tuple | list):
        raise TypeError(f"{name} must be a tuple of widths, got {type(widths).__name__}")
    for width in widths:
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"{name} must hold integers >= 1, got {tuple(widths)}")


__all__ = ["deep_mlp", "layer_seeds", "mlp", "small_cnn"]

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
# norm name -> layer(channels, num_groups) after a conv layer; layer norm over (C, H, W)
# is group norm with one group
_NORMS = {
    None: None,
    "batch": lambda C, G: nn.BatchNorm2d(C),
    "group": lambda C, G: nn.GroupNorm(G, C),
    "layer": lambda C, G: nn.GroupNorm(1, C),
}


_WEIGHTED = (nn.Linear, nn.Conv2d)


def layer_seeds(seed: int, n: int) -> list[int]:
    """The seeds of the first ``n`` layers with weights of a model seeded with ``seed``.

    Layer ``k``'s seed depends on ``seed`` and ``k`` only, not on ``n`` or on the layers
    around it, so a layer keeps its initial weights when another layer is added or removed.

    Example::

        >>> layer_seeds(0, 3)[:2] == layer_seeds(0, 2)
        True
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} {seed!r}")
    check_positive_int(n, "n")
    return [
        spawn_seeds(torch.Generator().manual_seed((seed + 7919 * (k + 1)) % 2**63), 1)[0]
        for k in range(n)
    ]


def _build(layers: Callable[[], list[nn.Module]], generator: torch.Generator | None):
    """``nn.Sequential(*layers())``, each weighted layer initialized from its own stream
    (:func:`layer_seeds`) under a seed drawn from ``generator`` (or the global RNG)."""
    if generator is None:
        seed = int(torch.randint(0, 2**62, (1,)))  # one draw from the global RNG
    elif not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    else:
        (seed,) = spawn_seeds(generator, 1)
    with forked_rng(seed):  # construction draws nothing the caller sees
        model = nn.Sequential(*layers())
    weighted = [m for m in model if isinstance(m, _WEIGHTED)]
    for layer, layer_seed in zip(weighted, layer_seeds(seed, len(weighted)), strict=True):
        with forked_rng(layer_seed):  # layer k: the same weights in every architecture
            layer.reset_parameters()
    return model


def mlp(
    hidden: tuple[int, ...] = (512, 512),
    *,
    p: float = 0.0,
    nonlinearity: str = "relu",
    in_features: int = 784,
    classes: int = 10,
    batch_norm: bool = False,
    generator: torch.Generator | None = None,
) -> nn.Sequential:
    """``Flatten -> [Linear -> [BatchNorm1d] -> activation -> Dropout(p)] x len(hidden)
    -> Linear``.

    Args:
        hidden (tuple[int]): widths of the hidden layers. Default: ``(512, 512)``.
        p (float): dropout probability after each hidden layer; ``0`` adds no dropout layer.
        nonlinearity (str): ``"relu"`` (default) or ``"tanh"``.
        in_features (int): input size after flattening. Default: ``784`` (28 x 28).
        classes (int): number of outputs. Default: ``10``.
        batch_norm (bool): ``BatchNorm1d`` after each hidden ``Linear``, which then has no
            bias (the norm's shift replaces it), before the activation and any dropout.
            Default: ``False``.
        generator (torch.Generator, optional): seeds the initial weights (see the module's
            docstring); advanced by one draw. Default: ``None``: one draw of the
            global RNG seeds the model.

    Example::

        >>> model = mlp((256,), p=0.5, generator=torch.Generator().manual_seed(0))
    """
    check_probability(p)
    if nonlinearity not in _ACTIVATIONS:
        raise ValueError(f"nonlinearity must be 'relu' or 'tanh'; got {nonlinearity!r}")
    _check_widths(hidden, "hidden")
    check_positive_int(in_features, "in_features")
    check_positive_int(classes, "classes")

    def layers() -> list[nn.Module]:
        out: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden:
            out.append(nn.Linear(width, h, bias=not batch_norm))
            if batch_norm:
                out.append(nn.BatchNorm1d(h))
            out.append(_ACTIVATIONS[nonlinearity]())
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
            docstring); advanced by one draw. Default: ``None``: one draw of the
            global RNG seeds the model.
    """
    check_probability(p)
    check_probability(p2d, "p2d")
    if norm not in _NORMS:
        raise ValueError(f"norm must be one of {list(_NORMS)}; got {norm!r}")
    if batch_norm and norm not in (None, "batch"):
        raise ValueError(f"batch_norm=True contradicts norm={norm!r}")
    _check_widths(channels, "channels")
    check_positive_int(hidden, "hidden")
    check_positive_int(classes, "classes")
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
