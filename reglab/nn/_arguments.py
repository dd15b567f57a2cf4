"""Type checks of the arguments of the from-scratch functions in :mod:`reglab.nn.functional`.

``torch.nn.functional`` gets these from its C++ argument parser: a ``float`` passed as
``weight`` is a :class:`TypeError` naming the argument, and its kernels refuse integer and
boolean tensors. Without the checks a from-scratch function fails later with an
``AttributeError``, or silently computes in integers and truncates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real

import torch


def check_tensors(fn: str, input, **optional) -> None:
    """Raise ``TypeError`` unless ``input`` is a floating-point tensor and every keyword
    argument is ``None`` or a floating-point tensor.

    Integer, boolean and complex tensors are refused: the normalizations divide by a standard
    deviation, and torch's kernels refuse them too (except ``rms_norm``'s ``weight`` and
    ``instance_norm``'s ``running_mean``, which torch casts silently).

    Example::

        >>> check_tensors("layer_norm", torch.randn(2, 3), weight=1.0)
        Traceback (most recent call last):
        TypeError: layer_norm(): argument 'weight' must be a Tensor or None, not float
    """
    for name, value in [("input", input), *optional.items()]:
        if value is None and name != "input":
            continue
        if not isinstance(value, torch.Tensor):
            allowed = "a Tensor" if name == "input" else "a Tensor or None"
            raise TypeError(
                f"{fn}(): argument '{name}' must be {allowed}, not {type(value).__name__}"
            )
        if not value.is_floating_point():
            raise TypeError(
                f"{fn}(): argument '{name}' must be a floating-point tensor, got {value.dtype}"
            )


def check_int(fn: str, name: str, value) -> int:
    """Raise ``TypeError`` unless ``value`` is an integer (``bool`` and ``2.0`` refused)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(
            f"{fn}(): argument '{name}' must be int, not {type(value).__name__} {value!r}"
        )
    return int(value)


def check_int_sequence(fn: str, name: str, value) -> list[int]:
    """Raise ``TypeError`` unless ``value`` is a sequence of integers, e.g. ``x.shape[-1:]``
    (a float such as ``4.7`` is refused, not truncated to 4); return it as a list."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(
            f"{fn}(): argument '{name}' must be a tuple of ints (e.g. input.shape[-1:]), "
            f"not {type(value).__name__}"
        )
    for element in value:
        if isinstance(element, bool) or not isinstance(element, Integral):
            raise TypeError(
                f"{fn}(): argument '{name}' must be a tuple of ints, but found an element of "
                f"type {type(element).__name__} ({element!r})"
            )
    return [int(s) for s in value]


def check_like_input(fn: str, input: torch.Tensor, **tensors) -> None:
    """Raise ``TypeError`` unless every keyword tensor (``weight``, ``bias``) has the dtype and
    device of ``input``: torch's kernels refuse mixed dtypes, where a from-scratch function
    would silently promote its output (a float64 ``weight`` on a float32 input). As in torch,
    a float16/bfloat16 input may have float32 parameters."""
    for name, value in tensors.items():
        if value is None:
            continue
        mixed = input.dtype in (torch.float16, torch.bfloat16) and value.dtype == torch.float32
        if (value.dtype != input.dtype and not mixed) or value.device != input.device:
            raise TypeError(
                f"{fn}(): argument '{name}' must have the dtype and device of input "
                f"({input.dtype}, {input.device}), got {value.dtype}, {value.device}"
            )


def check_eps(fn: str, eps, *, positive: bool = False) -> None:
    """Raise unless ``eps`` is a finite real number ``>= 0`` (``> 0`` with ``positive``):
    ``TypeError`` for a non-number, ``ValueError`` out of range (a negative ``eps`` would
    take the square root of a negative variance)."""
    if isinstance(eps, bool) or not isinstance(eps, Real):
        raise TypeError(f"{fn}(): argument 'eps' must be a float, not {type(eps).__name__}")
    bound = "> 0" if positive else ">= 0"
    if not (eps > 0 if positive else eps >= 0) or not math.isfinite(eps):
        raise ValueError(f"{fn}(): eps must be a finite number {bound}, got {eps}")
