"""reglab.inspection.landscape and reglab.studies.averaging against direct computations
and torch.optim.SGD."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reglab.inspection import filter_normalized_direction, flat_width, loss_along, loss_on_line
from reglab.studies.averaging import sgd_least_squares


def _net(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))


def test_filter_normalized_direction():
    net = _net(0)
    d = filter_normalized_direction(net, generator=torch.Generator().manual_seed(0))
    for p, dp in zip(net.parameters(), d, strict=True):
        if p.dim() == 1:
            assert torch.equal(dp, torch.zeros_like(p))
        else:
            torch.testing.assert_close(dp.norm(dim=1), p.norm(dim=1))
            assert not torch.allclose(dp, p)


def test_loss_along_and_on_line():
    a, b = _net(0), _net(1)
    X, y = torch.randn(10, 4), torch.randint(0, 3, (10,))
    ts = torch.tensor([0.0, 0.5, 1.0, 2.0])
    losses = loss_on_line(a, b, ts, X, y)
    assert losses[0].item() == pytest.approx(F.cross_entropy(a(X), y).item(), rel=1e-5)
    assert losses[2].item() == pytest.approx(F.cross_entropy(b(X), y).item(), rel=1e-5)
    mid = _net(0)
    with torch.no_grad():
        for pm, pa, pb in zip(mid.parameters(), a.parameters(), b.parameters(), strict=True):
            pm.copy_(2 * pb - pa)  # t = 2
    assert losses[3].item() == pytest.approx(F.cross_entropy(mid(X), y).item(), rel=1e-5)
    before = [p.clone() for p in a.parameters()]
    d = filter_normalized_direction(a, generator=torch.Generator().manual_seed(0))
    assert loss_along(a, d, torch.tensor([0.0]), X, y)[0].item() == pytest.approx(
        F.cross_entropy(a(X), y).item(), rel=1e-6
    )
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), before, strict=True))


def test_flat_width_of_a_parabola():
    alphas = torch.linspace(-3, 3, 6001, dtype=torch.float64)
    losses = 2.0 * (alphas - 0.2) ** 2 + 1.0
    # loss(0) = 1.08; loss = 1.08 + 0.5 at 2 (a - 0.2)^2 = 0.58
    half = math.sqrt(0.58 / 2)
    assert flat_width(alphas, losses, 0.5) == pytest.approx(2 * half, abs=1e-4)
    assert flat_width(alphas, losses, 100.0) == math.inf
    with pytest.raises(ValueError, match="rise"):
        flat_width(alphas, losses, 0.0)


def test_sgd_least_squares_matches_torch_sgd():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(20, 3, generator=g, dtype=torch.float64)
    y = torch.randn(20, generator=g, dtype=torch.float64)
    w_ours = sgd_least_squares(
        X, y, lr=0.05, num_steps=30, generator=torch.Generator().manual_seed(1)
    )
    idx = torch.randint(0, 20, (30,), generator=torch.Generator().manual_seed(1))
    w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.05)
    for t, i in enumerate(idx.tolist()):
        torch.testing.assert_close(w_ours[t], w.detach())
        opt.zero_grad()
        (0.5 * (X[i] @ w - y[i]) ** 2).backward()
        opt.step()
    torch.testing.assert_close(w_ours[-1], w.detach())
    with pytest.raises(ValueError, match="lr"):
        sgd_least_squares(X, y, lr=0.0, num_steps=3)
