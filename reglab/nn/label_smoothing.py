r"""Cross-entropy with label smoothing, from scratch, with the signature of
``torch.nn.functional.cross_entropy``.

Label smoothing (Szegedy et al., 2016) trains against a softened target: of the
probability mass, :math:`1 - \varepsilon` stays on the true class and :math:`\varepsilon` is
spread uniformly over all :math:`K` classes,

.. math::
    q_c = (1 - \varepsilon)\,[c = y] + \frac{\varepsilon}{K},

so the network is never asked for a probability of exactly one. :func:`cross_entropy` is
reached as :func:`reglab.nn.functional.cross_entropy`; the chapter "Regularizing inputs and
targets" derives the logit gap it leads to, and the tests compare it with PyTorch's.
"""

from __future__ import annotations

import torch

from reglab._checks import check_probability

__all__ = ["logit_gap", "optimal_logit_gap", "smooth_targets"]

_REDUCTIONS = ("mean", "sum", "none")


def smooth_targets(
    target: torch.Tensor, num_classes: int, eps: float = 0.0, *, dtype: torch.dtype | None = None
) -> torch.Tensor:
    r"""The smoothed target distribution,
    :math:`q = (1-\varepsilon)\,\mathrm{onehot}(y) + \varepsilon/K`.

    Args:
        target (Tensor): class indices, :math:`(N,)`.
        num_classes (int): :math:`K`.
        eps (float): smoothing :math:`\varepsilon` in [0, 1]. Default: ``0.0``.
        dtype (torch.dtype, optional): of the output; default ``torch.get_default_dtype()``.

    Shape:
        - target: :math:`(N,)`; output: :math:`(N, K)`, rows summing to one.

    Example::

        >>> smooth_targets(torch.tensor([2]), 4, eps=0.2)
        tensor([[0.0500, 0.0500, 0.8500, 0.0500]])
    """
    check_probability(eps, "eps")
    dtype = torch.get_default_dtype() if dtype is None else dtype
    one_hot = torch.nn.functional.one_hot(target, num_classes).to(dtype)
    return (1 - eps) * one_hot + eps / num_classes  # q_c = (1-eps)[c=y] + eps/K


def optimal_logit_gap(eps: float, num_classes: int) -> float:
    r"""The logit gap :math:`z_y - z_c` (any :math:`c \ne y`) that minimises the smoothed loss.

    Softmax matches the target exactly at the optimum, :math:`p = q`, so

    .. math::
        z_y - z_c = \log\frac{q_y}{q_c} = \log\frac{1 - \varepsilon + \varepsilon/K}{\varepsilon/K}.

    It is finite for :math:`\varepsilon > 0` (``inf`` at 0: plain cross-entropy pushes the gap
    without bound) and 0 at :math:`\varepsilon = 1`.

    Example::

        >>> round(optimal_logit_gap(0.1, 10), 4)   # log(0.91 / 0.01) = log 91
        4.5109
    """
    check_probability(eps, "eps")
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    if eps == 0:
        return float("inf")
    q_true, q_other = 1 - eps + eps / num_classes, eps / num_classes
    return float(torch.tensor(q_true / q_other, dtype=torch.float64).log())


def logit_gap(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Per sample, the true class's logit minus the mean of the others,
    :math:`z_y - \frac{1}{K-1}\sum_{c \ne y} z_c` (at the optimum of label smoothing all
    other logits are equal, so this is the gap of :func:`optimal_logit_gap`).

    Shape:
        - logits: :math:`(N, K)`; y: :math:`(N,)`; output: :math:`(N,)`
    """
    if logits.dim() != 2 or y.shape != logits.shape[:1]:
        raise ValueError(
            f"logits must be (N, K) and y (N,), got {tuple(logits.shape)} and {tuple(y.shape)}"
        )
    K = logits.shape[1]
    true = logits.gather(1, y.long().unsqueeze(1)).squeeze(1)  # z_y
    others = (logits.sum(1) - true) / (K - 1)  # mean of z_c, c != y
    return true - others


def cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    r"""Cross-entropy between logits and class indices (or class probabilities), with label
    smoothing, computed from ``log_softmax`` the way ``F.cross_entropy`` defines it.

    With class indices :math:`y_n`, weights :math:`w_c` (all one by default) and
    :math:`\log p_{n,c} = z_{n,c} - \log\sum_k e^{z_{n,k}}`, each sample's loss is

    .. math::
        \ell_n = (1-\varepsilon)\, w_{y_n} \left(-\log p_{n,y_n}\right)
                 + \frac{\varepsilon}{K} \sum_{c=1}^{K} w_c \left(-\log p_{n,c}\right),

    and ``reduction="mean"`` divides :math:`\sum_n \ell_n` by :math:`\sum_n w_{y_n}` over the
    samples whose target is not ``ignore_index`` (the same denominator for both terms, as in
    PyTorch). Without weights, :math:`\ell_n` is the cross-entropy with the smoothed
    target :math:`q` of :func:`reglab.nn.smooth_targets`; **with** weights it
    is not: a probability target is weighted inside the sum,
    :math:`-\sum_c w_c q_{n,c} \log p_{n,c}`, and its mean divides by the number of
    samples.

    With probability targets (a floating ``target`` of the input's shape) the target is
    smoothed first, :math:`(1-\varepsilon)\,t + \varepsilon/K`.

    Args:
        input (Tensor): logits.
        target (Tensor): class indices in :math:`[0, K)`, or probabilities.
        weight (Tensor, optional): a weight per class, :math:`(K,)`. Default: ``None``.
        ignore_index (int): a target value that contributes nothing, neither to the loss
            nor to the mean's denominator (class-index targets only). Default: ``-100``.
        reduction (str): ``"mean"``, ``"sum"`` or ``"none"``. Default: ``"mean"``.
        label_smoothing (float): :math:`\varepsilon` in [0, 1]. Default: ``0.0``.

    Shape:
        - input: :math:`(N, K)`, :math:`(N, K, d_1, \dots)` or unbatched :math:`(K,)`
        - target: :math:`(N)`, :math:`(N, d_1, \dots)` or :math:`()` for class indices;
          the input's shape for probabilities
        - output: a scalar, or the target's shape (without :math:`K`) for ``"none"``

    Example::

        >>> z, y = torch.randn(8, 10), torch.randint(0, 10, (8,))
        >>> torch.allclose(cross_entropy(z, y, label_smoothing=0.1),
        ...                F.cross_entropy(z, y, label_smoothing=0.1))
        True

    Reference: Szegedy et al., *Rethinking the Inception Architecture for Computer Vision*,
    CVPR 2016, section 7 (https://arxiv.org/abs/1512.00567).
    """
    check_probability(label_smoothing, "label_smoothing")
    if weight is not None and not isinstance(weight, torch.Tensor):
        raise TypeError(
            f"weight must be a tensor of one weight per class, shape (K,), or None; "
            f"got {type(weight).__name__} {weight!r}"
        )
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if input.dim() == 0:
        raise ValueError("input must have a class dimension: shape (K,), (N, K) or (N, K, ...)")
    if not input.dtype.is_floating_point:
        raise ValueError(f"input must hold floating-point logits, got {input.dtype}")
    class_dim = 0 if input.dim() == 1 else 1
    K = input.shape[class_dim]
    if weight is not None and weight.shape != (K,):
        raise ValueError(
            f"weight must have one entry per class, shape ({K},), got {tuple(weight.shape)}"
        )
    w_shape = [1] * input.dim()
    w_shape[class_dim] = K
    eps = label_smoothing
    log_p = input.log_softmax(class_dim)  # log p_c = z_c - log sum_k exp(z_k)

    if target.dtype.is_floating_point:  # class probabilities
        if target.shape != input.shape:
            raise ValueError(
                f"probability targets must have the input's shape {tuple(input.shape)}, "
                f"got {tuple(target.shape)}"
            )
        if ignore_index >= 0:
            raise ValueError("ignore_index is not supported for probability targets")
        q = (1 - eps) * target + eps / K  # smoothed target
        weighted = log_p * q if weight is None else log_p * q * weight.view(w_shape)
        loss = -weighted.sum(class_dim)  # l_n = -sum_c w_c q_nc log p_nc
        if reduction == "none":
            return loss
        if reduction == "sum":
            return loss.sum()
        return loss.sum() / (input.numel() // K)  # mean over samples (and positions)

    expected = input.shape[:class_dim] + input.shape[class_dim + 1 :]
    if target.shape != expected:
        if class_dim == 1 and target.dim() >= 1 and target.shape[0] != input.shape[0]:
            raise ValueError(
                f"input and target differ in batch size: {input.shape[0]} != {target.shape[0]}"
            )
        raise ValueError(
            f"target must have shape {tuple(expected)} (the input's without the class "
            f"dimension {class_dim}) or the input's shape for probabilities; "
            f"got {tuple(target.shape)}"
        )
    if target.dtype == torch.bool or target.dtype.is_complex:
        raise ValueError(f"target must hold integer class indices, got {target.dtype}")
    keep = target != ignore_index  # samples that count
    y = target.masked_fill(~keep, 0).long()
    if keep.any() and (y[keep].min() < 0 or y[keep].max() >= K):
        raise ValueError(
            f"target holds class indices outside [0, {K}) (other than "
            f"ignore_index={ignore_index}): min {int(y[keep].min())}, max {int(y[keep].max())}"
        )
    nll = -log_p.gather(class_dim, y.unsqueeze(class_dim)).squeeze(class_dim)  # -log p_y
    w_y = torch.ones_like(nll) if weight is None else weight[y]  # w_{y_n}
    loss = (1 - eps) * w_y * nll  # l_n without smoothing
    if eps > 0:  # only then: a -inf logit has -log p_c = inf, and 0 * inf would be NaN
        weighted = log_p if weight is None else log_p * weight.view(w_shape)
        smooth = -weighted.sum(class_dim)  # sum_c w_c (-log p_c)
        loss = loss + eps / K * smooth  # l_n = (1-eps) w_y (-log p_y) + eps/K sum_c w_c (-log p_c)
    zero = torch.zeros((), dtype=nll.dtype, device=nll.device)
    loss = torch.where(keep, loss, zero)  # ignored samples contribute nothing
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / torch.where(keep, w_y, zero).sum()  # / sum_n w_{y_n}
