import pytest
import torch
from torch import nn

from reglab.train import deep_mlp, layer_seeds, mlp, small_cnn, spawn_seeds


def test_mlp_layers_and_output_shape():
    model = mlp((32, 16), p=0.25, nonlinearity="tanh", in_features=12, classes=3)
    kinds = [type(m) for m in model]
    assert kinds == [nn.Flatten, nn.Linear, nn.Tanh, nn.Dropout, nn.Linear, nn.Tanh,
                     nn.Dropout, nn.Linear]  # fmt: skip
    assert [m.p for m in model if isinstance(m, nn.Dropout)] == [0.25, 0.25]
    assert model(torch.randn(5, 3, 4)).shape == (5, 3)
    assert not any(isinstance(m, nn.Dropout) for m in mlp((8,), p=0.0))


def test_mlp_with_batch_norm_normalizes_each_hidden_layer_before_its_dropout():
    model = mlp((32, 16), p=0.25, batch_norm=True, in_features=12, classes=3)
    kinds = [type(m) for m in model]
    assert kinds == [nn.Flatten, nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Dropout, nn.Linear,
                     nn.BatchNorm1d, nn.ReLU, nn.Dropout, nn.Linear]  # fmt: skip
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [m.bias is None for m in linears] == [True, True, False]  # BN's shift: the bias
    assert model(torch.randn(5, 3, 4)).shape == (5, 3)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_small_cnn_layers_and_output_shape(batch_norm):
    model = small_cnn((4, 8), batch_norm=batch_norm, p=0.5, p2d=0.1, hidden=16, classes=7)
    assert model(torch.randn(3, 1, 28, 28)).shape == (3, 7)
    convs = [m for m in model if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 8]
    assert all((c.bias is None) == batch_norm for c in convs)  # BN's shift replaces the bias
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model) == 2 * batch_norm
    assert not any(isinstance(m, nn.BatchNorm1d) for m in model)
    assert [m.p for m in model if isinstance(m, nn.Dropout2d)] == [0.1]
    assert [m.p for m in model if type(m) is nn.Dropout] == [0.5]


def test_small_cnn_puts_every_dropout_after_every_batch_norm():
    # Dropout before batch norm shifts the variance the norm sees between training and
    # evaluation (Li et al., CVPR 2019), so no dropout layer may precede a norm layer.
    model = small_cnn(batch_norm=True, p=0.5, p2d=0.2)
    norms = [i for i, m in enumerate(model) if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d)]
    drops = [i for i, m in enumerate(model) if isinstance(m, nn.Dropout | nn.Dropout2d)]
    assert len(norms) == 2 and len(drops) == 2
    assert max(norms) < min(drops)


def test_deep_mlp_has_depth_hidden_layers_of_one_width():
    model = deep_mlp(4, 8, "tanh", in_features=5, classes=3)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(5, 8)] + [(8, 8)] * 3 + [(8, 3)]
    assert sum(isinstance(m, nn.Tanh) for m in model) == 4


def test_deep_mlp_rejects_bad_arguments():
    with pytest.raises(ValueError, match="depth must be an integer >= 1, got 0"):
        deep_mlp(0, 8)
    with pytest.raises(ValueError, match="nonlinearity"):
        deep_mlp(2, 8, "gelu")


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_dropout_probabilities_outside_unit_interval_are_clear_errors(p):
    with pytest.raises(ValueError, match=r"^p has to be between 0 and 1, but got"):
        mlp((8,), p=p)
    with pytest.raises(ValueError, match=r"^p has to be between 0 and 1, but got"):
        small_cnn(p=p)
    with pytest.raises(ValueError, match=r"^p2d has to be between 0 and 1, but got"):
        small_cnn(p2d=p)


@pytest.mark.parametrize(
    "build",
    [
        lambda g: mlp((16,), p=0.5, generator=g),
        lambda g: small_cnn((4, 8), batch_norm=True, hidden=16, generator=g),
        lambda g: deep_mlp(2, 16, generator=g),
    ],
    ids=["mlp", "small_cnn", "deep_mlp"],
)
def test_a_generator_seeds_torchs_own_initialization_and_leaves_the_global_rng(build):
    state = torch.get_rng_state()
    a, b = build(torch.Generator().manual_seed(3)), build(torch.Generator().manual_seed(3))
    c = build(torch.Generator().manual_seed(4))
    assert torch.equal(torch.get_rng_state(), state)  # the caller's global RNG untouched
    for x, y in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(x, y)
    assert not all(torch.equal(x, y) for x, y in zip(a.parameters(), c.parameters(), strict=True))
    # torch.nn's own initialization: layer k is what its constructor draws under its seed
    (seed,) = spawn_seeds(torch.Generator().manual_seed(3), 1)
    weighted = [m for m in a if isinstance(m, nn.Linear | nn.Conv2d)]
    for layer, layer_seed in zip(weighted, layer_seeds(seed, len(weighted)), strict=True):
        with torch.random.fork_rng():
            torch.manual_seed(layer_seed)
            if isinstance(layer, nn.Linear):
                fresh = nn.Linear(layer.in_features, layer.out_features)
            else:
                fresh = nn.Conv2d(
                    layer.in_channels, layer.out_channels, layer.kernel_size,
                    padding=layer.padding, bias=layer.bias is not None,
                )  # fmt: skip
        for x, y in zip(layer.parameters(), fresh.parameters(), strict=True):
            assert torch.equal(x, y)


@pytest.mark.parametrize(
    ("plain", "regularized"),
    [
        (lambda g: small_cnn(generator=g), lambda g: small_cnn(batch_norm=True, generator=g)),
        (lambda g: small_cnn(generator=g), lambda g: small_cnn(norm="group", generator=g)),
        (lambda g: small_cnn(generator=g), lambda g: small_cnn(p=0.5, p2d=0.2, generator=g)),
        (lambda g: mlp((32, 16), generator=g), lambda g: mlp((32, 16), p=0.5, generator=g)),
        (
            lambda g: mlp((32, 16), generator=g),
            lambda g: mlp((32, 16), batch_norm=True, generator=g),
        ),
    ],
    ids=["batch_norm", "group_norm", "dropout", "mlp_dropout", "mlp_batch_norm"],
)
def test_architectures_that_coincide_start_from_identical_weights(plain, regularized):
    a = plain(torch.Generator().manual_seed(5))
    b = regularized(torch.Generator().manual_seed(5))
    wa = [m for m in a if isinstance(m, nn.Linear | nn.Conv2d)]
    wb = [m for m in b if isinstance(m, nn.Linear | nn.Conv2d)]
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb, strict=True):  # every shared layer: the same weights
        assert torch.equal(x.weight, y.weight)
        if x.bias is not None and y.bias is not None:
            assert torch.equal(x.bias, y.bias)
    other = plain(torch.Generator().manual_seed(6))  # and another seed, other weights
    first = next(m for m in other if isinstance(m, nn.Linear | nn.Conv2d))
    assert not torch.equal(wa[0].weight, first.weight)


def test_layer_seeds_depend_on_the_seed_and_the_position_only():
    assert layer_seeds(7, 4)[:3] == layer_seeds(7, 3)
    assert len(set(layer_seeds(7, 4))) == 4
    assert layer_seeds(7, 2) != layer_seeds(8, 2)
    with pytest.raises(TypeError, match="seed must be an int"):
        layer_seeds(1.0, 2)
    with pytest.raises(ValueError, match="n"):
        layer_seeds(1, 0)


def test_without_a_generator_one_draw_of_the_global_rng_seeds_the_model():
    torch.manual_seed(11)
    a = mlp((8,))
    after = torch.get_rng_state()
    torch.manual_seed(11)
    torch.randint(0, 2**62, (1,))
    assert torch.equal(torch.get_rng_state(), after)  # exactly one draw
    torch.manual_seed(11)
    b = mlp((8,))
    for x, y in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(x, y)


def test_the_generator_advances_by_one_draw_and_must_be_a_generator():
    g, h = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    mlp((4,), generator=g)
    spawn_seeds(h, 1)
    assert torch.equal(g.get_state(), h.get_state())
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator, got int"):
        small_cnn(generator=0)
