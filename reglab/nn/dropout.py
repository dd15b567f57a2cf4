r"""Dropout from scratch, with the semantics and argument names of ``torch.nn.functional``.

``dropout`` zeroes each element independently with probability ``p``; ``dropout2d``
zeroes whole channels. Both scale what they keep by :math:`1/(1-p)` ("inverted dropout")
so that the expected output equals the input and evaluation needs no rescaling.

Import them from :mod:`reglab.nn.functional`, their one public path.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from reglab._checks import check_probability

# dropout and dropout2d are public as reglab.nn.functional.dropout / .dropout2d (one path)
__all__ = ["mask_of"]


def _check_input(fn: str, input, generator) -> None:
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be a Tensor, not {type(input).__name__}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"{fn}(): argument 'generator' must be a torch.Generator or None, "
            f"not {type(generator).__name__}"
        )


def _apply_mask(input: torch.Tensor, mask_shape, p: float, inplace: bool, generator):
    # m ~ Bernoulli(1 - p): 1 keeps an entry, 0 drops it
    keep = torch.empty(mask_shape, dtype=input.dtype, device=input.device)
    keep.bernoulli_(1.0 - p, generator=generator)
    scale = keep.div_(1.0 - p)  # m / (1 - p), divided in input's dtype as torch's CPU kernel
    # Dropout_p(x) = m * x / (1 - p), so E[Dropout_p(x)] = (1 - p) * x / (1 - p) = x
    return input.mul_(scale) if inplace else input * scale


def dropout(
    input: torch.Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Zero each element with probability ``p`` and scale the rest by :math:`1/(1-p)`.

    .. math::
        \mathrm{Dropout}_p(x) = \frac{m \odot x}{1 - p}, \qquad m_i \sim \mathrm{Bernoulli}(1 - p)

    In evaluation (``training=False``) or with ``p=0`` it returns ``input`` itself (the same
    object, as ``torch.nn.functional.dropout`` does). With ``p=1`` every element is zeroed.

    Args:
        input (Tensor): any shape.
        p (float): probability of an element being zeroed. Default: ``0.5``. Note that the
            original paper's :math:`p` is the probability of *keeping* a unit.
        training (bool): apply dropout if ``True`` (default, like ``F.dropout``!).
        inplace (bool): modify ``input`` in place. Default: ``False``.
        generator (torch.Generator, optional): source of the random mask. Default: ``None``.

    Shape:
        - Input: :math:`(*)`
        - Output: :math:`(*)`, same shape

    Example::

        >>> g = torch.Generator().manual_seed(0)
        >>> dropout(torch.ones(2, 4), p=0.5, generator=g)
        tensor([[0., 0., 2., 0.],
                [0., 0., 2., 2.]])

    Reference: Srivastava et al., *Dropout: A Simple Way to Prevent Neural Networks from
    Overfitting*, JMLR 2014.
    """
    _check_input("dropout", input, generator)
    check_probability(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input.mul_(0.0) if inplace else input * 0.0  # all dropped; no 0/0
    return _apply_mask(input, input.shape, p, inplace, generator)


def dropout2d(
    input: torch.Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Zero whole channels with probability ``p`` and scale the rest by :math:`1/(1-p)`.

    One Bernoulli draw per (sample, channel) pair is broadcast over the spatial positions,
    because neighbouring pixels of a feature map are strongly correlated: dropping single
    pixels barely removes any information.

    .. math::
        \mathrm{Dropout2d}_p(x)_{n,c,h,w} = \frac{m_{n,c}\, x_{n,c,h,w}}{1 - p}

    Args:
        input (Tensor): :math:`(N, C, H, W)`. A 3-D input is treated as :math:`(N, C, L)`
            with a warning, exactly as ``torch.nn.functional.dropout2d`` does today.
        p, training, inplace, generator: as in :func:`dropout`.

    Shape:
        - Input: :math:`(N, C, H, W)` or :math:`(N, C, L)`
        - Output: same shape as the input
    """
    _check_input("dropout2d", input, generator)
    check_probability(p)
    if input.dim() not in (3, 4):
        raise ValueError(
            f"dropout2d expects a 4-D input (N, C, H, W) (or 3-D (N, C, L)); "
            f"got {input.dim()}-D input of shape {tuple(input.shape)}"
        )
    if input.dim() == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
            "is the channel dim.",
            UserWarning,
            stacklevel=2,
        )
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input.mul_(0.0) if inplace else input * 0.0
    mask_shape = input.shape[:2] + (1,) * (input.dim() - 2)  # (N, C, 1, 1): one draw per channel
    return _apply_mask(input, mask_shape, p, inplace, generator)


def mask_of(module: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a real dropout module on ``x`` and recover which elements it kept.

    Works for ``nn.Dropout``, ``nn.Dropout1d``/``2d``/``3d`` or any function of the same
    kind: an element was kept exactly when the output is non-zero, provided the input has
    no zeros. Not for ``nn.AlphaDropout``/``nn.FeatureAlphaDropout``, which set a dropped
    element to a non-zero value.

    The module draws its mask from the global RNG, as it does in training (seed it, or run
    under :func:`reglab.train.forked_rng`, for a reproducible mask). ``x`` itself is never
    changed: an ``inplace=True`` module works on a copy.

    Returns:
        (mask, output): a boolean tensor shaped like ``x`` (``True`` = kept) and the output.

    Raises:
        ValueError: ``x`` contains zeros, so dropped and kept zeros could not be told apart;
            or ``module`` is an alpha dropout.
        TypeError: ``module`` is not an ``nn.Module`` holding a dropout layer.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
    if not any(isinstance(m, nn.modules.dropout._DropoutNd) for m in module.modules()):
        raise TypeError(f"module must be a dropout module, got {type(module).__name__}")
    if isinstance(module, nn.AlphaDropout | nn.FeatureAlphaDropout):
        raise ValueError(
            f"mask_of cannot recover the mask of {type(module).__name__}: it sets a dropped "
            "element to a non-zero value, not to zero"
        )
    if (x == 0).any():
        raise ValueError("x must not contain zeros: a zero output would be ambiguous")
    with torch.no_grad():
        output = module(x.clone())  # an inplace dropout must not overwrite the caller's x
    return output != 0, output
