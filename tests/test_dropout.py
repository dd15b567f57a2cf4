import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reglab import functional as RF
from reglab.dropout import mask_of

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
FUNCTIONS = [(RF.dropout, F.dropout, (64, 32)), (RF.dropout2d, F.dropout2d, (8, 16, 5, 5))]


@pytest.mark.parametrize("ours, theirs, shape", FUNCTIONS)
def test_eval_mode_returns_the_input_itself_like_torch(ours, theirs, shape):
    x = torch.randn(shape)
    assert theirs(x, 0.5, training=False) is x
    assert ours(x, 0.5, training=False) is x
    assert ours(x, 0.0, training=True) is x  # p = 0: nothing to drop, no copy
    assert theirs(x, 0.0, training=True) is x


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("device", DEVICES)
def test_kept_elements_are_exactly_x_over_one_minus_p(p, device):
    x = torch.randn(64, 32, device=device)
    g = torch.Generator(device=device).manual_seed(0)
    y = RF.dropout(x, p, generator=g)
    kept = y != 0
    assert y.device == x.device
    assert 0 < kept.sum() < x.numel()
    # bit for bit what torch computes: x * (1 / (1 - p)), within an ulp of x / (1 - p)
    torch.testing.assert_close(y[kept], x[kept] * (1 / (1 - p)), rtol=0, atol=0)
    torch.testing.assert_close(y[kept], x[kept] / (1 - p), rtol=2e-7, atol=0)
    # torch's own output keeps other elements, scaled exactly the same way
    y_torch = F.dropout(x, p)
    kept_torch = y_torch != 0
    torch.testing.assert_close(y_torch[kept_torch], x[kept_torch] * (1 / (1 - p)), rtol=0, atol=0)


@pytest.mark.parametrize("ours, theirs, shape", FUNCTIONS)
def test_p_one_gives_zeros_not_nan_like_torch(ours, theirs, shape):
    x = torch.randn(shape)
    y = ours(x, 1.0)
    assert not torch.isnan(y).any()
    torch.testing.assert_close(y, theirs(x, 1.0), rtol=0, atol=0)
    torch.testing.assert_close(y, torch.zeros(shape), rtol=0, atol=0)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_keep_rate_is_binomial(p):
    n = 200_000
    g = torch.Generator().manual_seed(1)
    kept = (RF.dropout(torch.ones(n), p, generator=g) != 0).float().mean().item()
    sd = math.sqrt(p * (1 - p) / n)  # binomial standard error of the keep rate
    assert abs(kept - (1 - p)) < 5 * sd


def test_mean_is_preserved_over_many_draws():
    x = torch.linspace(-2, 2, 50)
    g = torch.Generator().manual_seed(2)
    draws = torch.stack([RF.dropout(x, 0.5, generator=g) for _ in range(20_000)])
    # each entry: mean of 20,000 draws of x * B / (1 - p), sd = |x| sqrt(p / (1 - p) / n)
    tol = 5 * x.abs() * math.sqrt(0.5 / 0.5 / 20_000) + 1e-6
    assert (draws.mean(0) - x).abs().le(tol).all()


def test_dropout2d_zeroes_whole_channels_and_scales_the_rest():
    x = torch.rand(8, 16, 5, 5) + 0.5  # no zeros
    g = torch.Generator().manual_seed(0)
    y = RF.dropout2d(x, 0.5, generator=g)
    per_channel = (y != 0).flatten(2)  # (N, C, H*W)
    assert (per_channel.all(-1) | ~per_channel.any(-1)).all(), "a channel is partly dropped"
    kept = per_channel.all(-1)
    assert 0 < kept.sum() < kept.numel()
    torch.testing.assert_close(y[kept], x[kept] * 2, rtol=0, atol=0)
    # and torch's Dropout2d behaves the same way
    mask, _ = mask_of(nn.Dropout2d(0.5), x)
    mask = mask.flatten(2)
    assert (mask.all(-1) | ~mask.any(-1)).all()


def test_dropout2d_on_3d_input_warns_and_matches_torch_semantics():
    x = torch.ones(4, 3, 7)
    with pytest.warns(UserWarning, match=r"\(N, C, L\)"):
        y = RF.dropout2d(x, 0.5, generator=torch.Generator().manual_seed(0))
    with pytest.warns(UserWarning, match=r"\(N, C, L\)"):
        y_torch = F.dropout2d(x, 0.5)
    for out in (y, y_torch):  # one draw per (n, c): constant along the last dimension
        assert (out == out[..., :1]).all()


def test_dropout2d_rejects_other_ranks():
    with pytest.raises(ValueError, match="4-D input"):
        RF.dropout2d(torch.ones(3, 3))


@pytest.mark.parametrize("fn", [RF.dropout, RF.dropout2d])
def test_same_generator_seed_same_mask(fn):
    x = torch.rand(4, 6, 3, 3) + 0.1
    a = fn(x, 0.3, generator=torch.Generator().manual_seed(7))
    b = fn(x, 0.3, generator=torch.Generator().manual_seed(7))
    c = fn(x, 0.3, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("fn", [RF.dropout, RF.dropout2d])
@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_p_outside_unit_interval_is_a_clear_error(fn, p):
    with pytest.raises(ValueError, match=r"p has to be between 0 and 1, but got"):
        fn(torch.ones(2, 2, 2, 2), p)


def test_inplace_modifies_the_input_like_torch():
    x = torch.rand(10, 10) + 0.1
    y = RF.dropout(x, 0.5, inplace=True, generator=torch.Generator().manual_seed(0))
    assert y is x
    assert (x == 0).any() and (x > 1).any()


def test_gradient_flows_through_kept_elements_only():
    x = torch.rand(20, 20, requires_grad=True)
    y = RF.dropout(x, 0.25, generator=torch.Generator().manual_seed(0))
    y.sum().backward()
    kept = y.detach() != 0
    torch.testing.assert_close(x.grad[kept], torch.full_like(x.grad[kept], 1 / 0.75))
    assert (x.grad[~kept] == 0).all()


def test_mask_of_recovers_the_mask_of_a_real_module():
    torch.manual_seed(0)
    x = torch.rand(5, 7) + 0.5
    mask, y = mask_of(nn.Dropout(0.5), x)
    assert mask.dtype == torch.bool and mask.shape == x.shape
    torch.testing.assert_close(y[mask], x[mask] * 2)
    assert (y[~mask] == 0).all()
    with pytest.raises(ValueError, match="zeros"):
        mask_of(nn.Dropout(0.5), torch.zeros(2))
