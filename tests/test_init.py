import math

import pytest
import torch
from torch import nn

from reglab.nn.init import (
    INITIALIZERS,
    expected_std,
    fan_in_and_fan_out,
    gain,
    init_weights_,
    kaiming_std,
    sampling_tolerance,
    xavier_std,
)
from reglab.train import deep_mlp

LINEAR = (512, 1024)  # (out_features, in_features)
CONV = (128, 64, 3, 3)  # (out_channels, in_channels, kH, kW)
KURTOSIS = {"normal": 3.0, "uniform": 1.8}
FANS = {LINEAR: (1024, 512), CONV: (64 * 3 * 3, 128 * 3 * 3)}  # (fan_in, fan_out), by hand
#: The gains of the papers and of torch's documentation, written out independently.
PAPER_GAIN = {
    "linear": lambda a: 1.0,
    "conv2d": lambda a: 1.0,
    "sigmoid": lambda a: 1.0,
    "tanh": lambda a: 5 / 3,
    "relu": lambda a: math.sqrt(2.0),  # He et al. 2015: relu halves the second moment
    "leaky_relu": lambda a: math.sqrt(2.0 / (1 + a**2)),
    "selu": lambda a: 3 / 4,
}


def _sample_std(fill, shape, seed=0):
    torch.manual_seed(seed)
    w = torch.empty(shape)
    fill(w)
    return w.std().item(), w.numel()


@pytest.mark.parametrize("shape, expected", [(LINEAR, (1024, 512)), (CONV, (64 * 9, 128 * 9))])
def test_fans_match_torch(shape, expected):
    assert fan_in_and_fan_out(shape) == expected
    assert fan_in_and_fan_out(shape) == nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_fans_of_real_layers():
    conv = nn.Conv2d(3, 16, kernel_size=5)
    assert fan_in_and_fan_out(conv.weight) == (3 * 5 * 5, 16 * 5 * 5)
    assert fan_in_and_fan_out(nn.Linear(7, 2).weight) == (7, 2)


@pytest.mark.parametrize("shape", [(5,), ()])
def test_fans_need_two_dimensions(shape):
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        fan_in_and_fan_out(shape)


@pytest.mark.parametrize("shape", [LINEAR, CONV])
@pytest.mark.parametrize("dist", ["normal", "uniform"])
@pytest.mark.parametrize("g", [1.0, math.sqrt(2), 5 / 3])
def test_xavier_std_matches_nn_init(shape, dist, g):
    fill = getattr(nn.init, f"xavier_{dist}_")
    std, n = _sample_std(lambda w: fill(w, gain=g), shape)
    want = expected_std(f"xavier_{dist}", shape, gain=g)
    # Glorot & Bengio (2010), eq. 12, written out with the fans counted by hand
    fan_in, fan_out = FANS[shape]
    assert want == pytest.approx(g * math.sqrt(2 / (fan_in + fan_out)), rel=1e-12)
    assert std == pytest.approx(want, rel=sampling_tolerance(n, KURTOSIS[dist]))


@pytest.mark.parametrize("shape", [LINEAR, CONV])
@pytest.mark.parametrize("dist", ["normal", "uniform"])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity, a", [("relu", 0), ("leaky_relu", 0.2), ("tanh", 0)])
def test_kaiming_std_matches_nn_init(shape, dist, mode, nonlinearity, a):
    fill = getattr(nn.init, f"kaiming_{dist}_")
    std, n = _sample_std(lambda w: fill(w, a=a, mode=mode, nonlinearity=nonlinearity), shape)
    want = expected_std(f"kaiming_{dist}", shape, mode=mode, nonlinearity=nonlinearity, a=a)
    # He et al. (2015), eq. 10 (and its leaky form sqrt(2 / (1 + a^2))), written out
    fan = FANS[shape][0 if mode == "fan_in" else 1]
    assert want == pytest.approx(PAPER_GAIN[nonlinearity](a) / math.sqrt(fan), rel=1e-12)
    assert kaiming_std(fan, PAPER_GAIN[nonlinearity](a)) == pytest.approx(want, rel=1e-12)
    assert std == pytest.approx(want, rel=sampling_tolerance(n, KURTOSIS[dist]))


def test_the_tolerance_can_fail():
    """A 10% wrong formula is far outside the tolerance used above."""
    std, n = _sample_std(nn.init.kaiming_normal_, LINEAR)
    assert abs(std / (1.1 * expected_std("kaiming_normal", LINEAR)) - 1) > sampling_tolerance(n)


def test_default_linear_init_has_std_one_over_sqrt_three_fan_in():
    """nn.Linear uses kaiming_uniform_(a=sqrt(5)): bound 1/sqrt(fan_in), std 1/sqrt(3 fan_in)."""
    torch.manual_seed(0)
    layer = nn.Linear(1024, 512)
    assert layer.weight.std().item() == pytest.approx(
        expected_std("kaiming_uniform", LINEAR, a=math.sqrt(5)),
        rel=sampling_tolerance(layer.weight.numel(), KURTOSIS["uniform"]),
    )
    assert expected_std("kaiming_uniform", LINEAR, a=math.sqrt(5)) == pytest.approx(
        1 / math.sqrt(3 * 1024)
    )


@pytest.mark.parametrize("nonlinearity", list(PAPER_GAIN))
def test_gain_is_the_papers_value(nonlinearity):
    default_slope = 0.01 if nonlinearity == "leaky_relu" else None  # torch's default for a
    assert gain(nonlinearity) == pytest.approx(PAPER_GAIN[nonlinearity](default_slope or 0.01))
    if nonlinearity == "leaky_relu":
        assert gain(nonlinearity, 0.2) == pytest.approx(math.sqrt(2 / 1.04))


def test_relu_gain_restores_the_second_moment():
    """An empirical oracle: for x ~ N(0, 1), E[(g relu(x))^2] = 1 exactly when g = sqrt 2."""
    x = torch.randn(1_000_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    second_moment = (gain("relu") * x.relu()).pow(2).mean().item()
    assert second_moment == pytest.approx(1.0, abs=5 * math.sqrt(2 / 1_000_000) * 2)


def test_unknown_nonlinearity_is_a_clear_error():
    with pytest.raises(ValueError, match=r"nonlinearity must be one of .*relu.*'swish'"):
        gain("swish")
    with pytest.raises(ValueError, match="nonlinearity"):
        expected_std("kaiming_normal", LINEAR, nonlinearity="gelu")


def test_bad_names_and_modes():
    with pytest.raises(ValueError, match="name must be one of"):
        expected_std("lecun_normal", LINEAR)
    with pytest.raises(ValueError, match="mode must be"):
        expected_std("kaiming_normal", LINEAR, mode="fan_avg")
    with pytest.raises(ValueError, match="name must be one of"):
        init_weights_(nn.Linear(2, 2), "he", "relu")


def test_init_weights_sets_every_layer():
    torch.manual_seed(0)
    model = init_weights_(deep_mlp(3, 400, "relu"), "normal, std 0.01", "relu")
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert len(linears) == 4
    for layer in linears:
        assert layer.weight.std().item() == pytest.approx(0.01, rel=0.05)
        assert torch.count_nonzero(layer.bias) == 0
    assert set(INITIALIZERS) == {"normal, std 1", "normal, std 0.01", "xavier", "kaiming"}


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: xavier_std(0, 0), "fan_in must be an integer >= 1, got 0"),
        (lambda: xavier_std(1, 0), "fan_out must be an integer >= 1, got 0"),
        (lambda: xavier_std(3, -1), "fan_out must be an integer >= 1, got -1"),
        (lambda: kaiming_std(0), "fan must be an integer >= 1, got 0"),
        (lambda: expected_std("kaiming_normal", (4, 0)), "fan must be an integer >= 1, got 0"),
        (lambda: expected_std("xavier_uniform", (0, 3, 3, 3)), r"fan_out must be an integer"),
    ],
)
def test_zero_fans_are_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_sampling_tolerance_is_the_standard_error_of_the_sample_std():
    """Checked empirically: the std of 2,000 sample stds of 500 normal draws."""
    g = torch.Generator().manual_seed(0)
    stds = torch.randn(2000, 500, generator=g, dtype=torch.float64).std(dim=1)
    assert stds.std().item() == pytest.approx(sampling_tolerance(500, 3.0, z=1.0), rel=0.1)
    uniform = (torch.rand(2000, 500, generator=g, dtype=torch.float64) * 2 - 1).std(dim=1)
    rel_se = (uniform / uniform.mean()).std().item()
    assert rel_se == pytest.approx(sampling_tolerance(500, 1.8, z=1.0), rel=0.1)


def test_defaults_of_the_formulas():
    """gain() is the identity's, Xavier's gain is 1, Kaiming's default is torch's
    leaky_relu with slope 0 (that is, relu): each written out from the papers."""
    assert gain() == 1.0
    assert xavier_std(100, 300) == pytest.approx(math.sqrt(2 / 400), rel=1e-12)
    assert kaiming_std(50) == pytest.approx(math.sqrt(2 / 50), rel=1e-12)
    assert expected_std("xavier_normal", LINEAR) == pytest.approx(
        math.sqrt(2 / (1024 + 512)), rel=1e-12
    )
    assert expected_std("kaiming_normal", LINEAR) == pytest.approx(math.sqrt(2 / 1024), rel=1e-12)


def test_default_sampling_tolerance_is_five_empirical_standard_errors():
    g = torch.Generator().manual_seed(1)
    stds = torch.randn(2000, 500, generator=g, dtype=torch.float64).std(dim=1)
    assert sampling_tolerance(500) == pytest.approx(5 * stds.std().item(), rel=0.1)


@pytest.mark.parametrize("nonlinearity, g", [("tanh", 5 / 3), ("relu", math.sqrt(2))])
def test_init_weights_passes_the_nonlinearity_to_kaiming(nonlinearity, g):
    torch.manual_seed(0)
    model = init_weights_(deep_mlp(2, 600, nonlinearity), "kaiming", nonlinearity)
    hidden = model[3].weight  # (600, 600): fan_in 600
    assert hidden.std().item() == pytest.approx(
        g / math.sqrt(600), rel=sampling_tolerance(hidden.numel())
    )


def test_error_messages_list_the_choices():
    with pytest.raises(ValueError, match=r"one of linear, conv1d, conv2d, .*, selu; got 'x'"):
        gain("x")
    with pytest.raises(
        ValueError, match=r"one of 'normal, std 1', 'normal, std 0.01', 'xavier', 'kaiming'; got"
    ):
        init_weights_(nn.Linear(2, 2), "he", "relu")
    with pytest.raises(ValueError, match=r"^name must be one of xavier_uniform, .*; got 'x'$"):
        expected_std("x", LINEAR)


def test_a_fan_of_one_is_allowed():
    assert xavier_std(1, 1) == pytest.approx(1.0, rel=1e-12)  # sqrt(2 / 2)
    assert xavier_std(1, 3, gain=2.0) == pytest.approx(2 * math.sqrt(0.5), rel=1e-12)
    assert xavier_std(3, 1) == pytest.approx(math.sqrt(0.5), rel=1e-12)
    assert kaiming_std(1, gain=3.0) == 3.0
