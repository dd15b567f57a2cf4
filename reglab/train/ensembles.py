r"""Averaging predictions: deep ensembles and Monte-Carlo dropout.

A deep ensemble (Lakshminarayanan et al., 2017) averages the predicted probabilities of
:math:`K` independently trained networks; Monte-Carlo dropout (Gal & Ghahramani, 2016)
averages :math:`K` stochastic passes of one network with its dropout layers left on.
Both predict

.. math::
    \bar p(y \mid x) = \frac1K \sum_{k=1}^{K} \operatorname{softmax}(z_k(x))_y ,

computed here in log space, :math:`\log \bar p = \operatorname{logsumexp}_k
\log\operatorname{softmax}(z_k) - \log K`, so that a confident wrong member gives a large
but finite negative log-likelihood.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from reglab._checks import check_positive_int
from reglab.stats.calibration import expected_calibration_error
from reglab.train.loop import forked_rng, spawn_seeds

__all__ = ["average_log_probs", "mc_dropout_logits", "member_logits", "scores_by_size"]


@torch.no_grad()
def member_logits(models: Sequence[nn.Module], X: torch.Tensor) -> torch.Tensor:
    r"""Logits of every model of an ensemble, each in evaluation mode (modes restored).

    Shape:
        - X: :math:`(N, *)`
        - Output: :math:`(K, N, C)` for :math:`K` = ``len(models)``

    Raises:
        ValueError: ``models`` is empty (:math:`K < 1`).
    """
    check_positive_int(len(models), "the number of models K")
    out = []
    for model in models:
        was_training = model.training
        model.eval()
        try:
            out.append(model(X))  # (N, C)
        finally:
            model.train(was_training)
    return torch.stack(out)  # (K, N, C)


@torch.no_grad()
def mc_dropout_logits(
    model: nn.Module,
    X: torch.Tensor,
    num_samples: int,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Logits of ``num_samples`` passes with only the dropout layers in training mode.

    Every other module (batch norm in particular) stays in evaluation mode, so the passes
    differ only by their dropout masks. The masks are drawn inside a forked RNG seeded from
    ``generator``: the caller's global RNG is left untouched. Modes are restored.

    Args:
        model (nn.Module): a classifier containing ``nn.Dropout*`` layers.
        X (Tensor): inputs.
        num_samples (int): :math:`K \ge 1` stochastic passes.
        generator (torch.Generator, optional): source of the masks' seed.

    Shape:
        Output: :math:`(K, N, C)`.

    Reference: Gal & Ghahramani, "Dropout as a Bayesian Approximation", ICML 2016.
    """
    check_positive_int(num_samples, "num_samples")
    dropouts = [m for m in model.modules() if isinstance(m, nn.modules.dropout._DropoutNd)]
    if not dropouts:
        raise ValueError("model has no dropout layer: its K passes would all be equal")
    modes = {m: m.training for m in model.modules()}
    seed = spawn_seeds(generator if generator is not None else torch.Generator(), 1)[0]
    model.eval()
    for m in dropouts:
        m.train()  # only the dropout layers sample
    try:
        with forked_rng(seed, X.device):
            return torch.stack([model(X) for _ in range(num_samples)])  # (K, N, C)
    finally:
        for m, mode in modes.items():
            m.training = mode


def average_log_probs(logits: torch.Tensor) -> torch.Tensor:
    r"""Log of the mean softmax over the first axis: :math:`\log \frac1K \sum_k p_k`.

    Shape:
        - logits: :math:`(K, N, C)`
        - Output: :math:`(N, C)`

    Raises:
        ValueError: ``logits`` is not 3-D or :math:`K < 1`.
    """
    if logits.dim() != 3:
        raise ValueError(f"logits must have shape (K, N, C), got {tuple(logits.shape)}")
    check_positive_int(logits.shape[0], "K (logits.shape[0])")
    log_p = F.log_softmax(logits, dim=-1)  # log p_k
    return torch.logsumexp(log_p, dim=0) - math.log(logits.shape[0])  # log (1/K) sum_k p_k


def scores_by_size(logits: torch.Tensor, y: torch.Tensor, *, n_bins: int = 15) -> list[dict]:
    r"""Accuracy, NLL and ECE of the average of the first :math:`k` members, k = 1..K.

    Args:
        logits (Tensor): :math:`(K, N, C)` from :func:`member_logits` or
            :func:`mc_dropout_logits`.
        y (Tensor): :math:`(N,)` class indices.
        n_bins (int): bins of the ECE. Default: ``15``.

    Returns:
        list[dict]: ``{"k", "accuracy", "nll", "ece"}`` for each :math:`k`.
    """
    out = []
    for k in range(1, logits.shape[0] + 1):
        log_p = average_log_probs(logits[:k])  # (N, C)
        out.append(
            {
                "k": k,
                "accuracy": float((log_p.argmax(1) == y).double().mean()),
                "nll": float(F.nll_loss(log_p, y)),  # -(1/N) sum log p_bar_y
                "ece": expected_calibration_error(log_p.exp(), y, n_bins=n_bins),
            }
        )
    return out
