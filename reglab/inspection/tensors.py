r"""Looking inside tensors and modules: ``describe`` prints what a tensor *is*.

The seed notebook's ``print_tensor_info`` done properly: one object that knows the
shape, dtype, device and ``requires_grad`` of a tensor, says clearly when it was given
something that is not a tensor, and lists a module's parameters and buffers (the
learnable ``weight`` and ``bias`` of ``nn.BatchNorm2d`` versus its ``running_mean``,
``running_var`` and ``num_batches_tracked``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["Description", "describe", "format_device"]


def format_device(device: torch.device | str) -> str:
    """Return a device as the string PyTorch accepts back: ``'cpu'``, ``'cuda:0'``, ``'meta'``."""
    return str(torch.device(device))


@dataclass(frozen=True)
class Description:
    """What :func:`describe` found. ``str()`` gives the printout."""

    name: str
    kind: str  # "tensor", "parameter", "buffer", "module" or the Python type's name
    shape: tuple[int, ...] | None = None
    dtype: torch.dtype | None = None
    device: str | None = None
    requires_grad: bool | None = None
    value: str | None = None  # repr of a non-tensor, or the values of a small tensor
    children: tuple[Description, ...] = field(default_factory=tuple)

    @property
    def is_tensor(self) -> bool:
        return self.shape is not None

    def _line(self) -> str:
        if not self.is_tensor and self.kind != "module":
            return f"{self.name}: not a tensor ({self.kind}) = {self.value}"
        if self.kind == "module":
            return f"{self.name}: {self.value}"
        shape = str(self.shape)  # Python's tuple spelling: (), (3,), (4, 3)
        return (
            f"{self.name}: {self.kind} shape={shape} dtype={self.dtype} "
            f"device={self.device} requires_grad={self.requires_grad}"
        )

    def __str__(self) -> str:
        lines = [self._line()]
        for child in self.children:
            lines.append("  " + child._line())
            if child.value is not None and child.is_tensor:
                lines.extend("      " + row for row in child.value.splitlines())
        if self.is_tensor and self.value is not None:
            lines.extend("    " + row for row in self.value.splitlines())
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle) -> None:  # IPython shows the printout, not the dataclass
        p.text(str(self))


def _tensor_description(name: str, t: torch.Tensor, kind: str, values: bool) -> Description:
    shown = None
    if values and t.device.type != "meta":
        shown = repr(t.detach().cpu()).removeprefix("tensor(").removesuffix(")")
    return Description(
        name=name,
        kind=kind,
        shape=tuple(t.shape),
        dtype=t.dtype,
        device=format_device(t.device),
        requires_grad=t.requires_grad,
        value=shown,
    )


def describe(name: str, obj, *, values: bool = False) -> Description:
    r"""Describe a tensor, a module, or anything else, under a name.

    For a tensor: its shape, dtype, device and ``requires_grad``. For an ``nn.Module``:
    one line per parameter (learned by the optimizer) and per buffer (state that is
    saved in ``state_dict`` but not learned, such as batch norm's running statistics).
    For anything else: a line that says it is not a tensor, with its type and value.

    Args:
        name (str): the label printed in front of each line.
        obj: a ``torch.Tensor``, an ``nn.Module`` or any other object.
        values (bool): also show the values of tensors (and of a module's parameters
            and buffers). Default: ``False``.

    Returns:
        Description: a frozen dataclass whose ``str()`` is the printout.

    Example::

        >>> print(describe("w", torch.zeros(3, 5, requires_grad=True)))
        w: tensor shape=(3, 5) dtype=torch.float32 device=cpu requires_grad=True
        >>> print(describe("lr", 0.1))
        lr: not a tensor (float) = 0.1
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__} {name!r}")
    if isinstance(obj, nn.Module):
        children = tuple(
            _tensor_description(f"{n}", p, "parameter", values)
            for n, p in obj.named_parameters(recurse=True)
        ) + tuple(
            _tensor_description(f"{n}", b, "buffer", values)
            for n, b in obj.named_buffers(recurse=True)
        )
        n_params = sum(p.numel() for p in obj.parameters())
        summary = (
            f"{obj.__class__.__name__} in {'train' if obj.training else 'eval'} mode, "
            f"{n_params} learnable values, "
            f"{sum(c.kind == 'parameter' for c in children)} parameters, "
            f"{sum(c.kind == 'buffer' for c in children)} buffers"
        )
        return Description(name=name, kind="module", value=summary, children=children)
    if isinstance(obj, torch.Tensor):
        kind = "parameter" if isinstance(obj, nn.Parameter) else "tensor"
        return _tensor_description(name, obj, kind, values)
    return Description(name=name, kind=type(obj).__name__, value=repr(obj))
