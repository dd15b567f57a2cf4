r"""Weight initialization: the standard deviations ``nn.init`` aims for, and their effect.

The formulas here are the ones derived in the chapter *Weight initialization*; the tests
compare each with the tensors ``torch.nn.init`` actually fills. The model factory
(:func:`reglab.train.deep_mlp`) and the forward-hook instrumentation
(:func:`reglab.inspection.activation_stats`) live in their own modules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from reglab._checks import check_positive_int

__all__ = [
    "INITIALIZERS",
    "expected_std",
    "fan_in_and_fan_out",
    "gain",
    "init_weights_",
    "kaiming_std",
    "sampling_tolerance",
    "xavier_std",
]

_NONLINEARITIES = (
    "linear", "conv1d", "conv2d", "conv3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu",
)  # fmt: skip


def fan_in_and_fan_out(shape: Sequence[int] | torch.Tensor) -> tuple[int, int]:
    r"""Return ``(fan_in, fan_out)`` of a weight of the given shape, as ``nn.init`` counts them.

    .. math::
        \text{fan\_in} = C_\text{in} \prod_k K_k, \qquad
        \text{fan\_out} = C_\text{out} \prod_k K_k

    For ``nn.Linear`` the weight is ``(out_features, in_features)``; for ``nn.Conv2d`` it
    is ``(out_channels, in_channels / groups, kH, kW)``, so each output sums
    ``in_channels x kH x kW`` products.

    Args:
        shape: the weight's shape (or the weight itself), with at least 2 dimensions.

    Raises:
        ValueError: fewer than 2 dimensions (a bias or a 1-D vector has no fan-in).
    """
    shape = tuple(shape.shape if isinstance(shape, torch.Tensor) else shape)
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out need a weight with at least 2 dimensions "
            f"(out_features, in_features, *kernel); got shape {shape}"
        )
    receptive_field = math.prod(shape[2:])  # kH x kW for a conv kernel, 1 for a linear layer
    return shape[1] * receptive_field, shape[0] * receptive_field


def gain(nonlinearity: str = "linear", param: float | None = None) -> float:
    r"""The gain :math:`g` that compensates a nonlinearity (``nn.init.calculate_gain``).

    ``relu`` has :math:`g=\sqrt{2}` because it zeroes half of a symmetric input, halving its
    second moment; ``tanh`` has :math:`5/3`; ``leaky_relu`` with slope ``param`` (default
    0.01) has :math:`\sqrt{2 / (1 + a^2)}`.

    Raises:
        ValueError: an unknown nonlinearity; the message lists the allowed ones.
    """
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(
            f"nonlinearity must be one of {', '.join(_NONLINEARITIES)}; got {nonlinearity!r}"
        )
    return nn.init.calculate_gain(nonlinearity, param)


def xavier_std(fan_in: int, fan_out: int, gain: float = 1.0) -> float:
    r"""Glorot & Bengio's compromise between forward and backward variance.

    .. math:: \sigma = g \sqrt{\frac{2}{\text{fan\_in} + \text{fan\_out}}}

    Raises:
        ValueError: a fan below 1 (a weight with no inputs or no outputs has no scale).
    """
    check_positive_int(fan_in, "fan_in")
    check_positive_int(fan_out, "fan_out")
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def kaiming_std(fan: int, gain: float = math.sqrt(2.0)) -> float:
    r"""He et al.'s standard deviation, for the fan of the chosen ``mode``.

    .. math:: \sigma = \frac{g}{\sqrt{\text{fan}}}

    Raises:
        ValueError: ``fan`` below 1.
    """
    check_positive_int(fan, "fan")
    return gain / math.sqrt(fan)


def expected_std(
    name: str,
    shape: Sequence[int],
    *,
    gain: float | None = None,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    a: float = 0.0,
) -> float:
    r"""The standard deviation that ``torch.nn.init.<name>_`` gives a tensor of ``shape``.

    A uniform distribution on :math:`[-b, b]` has standard deviation :math:`b/\sqrt{3}`,
    so the uniform and normal variants of each scheme share one :math:`\sigma`.

    Args:
        name (str): ``"xavier_uniform"``, ``"xavier_normal"``, ``"kaiming_uniform"`` or
            ``"kaiming_normal"``.
        shape: the weight's shape.
        gain (float, optional): Xavier's gain. Default: ``1.0``.
        mode (str): Kaiming's ``"fan_in"`` (default) or ``"fan_out"``.
        nonlinearity (str): Kaiming's nonlinearity. Default: ``"leaky_relu"`` (torch's default).
        a (float): negative slope for ``leaky_relu``. Default: ``0``.
    """
    fan_in, fan_out = fan_in_and_fan_out(shape)
    if name in ("xavier_uniform", "xavier_normal"):
        return xavier_std(fan_in, fan_out, 1.0 if gain is None else gain)
    if name in ("kaiming_uniform", "kaiming_normal"):
        if mode not in ("fan_in", "fan_out"):
            raise ValueError(f"mode must be 'fan_in' or 'fan_out'; got {mode!r}")
        fan = fan_in if mode == "fan_in" else fan_out
        return kaiming_std(fan, globals()["gain"](nonlinearity, a))
    raise ValueError(
        "name must be one of xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal; "
        f"got {name!r}"
    )


def sampling_tolerance(numel: int, kurtosis: float = 3.0, z: float = 5.0) -> float:
    r"""Relative tolerance for comparing a sample standard deviation with the true one.

    The sample variance of :math:`n` draws has variance :math:`\sigma^4(\kappa - 1)/n`
    (:math:`\kappa` the kurtosis: 3 for a normal, 1.8 for a uniform distribution), so the
    sample standard deviation has relative standard error :math:`\sqrt{(\kappa-1)/(4n)}`.
    Returns ``z`` of those.
    """
    return z * math.sqrt((kurtosis - 1.0) / (4.0 * numel))


#: The four initializers of the chapter's experiment, written with plain ``nn.init`` calls.
#: Each takes the weight and the network's nonlinearity ``nl`` (only Kaiming's uses it).
INITIALIZERS = {
    "normal, std 1": lambda w, nl: nn.init.normal_(w, mean=0.0, std=1.0),
    "normal, std 0.01": lambda w, nl: nn.init.normal_(w, mean=0.0, std=0.01),
    "xavier": lambda w, nl: nn.init.xavier_normal_(w),  # gain 1, as Glorot & Bengio
    "kaiming": lambda w, nl: nn.init.kaiming_normal_(w, nonlinearity=nl),  # gain(nl)
}  # fmt: skip


def init_weights_(model: nn.Module, name: str, nonlinearity: str) -> nn.Module:
    """Re-initialize every ``nn.Linear``/``nn.Conv*d`` weight with ``INITIALIZERS[name]``
    and set the biases to zero; returns the model."""
    if name not in INITIALIZERS:
        raise ValueError(f"name must be one of {', '.join(map(repr, INITIALIZERS))}; got {name!r}")
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d):
                INITIALIZERS[name](module.weight, nonlinearity)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
    return model
