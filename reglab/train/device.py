"""Choosing where tensors live: the GPU when there is one, else the CPU."""

from __future__ import annotations

import torch

from reglab import environment

__all__ = ["default_device", "resolve_device"]

ENV_VAR = "REGLAB_DEVICE"


def default_device() -> torch.device:
    r"""Return the device the book runs on.

    ``cuda`` when a CUDA GPU is visible, otherwise ``cpu``. The environment variable
    ``REGLAB_DEVICE`` overrides the choice (for example ``REGLAB_DEVICE=cpu`` on a machine
    with a GPU, to reproduce the CPU numbers of the book).

    Example::

        >>> default_device()
        device(type='cpu')
    """
    requested = (environment.get(ENV_VAR) or "").strip()
    if requested:
        try:
            device = torch.device(requested)
        except RuntimeError as error:
            raise ValueError(
                f"{ENV_VAR}={requested!r} is not a torch device; use e.g. 'cpu', 'cuda' or "
                f"'cuda:1' ({error})"
            ) from None
        if device.type == "cuda":
            if not torch.cuda.is_available():
                raise RuntimeError(
                    f"{ENV_VAR}={requested!r} asks for CUDA, but torch.cuda.is_available() is False"
                )
            count = torch.cuda.device_count()
            if device.index is not None and device.index >= count:
                raise RuntimeError(
                    f"{ENV_VAR}={requested!r} asks for GPU {device.index}, but only "
                    f"{count} are visible (0 to {count - 1})"
                )
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: torch.device | str | None, name: str = "device") -> torch.device:
    """``device`` as a :class:`torch.device`; ``None`` means :func:`default_device`.

    Raises a ``ValueError`` naming the argument ``name`` when ``device`` is not a device.
    """
    if device is None:
        return default_device()
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(
            f"{name} must be a torch.device or a string like 'cpu' or 'cuda:0', got {device!r} "
            f"({error})"
        ) from None
