import math

import pytest
import torch
from torch import nn

from reglab.init import (
    INITIALIZERS,
    expected_std,
    fan_in_and_fan_out,
    gain,
    init_weights_,
    kaiming_std,
    sampling_tolerance,
    xavier_std,
)
from reglab.models import deep_mlp

LINEAR = (512, 1024)  # (out_features, in_features)
CONV = (128, 64, 3, 3)  # (out_channels, in_channels, kH, kW)
KURTOSIS = {"normal": 3.0, "uniform": 1.8}


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
    assert want == pytest.approx(xavier_std(*fan_in_and_fan_out(shape), gain=g))
    assert std == pytest.approx(want, rel=sampling_tolerance(n, KURTOSIS[dist]))


@pytest.mark.parametrize("shape", [LINEAR, CONV])
@pytest.mark.parametrize("dist", ["normal", "uniform"])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity, a", [("relu", 0), ("leaky_relu", 0.2), ("tanh", 0)])
def test_kaiming_std_matches_nn_init(shape, dist, mode, nonlinearity, a):
    fill = getattr(nn.init, f"kaiming_{dist}_")
    std, n = _sample_std(lambda w: fill(w, a=a, mode=mode, nonlinearity=nonlinearity), shape)
    want = expected_std(f"kaiming_{dist}", shape, mode=mode, nonlinearity=nonlinearity, a=a)
    fan_in, fan_out = fan_in_and_fan_out(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    assert want == pytest.approx(kaiming_std(fan, gain(nonlinearity, a)))
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


@pytest.mark.parametrize("nonlinearity", ["relu", "tanh", "linear", "sigmoid", "selu"])
def test_gain_matches_torch(nonlinearity):
    assert gain(nonlinearity) == nn.init.calculate_gain(nonlinearity)


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
    model = init_weights_(deep_mlp(3, 400, "relu"), "N(0, 0.01)", "relu")
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert len(linears) == 4
    for layer in linears:
        assert layer.weight.std().item() == pytest.approx(0.01, rel=0.05)
        assert torch.count_nonzero(layer.bias) == 0
    assert set(INITIALIZERS) == {"N(0, 1)", "N(0, 0.01)", "xavier", "kaiming"}
