r"""What the last layer sees: penultimate-layer features, their projection on the plane of
three class templates (Müller, Kornblith and Hinton, 2019), and how tightly they cluster.

A classifier's last layer computes logits :math:`z_c = w_c^\top h + b_c` from the
penultimate activations :math:`h`; the row :math:`w_c` is the *template* of class
:math:`c`. Müller et al. visualise the effect of label smoothing by projecting :math:`h`
onto the 2-D plane through three templates: with label smoothing, each class forms a
tight cluster at an equal distance from the others.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["cluster_spread", "features_and_logits", "template_projection"]


@torch.no_grad()
def features_and_logits(
    model: nn.Sequential, X: torch.Tensor, *, batch_size: int = 1000
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Penultimate activations :math:`h` and logits :math:`z` of ``model`` on ``X``, in eval
    mode (the model's mode is restored afterwards).

    Args:
        model (nn.Sequential): a classifier whose last module is an ``nn.Linear``.
        X (Tensor): inputs, moved to the model's device.
        batch_size (int): samples per forward pass. Default: ``1000``.

    Returns:
        (features, logits): :math:`(N, D)` and :math:`(N, K)`, on the CPU.
    """
    if not (isinstance(model, nn.Sequential) and isinstance(model[-1], nn.Linear)):
        raise ValueError("model must be an nn.Sequential ending in an nn.Linear (the classifier)")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    body, head = model[:-1], model[-1]
    device = head.weight.device
    was_training = model.training
    model.eval()
    try:
        features = torch.cat(
            [body(X[i : i + batch_size].to(device)).cpu() for i in range(0, len(X), batch_size)]
        )  # (N, D)
    finally:
        model.train(was_training)
    logits = head(features.to(device)).cpu()  # z = W h + b, (N, K)
    return features, logits


def template_projection(
    features: torch.Tensor, weight: torch.Tensor, classes: tuple[int, int, int]
) -> torch.Tensor:
    r"""Coordinates of ``features`` in the plane through the templates of three classes.

    With templates :math:`w_a, w_b, w_c` (rows of the last layer's ``weight``), the columns
    of :math:`Q` are an orthonormal basis of :math:`\mathrm{span}(w_b - w_a, w_c - w_a)`
    (QR), and each :math:`h` maps to :math:`Q^\top (h - w_a)`.

    Args:
        features (Tensor): :math:`(N, D)` penultimate activations.
        weight (Tensor): :math:`(K, D)` weight of the last layer.
        classes (tuple[int, int, int]): three distinct class indices.

    Returns:
        Tensor: :math:`(N, 2)`.
    """
    if len(set(classes)) != 3:
        raise ValueError(f"classes must be three distinct class indices, got {classes}")
    if not all(0 <= k < len(weight) for k in classes):
        raise ValueError(f"classes must be class indices in [0, {len(weight)}), got {classes}")
    if features.dim() != 2 or weight.dim() != 2 or features.shape[1] != weight.shape[1]:
        raise ValueError(
            f"features (N, D) and weight (K, D) must share D, got {tuple(features.shape)} "
            f"and {tuple(weight.shape)}"
        )
    a, b, c = (weight[k].detach() for k in classes)
    Q, _ = torch.linalg.qr(torch.stack([b - a, c - a], dim=1))  # (D, 2), orthonormal columns
    return (features - a) @ Q  # Q^T (h - w_a)


def cluster_spread(features: torch.Tensor, y: torch.Tensor) -> float:
    r"""Within-class spread relative to the distance between classes (lower = tighter):

    .. math::
        \frac{\frac1N \sum_n \lVert h_n - \mu_{y_n} \rVert^2}
             {\frac{1}{K(K-1)} \sum_{a \ne b} \lVert \mu_a - \mu_b \rVert^2},

    with :math:`\mu_k` the mean feature of class :math:`k`. It does not change when all
    features are scaled, so two models whose features differ in scale compare fairly.

    Shape:
        - features: :math:`(N, D)`; y: :math:`(N,)` with at least two classes present.
    """
    if features.dim() != 2 or y.shape != features.shape[:1]:
        raise ValueError(
            f"features must be (N, D) and y (N,), got {tuple(features.shape)} and {tuple(y.shape)}"
        )
    labels = torch.unique(y)
    if len(labels) < 2:
        raise ValueError("cluster_spread needs samples of at least two classes")
    features = features.double()
    means = torch.stack([features[y == k].mean(0) for k in labels])  # (K, D): mu_k
    index = torch.searchsorted(labels, y)
    within = (features - means[index]).pow(2).sum(1).mean()  # (1/N) sum ||h - mu_y||^2
    between = torch.cdist(means, means).pow(2).sum() / (len(labels) * (len(labels) - 1))
    return float(within / between)
