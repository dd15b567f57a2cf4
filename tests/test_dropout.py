import math
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from reglab.nn import dropout as dropout_module
from reglab.nn import functional as RF
from reglab.nn import mask_of

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
    # bit for bit what torch's CPU kernel computes: x * (m / (1 - p)), the division done
    # in x's dtype; within an ulp of the exact x / (1 - p)
    scale = torch.ones((), device=device).div_(1 - p)
    torch.testing.assert_close(y[kept], x[kept] * scale, rtol=0, atol=0)
    torch.testing.assert_close(y[kept], (x[kept].double() / (1 - p)).float(), rtol=2e-7, atol=0)
    # torch's own output keeps other elements, scaled the same way
    y_torch = F.dropout(x, p)
    kept_torch = y_torch != 0
    torch.testing.assert_close(y_torch[kept_torch], x[kept_torch] * scale, rtol=2e-7, atol=0)


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


@pytest.mark.parametrize("ours, theirs, shape", FUNCTIONS)
@pytest.mark.parametrize("p", [0.3, 1.0])
def test_inplace_modifies_the_input_exactly_like_torch(ours, theirs, shape, p):
    """Killed mutants: inplace=True without the 1/(1-p) scale; dropout2d ignoring inplace."""
    x = torch.rand(shape) + 0.1
    x_torch = x.clone()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        y = ours(x, p, inplace=True)
        torch.manual_seed(0)
        y_torch = theirs(x_torch, p, inplace=True)
    assert y is x and y_torch is x_torch
    torch.testing.assert_close(x, x_torch, rtol=0, atol=0)  # same mask, same scale
    if p < 1:
        assert (x == 0).any() and (x > 1).any()  # dropped, and kept ones scaled up


@pytest.mark.parametrize("ours, theirs, shape", FUNCTIONS)
def test_not_inplace_leaves_the_input_alone(ours, theirs, shape):
    x = torch.rand(shape) + 0.1
    before = x.clone()
    y = ours(x, 0.5, generator=torch.Generator().manual_seed(0))
    assert y is not x
    torch.testing.assert_close(x, before, rtol=0, atol=0)


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
    with pytest.raises(ValueError, match=r"^x must not contain zeros"):
        mask_of(nn.Dropout(0.5), torch.zeros(2))
    _, y = mask_of(nn.Dropout(0.5), x.requires_grad_())
    assert not y.requires_grad  # no graph is built


@pytest.mark.parametrize(
    ("module", "dims"), [(nn.Dropout1d(0.5), 1), (nn.Dropout2d(0.5), 2), (nn.Dropout3d(0.5), 3)]
)
def test_mask_of_recovers_the_channel_masks_of_every_dropout_nd(module, dims):
    torch.manual_seed(0)
    x = torch.rand(4, 6, *(3,) * dims) + 0.5  # (N, C, *): 1, 2 or 3 positional dimensions
    mask, y = mask_of(module, x)
    torch.testing.assert_close(y[mask], x[mask] * 2)
    assert (y[~mask] == 0).all() and mask.any() and not mask.all()
    channel = mask.flatten(2)  # one draw per (n, c): all positions agree
    assert (channel == channel[:, :, :1]).all()


@pytest.mark.parametrize("module", [nn.AlphaDropout(0.5), nn.FeatureAlphaDropout(0.5)])
def test_mask_of_refuses_alpha_dropout_whose_dropped_elements_are_not_zero(module):
    x = torch.rand(4, 6, 3, 3) + 0.5
    assert (module(x) != 0).all()  # why: the output shows no dropped element
    with pytest.raises(
        ValueError, match=rf"^mask_of cannot recover the mask of {type(module).__name__}"
    ):
        mask_of(module, x)


# --- bit for bit against torch: the same seed draws the same mask -----------------------

DTYPES = [torch.float64, torch.float32, torch.float16, torch.bfloat16]


@st.composite
def dropout_cases(draw):
    two_d = draw(st.booleans())
    if two_d:
        shape = draw(st.lists(st.integers(1, 5), min_size=3, max_size=4))
    else:
        shape = draw(st.lists(st.integers(0, 6), min_size=0, max_size=4))
    p = draw(st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0)))
    return dict(
        fns=(RF.dropout2d, F.dropout2d) if two_d else (RF.dropout, F.dropout),
        shape=tuple(shape),
        dtype=draw(st.sampled_from(DTYPES)),
        p=p,
        training=draw(st.booleans()),
        seed=draw(st.integers(0, 2**31 - 1)),
    )


@settings(max_examples=150, deadline=None, derandomize=True)
@given(case=dropout_cases())
def test_output_and_gradient_equal_torch_for_the_same_seed(case):
    """On the CPU, torch's dropout draws bernoulli_(1 - p) over the mask's shape from the
    default generator, as ours does: with the same seed, outputs and gradients are equal
    bit for bit, for any shape, dtype, p and mode. A generator seeded the same way gives
    the same mask too."""
    ours, theirs = case["fns"]
    g = torch.Generator().manual_seed(case["seed"])
    x = torch.randn(case["shape"], generator=g, dtype=torch.float64).to(case["dtype"])
    upstream = torch.randn(case["shape"], generator=g, dtype=torch.float64).to(case["dtype"])
    results = []
    for fn, generator in [(theirs, None), (ours, None), (ours, "own")]:
        x_in = x.clone().requires_grad_()
        with warnings.catch_warnings(), torch.random.fork_rng():
            warnings.simplefilter("ignore")  # dropout2d's warning about 3-D inputs
            torch.manual_seed(case["seed"])
            kwargs = {}
            if generator == "own":
                kwargs["generator"] = torch.Generator().manual_seed(case["seed"])
            y = fn(x_in, case["p"], case["training"], **kwargs)
        (grad,) = torch.autograd.grad(y, x_in, upstream, allow_unused=True)
        results.append((y.detach(), grad))
    for y, grad in results[1:]:
        assert y.dtype == x.dtype
        torch.testing.assert_close(y, results[0][0], rtol=0, atol=0)
        torch.testing.assert_close(grad, results[0][1], rtol=0, atol=0)


@pytest.mark.parametrize("ours, theirs, shape", FUNCTIONS)
def test_defaults_are_torchs(ours, theirs, shape):
    """p=0.5, training=True, inplace=False, as torch.nn.functional's."""
    x = torch.rand(shape) + 0.1
    with torch.random.fork_rng():
        torch.manual_seed(0)
        y = ours(x)
        torch.manual_seed(0)
        y_torch = theirs(x)
    torch.testing.assert_close(y, y_torch, rtol=0, atol=0)
    assert y is not x and (y == 0).any()


def test_dropout2d_warning_is_torchs_and_points_at_the_caller():
    x = torch.ones(4, 3, 7)
    caught = {}
    for name, fn in [("ours", RF.dropout2d), ("torch", F.dropout2d)]:
        with warnings.catch_warnings(record=True) as caught[name]:
            warnings.simplefilter("always")
            fn(x, 0.5)
    (ours,), (theirs,) = caught["ours"], caught["torch"]
    assert ours.category is theirs.category is UserWarning
    assert theirs.filename == __file__
    # stacklevel=2: the caller's line, not reglab's (under mutmut a trampoline frame sits
    # between the test and reglab, so compare with reglab's file rather than this one)
    assert Path(ours.filename).resolve() != Path(dropout_module.__file__).resolve()
    assert str(theirs.message).startswith(str(ours.message))
    assert str(ours.message).endswith("where C is the channel dim.")
