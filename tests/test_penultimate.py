"""Penultimate features, the template-plane projection and the cluster spread."""

import pytest
import torch
from torch import nn

from reglab.inspection import cluster_spread, features_and_logits, template_projection
from reglab.train import mlp


def test_features_and_logits_are_the_model_split_before_its_last_layer():
    torch.manual_seed(0)
    model = mlp((8, 6), p=0.5)
    X = torch.rand(30, 1, 28, 28)
    model.train()
    features, logits = features_and_logits(model, X, batch_size=7)
    assert model.training  # mode restored
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(logits, model(X))  # eval mode: no dropout
        torch.testing.assert_close(features, model[:-1](X))
    assert features.shape == (30, 6) and logits.shape == (30, 10)
    with pytest.raises(ValueError, match=r"nn\.Sequential ending in an nn\.Linear"):
        features_and_logits(nn.Sequential(nn.Flatten(), nn.ReLU()), X)


def test_template_projection_keeps_the_geometry_of_the_plane():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(5, 7, generator=g, dtype=torch.float64)
    P = template_projection(W, W, (1, 3, 4))
    torch.testing.assert_close(P[1], torch.zeros(2, dtype=torch.float64))  # w_a -> origin
    for i, j in [(1, 3), (1, 4), (3, 4)]:  # distances between the templates are kept
        torch.testing.assert_close((P[i] - P[j]).norm(), (W[i] - W[j]).norm())
    normal = torch.randn(7, generator=g, dtype=torch.float64)
    basis = torch.stack([W[3] - W[1], W[4] - W[1]], 1)
    normal -= basis @ torch.linalg.lstsq(basis, normal[:, None]).solution[:, 0]  # off the plane
    moved = template_projection(W[[0]] + normal, W, (1, 3, 4))
    torch.testing.assert_close(moved[0], P[0])  # what is orthogonal to the plane is dropped
    with pytest.raises(ValueError, match="three distinct"):
        template_projection(W, W, (1, 1, 2))
    with pytest.raises(ValueError, match="must share D"):
        template_projection(W[:, :3], W, (0, 1, 2))


def test_cluster_spread_by_hand_and_scale_invariance():
    features = torch.tensor([[0.0, 1], [0, -1], [4, 1], [4, -1]])
    y = torch.tensor([0, 0, 1, 1])
    assert cluster_spread(features, y) == pytest.approx(1 / 16)  # within 1, between 4^2
    assert cluster_spread(10 * features, y) == pytest.approx(1 / 16)
    tight = torch.tensor([[0.0, 0.1], [0, -0.1], [4, 0.1], [4, -0.1]])
    assert cluster_spread(tight, y) < cluster_spread(features, y)
    with pytest.raises(ValueError, match="at least two classes"):
        cluster_spread(features, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"features must be \(N, D\)"):
        cluster_spread(features, y[:3])
