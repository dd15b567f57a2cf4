"""Choosing where tensors live: the GPU when there is one, else the CPU."""

from __future__ import annotations

import torch

from reglab import environment

__all__ = ["default_device"]


def default_device() -> torch.device:
    r"""Return the device the book runs on.

    ``cuda`` when a CUDA GPU is visible, otherwise ``cpu``. The environment variable
    ``REGLAB_DEVICE`` overrides the choice (for example ``REGLAB_DEVICE=cpu`` on a machine
    with a GPU, to reproduce the CPU numbers of the book).

    Example::

        >>> default_device()
        device(type='cpu')
    """
    requested = environment.get("REGLAB_DEVICE")
    if requested:
        device = torch.device(requested)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                f"REGLAB_DEVICE={requested!r} asks for CUDA, but torch.cuda.is_available() is False"
            )
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
