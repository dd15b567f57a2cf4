import pytest
import torch
from torch import nn

from reglab.inspection import activation_stats
from reglab.train import deep_mlp


def test_activation_stats_on_a_model_with_known_statistics():
    """Identity and doubled-identity layers: every statistic is known in closed form."""
    X = torch.tensor([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]])  # (N, D)
    first, second = nn.Linear(3, 3), nn.Linear(3, 3)
    with torch.no_grad():
        first.weight.copy_(torch.eye(3))
        second.weight.copy_(2 * torch.eye(3))
        first.bias.zero_()
        second.bias.zero_()
    model = nn.Sequential(first, nn.ReLU(), second, nn.Tanh())
    stats = activation_stats(model, X)
    h1 = X.relu()
    h2 = torch.tanh(2 * h1)
    assert stats.names == ["1", "3"]
    torch.testing.assert_close(stats.mean, torch.stack([h1.mean(), h2.mean()]))
    torch.testing.assert_close(stats.std, torch.stack([h1.std(correction=0), h2.std(correction=0)]))
    assert stats.grad_std is None
    torch.testing.assert_close(stats.samples[0], h1.flatten())


def test_activation_stats_can_record_pre_activations():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    X = torch.randn(5, 3)
    stats = activation_stats(model, X, record="input")
    pre = model[0](X).detach()
    torch.testing.assert_close(stats.std, pre.std(correction=0).reshape(1))
    torch.testing.assert_close(stats.samples[0], pre.flatten())
    with pytest.raises(ValueError, match="record must be"):
        activation_stats(model, X, record="weights")


def test_activation_stats_gradients_match_autograd():
    torch.manual_seed(0)
    model = deep_mlp(2, 8, "tanh", in_features=5, classes=3)
    X, y = torch.randn(16, 5), torch.randint(0, 3, (16,))
    stats = activation_stats(model, X, y)
    # the same gradients, computed by hand with retain_grad
    h = X
    hidden = []
    for layer in model:
        h = layer(h)
        if isinstance(layer, nn.Tanh):
            h.retain_grad()
            hidden.append(h)
    nn.functional.cross_entropy(h, y).backward()
    torch.testing.assert_close(
        stats.grad_std, torch.stack([t.grad.std(correction=0) for t in hidden])
    )
    assert all(p.grad is not None for p in model.parameters())  # from our manual pass only
    model.zero_grad()
    activation_stats(model, X, y)
    assert all(p.grad is None for p in model.parameters())  # activation_stats leaves .grad alone
    assert len(stats.samples) == 2 and stats.samples[0].numel() == 16 * 8


def test_activation_stats_needs_a_recorded_layer():
    with pytest.raises(ValueError, match="no layer of types"):
        activation_stats(nn.Linear(2, 2), torch.ones(1, 2))


def test_recorded_inputs_are_not_overwritten_by_inplace_layers():
    """nn.ReLU(inplace=True) overwrote the recorded pre-activation (minimum 0.0)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 50), nn.ReLU(inplace=True), nn.Linear(50, 4))
    X, y = torch.randn(20, 3), torch.randint(0, 4, (20,))
    pre = model[0](X).detach()
    assert pre.min() < 0
    stats = activation_stats(model, X, y, record="input")
    torch.testing.assert_close(stats.mean, pre.mean().reshape(1))
    torch.testing.assert_close(stats.std, pre.std(correction=0).reshape(1))
    torch.testing.assert_close(stats.samples[0].min(), pre.min())
    # dL/dh of the pre-activation h, by hand: dL/dh = dL/dr * 1[h > 0]
    h = model[0](X).detach().requires_grad_()
    nn.functional.cross_entropy(model[2](h.relu()), y).backward()
    torch.testing.assert_close(stats.grad_std, h.grad.std(correction=0).reshape(1))


def test_samples_are_drawn_across_the_batch_and_the_channels():
    """Keeping the first values kept about one channel of one image of a conv layer."""
    N, C = 8, 4
    X = (torch.arange(N * C, dtype=torch.float32) + 1).reshape(N, C, 1, 1).expand(N, C, 28, 28)
    stats = activation_stats(nn.Sequential(nn.ReLU()), X, max_samples=1000)
    assert stats.samples[0].numel() == 1000
    assert set(stats.samples[0].tolist()) == set(range(1, N * C + 1))  # every (image, channel)
    counts = torch.bincount(stats.samples[0].long(), minlength=N * C + 1)[1:]
    assert counts.min() > 0.5 * 1000 / (N * C)  # roughly uniform, not front-loaded
    g = torch.Generator().manual_seed(3)
    again = activation_stats(nn.Sequential(nn.ReLU()), X, max_samples=1000, generator=g)
    g.manual_seed(3)
    same = activation_stats(nn.Sequential(nn.ReLU()), X, max_samples=1000, generator=g)
    torch.testing.assert_close(again.samples[0], same.samples[0], rtol=0, atol=0)


def test_samples_keep_every_value_when_there_are_few_and_never_repeat_one():
    X = torch.randn(4, 6).abs() + 0.1  # distinct positive values
    stats = activation_stats(nn.Sequential(nn.ReLU()), X, max_samples=10)
    assert stats.samples[0].numel() == 10
    assert stats.samples[0].unique().numel() == 10  # drawn without replacement
    assert set(stats.samples[0].tolist()) <= set(X.flatten().tolist())


def test_activation_stats_bad_max_samples_is_a_clear_error():
    with pytest.raises(ValueError, match="max_samples must be an integer >= 1, got 0"):
        activation_stats(nn.Sequential(nn.ReLU()), torch.ones(2, 2), max_samples=0)


def test_sampling_defaults_generator_and_global_rng():
    """10,000 values by default; the default draw is a generator seeded with 0; a given
    generator is used; the global RNG is never touched."""
    X = torch.rand(30, 20, 5, 5) + 0.1  # 15,000 positive values per layer
    model = nn.Sequential(nn.ReLU())
    state = torch.get_rng_state()
    default = activation_stats(model, X).samples[0]
    assert torch.equal(torch.get_rng_state(), state)
    assert default.numel() == 10_000
    seeded = activation_stats(model, X, generator=torch.Generator().manual_seed(0)).samples[0]
    other = activation_stats(model, X, generator=torch.Generator().manual_seed(1)).samples[0]
    assert torch.equal(default, seeded) and not torch.equal(default, other)
    assert activation_stats(model, X, max_samples=1).samples[0].numel() == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_samples_of_a_model_on_the_gpu():
    model = nn.Sequential(nn.Linear(3, 40), nn.ReLU(inplace=True), nn.Linear(40, 2)).cuda()
    X, y = torch.randn(50, 3, device="cuda"), torch.randint(0, 2, (50,), device="cuda")
    stats = activation_stats(model, X, y, record="input", max_samples=100)
    assert stats.samples[0].device.type == "cuda" and stats.samples[0].numel() == 100
    pre = model[0](X).detach()
    torch.testing.assert_close(stats.std, pre.std(correction=0).reshape(1))


def test_std_of_huge_but_finite_activations_is_finite():
    """Positive values near 3e34 are finite in float32, their float32 sum is not: the std
    (like that of a ReLU network's exploding activations) must stay finite."""
    g = torch.Generator().manual_seed(0)
    X = 3e34 * torch.randn(512, 64, generator=g).abs()  # (N, D), finite float32
    assert torch.isinf(X.sum())  # the float32 sum overflows
    identity = nn.Linear(64, 64, bias=False)
    with torch.no_grad():
        identity.weight.copy_(torch.eye(64))
    model = nn.Sequential(identity, nn.ReLU())
    stats = activation_stats(model, X)
    h = X.double().relu()
    assert torch.isfinite(stats.std).all() and stats.std.dtype == torch.float32
    torch.testing.assert_close(stats.std[0].double(), h.std(correction=0), rtol=1e-6, atol=0)
    torch.testing.assert_close(stats.mean[0].double(), h.mean(), rtol=1e-6, atol=0)
    overflowed = activation_stats(model, torch.full((4, 64), float("inf")))
    assert not torch.isfinite(overflowed.std).any()  # a real overflow is still flagged


def test_recorded_inputs_keep_the_layer_names_and_its_other_arguments():
    class Scale(nn.Module):
        def forward(self, x, s):
            return x * s

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale, self.act = Scale(), nn.Tanh()

        def forward(self, x):
            return self.act(self.scale(x, 2.0))

    X = torch.tensor([[1.0, -1.0], [0.5, 0.0]])
    stats = activation_stats(Net(), X, layer_types=(Scale, nn.Tanh), record="input")
    assert stats.names == ["scale", "act"]
    torch.testing.assert_close(stats.samples[1], (2 * X).flatten())  # s reached the layer
