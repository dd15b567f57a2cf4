r"""Calibration: does a model that says "90 % sure" get 90 % of those predictions right?

A classifier's *confidence* on a sample is its largest predicted probability,
:math:`\hat p_n = \max_c p_{n,c}`, and its prediction is the class that attains it. Grouping
the samples into bins of similar confidence and comparing, in each bin, the mean confidence
with the accuracy gives the *reliability curve*; its weighted mean absolute gap is the
expected calibration error (Guo et al., 2017).

The binning follows ``torchmetrics.classification.MulticlassCalibrationError`` (L1 norm),
so the two agree: :math:`M` equal-width bins :math:`[k/M, (k+1)/M)` for
:math:`k = 0, \dots, M-1`, plus one bin of its own for a confidence of exactly 1 (float32
softmax rounds to 1 once the logit gap exceeds about 17, so this bin is often not empty).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reglab._checks import check_positive_int

__all__ = ["expected_calibration_error", "probabilistic_scores", "reliability_curve"]


def _check(probs: torch.Tensor, y: torch.Tensor, n_bins: int) -> None:
    check_positive_int(n_bins, "n_bins")
    if probs.dim() != 2:
        raise ValueError(f"probs must have shape (N, K), got {tuple(probs.shape)}")
    if y.dim() != 1 or y.dtype.is_floating_point or y.dtype == torch.bool:
        raise ValueError(f"y must be a 1-D tensor of class indices, got {y.dtype} {tuple(y.shape)}")
    if len(probs) != len(y):
        raise ValueError(f"probs and y differ in batch size: {len(probs)} != {len(y)}")
    if len(y) == 0:
        raise ValueError("probs and y are empty: need at least one sample")
    if not probs.dtype.is_floating_point:
        raise ValueError(f"probs must be floating point, got {probs.dtype}")
    if not ((probs >= 0) & (probs <= 1)).all():
        raise ValueError("probs must lie in [0, 1]: pass probabilities (logits.softmax(1))")
    row_sums = probs.sum(1, dtype=torch.float64)
    if not torch.allclose(row_sums, torch.ones_like(row_sums), atol=1e-3):
        worst = float((row_sums - 1).abs().max())
        raise ValueError(
            f"each row of probs must sum to 1 (off by up to {worst:.3g}): pass probabilities "
            "(logits.softmax(1)), not logits or scores"
        )


def reliability_curve(
    probs: torch.Tensor, y: torch.Tensor, *, n_bins: int = 15
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Mean confidence, accuracy and number of samples per confidence bin.

    .. math::
        B_k = \{n : k/M \le \hat p_n < (k+1)/M\}, \quad
        \mathrm{conf}_k = \frac{1}{|B_k|}\sum_{n \in B_k} \hat p_n, \quad
        \mathrm{acc}_k = \frac{1}{|B_k|}\sum_{n \in B_k} [\hat y_n = y_n]

    for :math:`k = 0, \dots, M-1`, and a last bin :math:`B_M = \{n : \hat p_n = 1\}`.

    Args:
        probs (Tensor): predicted probabilities, rows summing to one.
        y (Tensor): true class indices.
        n_bins (int): :math:`M`, the number of equal-width bins. Default: ``15``.

    Returns:
        (bin_confidence, bin_accuracy, bin_count), each of length ``n_bins + 1`` (the last
        entry is the bin of confidence exactly 1); confidence and accuracy are ``nan`` in
        an empty bin.

    Shape:
        - probs: :math:`(N, K)`; y: :math:`(N,)`; outputs: :math:`(M + 1,)`

    Example::

        >>> conf, acc, count = reliability_curve(logits.softmax(1), y)
        >>> (count * (acc - conf).abs()).nansum() / count.sum()   # the ECE
    """
    _check(probs, y, n_bins)
    confidence, prediction = probs.detach().max(dim=1)  # p_hat_n and y_hat_n
    correct = (prediction == y.to(prediction.device)).to(confidence.dtype)
    edges = torch.linspace(0, 1, n_bins + 1, dtype=confidence.dtype, device=confidence.device)
    index = torch.bucketize(confidence, edges, right=True) - 1  # k with edge_k <= p_hat < edge_k+1
    count = torch.zeros(n_bins + 1, dtype=confidence.dtype, device=confidence.device)
    count.scatter_add_(0, index, torch.ones_like(confidence))  # |B_k|
    conf_sum = torch.zeros_like(count).scatter_add_(0, index, confidence)
    acc_sum = torch.zeros_like(count).scatter_add_(0, index, correct)
    return conf_sum / count, acc_sum / count, count  # 0/0 = nan in an empty bin


def expected_calibration_error(probs: torch.Tensor, y: torch.Tensor, *, n_bins: int = 15) -> float:
    r"""Expected calibration error (L1), as ``torchmetrics``' ``MulticlassCalibrationError``.

    .. math::
        \mathrm{ECE} = \sum_{k} \frac{|B_k|}{N}\, \left|\mathrm{acc}_k - \mathrm{conf}_k\right|

    over the bins of :func:`reliability_curve` (empty bins contribute nothing). 0 means
    perfectly calibrated on these bins; a model that always says "100 %" and is right 90 %
    of the time has ECE 0.1.

    Args:
        probs (Tensor): predicted probabilities :math:`(N, K)`, rows summing to one.
        y (Tensor): true class indices :math:`(N,)`.
        n_bins (int): number of equal-width bins. Default: ``15``.

    Returns:
        float: the ECE, in [0, 1].

    Example::

        >>> expected_calibration_error(model(X_test).softmax(1), y_test)

    Reference: Guo, Pleiss, Sun and Weinberger, *On Calibration of Modern Neural Networks*,
    ICML 2017 (https://arxiv.org/abs/1706.04599).
    """
    conf, acc, count = reliability_curve(probs, y, n_bins=n_bins)
    filled = count > 0
    gaps = (acc[filled] - conf[filled]).abs()  # |acc_k - conf_k|
    return float((count[filled] / count.sum() * gaps).sum())  # sum_k |B_k|/N * gap_k


def probabilistic_scores(logits: torch.Tensor, y: torch.Tensor, *, n_bins: int = 15) -> dict:
    r"""Accuracy, negative log-likelihood and ECE of a classifier's logits, in one dict.

    .. math::
        \mathrm{NLL} = -\frac1N \sum_n \log p_{n, y_n}, \qquad p = \operatorname{softmax}(z)

    Args:
        logits (Tensor): :math:`(N, K)`.
        y (Tensor): :math:`(N,)` class indices.
        n_bins (int): bins of :func:`expected_calibration_error`. Default: ``15``.

    Returns:
        dict: ``{"accuracy": ..., "nll": ..., "ece": ...}`` as floats.
    """
    logits = logits.detach()
    if logits.dim() != 2 or y.shape != logits.shape[:1]:
        raise ValueError(
            f"logits must be (N, K) and y (N,), got {tuple(logits.shape)} and {tuple(y.shape)}"
        )
    return {
        "accuracy": float((logits.argmax(1) == y).double().mean()),
        "nll": float(F.cross_entropy(logits, y)),  # -(1/N) sum log p_y
        "ece": expected_calibration_error(logits.softmax(1), y, n_bins=n_bins),
    }
