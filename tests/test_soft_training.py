"""train_soft: without hooks it is reglab.training.train step for step; the loss and mix
hooks are applied, seeded and leave the caller's global RNG alone."""

import functools

import pytest
import torch
import torch.nn.functional as F

from reglab.label_smoothing import cross_entropy
from reglab.mixing import mixup
from reglab.models import mlp
from reglab.soft_training import train_soft
from reglab.training import forked_rng, train


def _data(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


def _model(seed=0, p=0.0):
    with forked_rng(seed):
        return mlp((16,), p=p)


def test_without_hooks_it_equals_train():
    data, test = _data(), _data(40, seed=1)
    a, b = _model(), _model()
    ha = train(a, data, test_data=test, num_epochs=3, batch_size=32, seed=4, device="cpu",
               progress=False)  # fmt: skip
    hb = train_soft(b, data, test_data=test, num_epochs=3, batch_size=32, seed=4, device="cpu")
    assert ha.train_loss == hb.train_loss and ha.test_acc == hb.test_acc
    assert ha.train_acc == hb.train_acc and ha.test_loss == hb.test_loss
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_the_loss_hook_is_what_is_minimised():
    data = _data()
    smooth = functools.partial(cross_entropy, label_smoothing=0.3)
    a, b = _model(), _model()
    train_soft(a, data, loss=smooth, num_epochs=1, batch_size=96, lr=0.5, device="cpu")
    # one full-batch step by hand with torch's own smoothed loss
    F.cross_entropy(b(data[0]), data[1], label_smoothing=0.3).backward()
    with torch.no_grad():
        for p in b.parameters():
            p -= 0.5 * p.grad
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q)


def test_mix_gets_a_generator_and_runs_are_reproducible():
    data = _data()
    calls = []

    def mix(X, y, *, generator):
        calls.append(generator)
        return mixup(X, y, alpha=0.4, num_classes=10, generator=generator)

    torch.manual_seed(123)
    before = torch.get_rng_state()
    h1 = train_soft(_model(p=0.3), data, mix=mix, num_epochs=2, batch_size=32, seed=7,
                    device="cpu")  # fmt: skip
    assert torch.equal(before, torch.get_rng_state())  # caller's global RNG untouched
    assert len(calls) == 6 and all(isinstance(g, torch.Generator) for g in calls)
    h2 = train_soft(_model(p=0.3), data, mix=mix, num_epochs=2, batch_size=32, seed=7,
                    device="cpu")  # fmt: skip
    h3 = train_soft(_model(p=0.3), data, mix=mix, num_epochs=2, batch_size=32, seed=8,
                    device="cpu")  # fmt: skip
    assert h1.train_loss == h2.train_loss and h1.train_loss != h3.train_loss


def test_errors():
    data = _data()
    with pytest.raises(ValueError, match="num_epochs must be an integer >= 1"):
        train_soft(_model(), data, num_epochs=0)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        train_soft(_model(), data, batch_size=0)
    with pytest.raises(ValueError, match="lr must be > 0"):
        train_soft(_model(), data, lr=0)
    with pytest.raises(ValueError, match="val_data: X and y must be non-empty and of equal"):
        train_soft(_model(), data, val_data=(data[0], data[1][:3]))
    with pytest.raises(ValueError, match="train_data must be a pair"):
        train_soft(_model(), data[0])
