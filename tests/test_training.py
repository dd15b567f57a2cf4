import pytest
import torch
from torch import nn

from reglab.augment import random_affine
from reglab.training import History, evaluate, forked_rng, spawn_seeds, train


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(90, 1, 8, 8, generator=g)
    y = torch.randint(0, 3, (90,), generator=g)
    return (X[:50], y[:50]), (X[50:70], y[50:70]), (X[70:], y[70:])


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(16, 3))  # fmt: skip


def _train(data, **kwargs):
    train_data, val_data, test_data = data
    kwargs = dict(val_data=val_data, test_data=test_data, num_epochs=3, batch_size=16,
                  device="cpu", augment=random_affine, **kwargs)  # fmt: skip
    return train(_model(), train_data, **kwargs)


def test_train_leaves_the_global_rng_untouched(data):
    model = _model()
    torch.manual_seed(123)
    before = torch.get_rng_state()
    train_data, val_data, _ = data
    train(model, train_data, val_data=val_data, num_epochs=2, device="cpu", augment=random_affine)
    assert torch.equal(torch.get_rng_state(), before)


def test_results_do_not_depend_on_the_callers_global_rng(data):
    # masks and augmentations come from train's own stream, not from whatever state the
    # caller left the global RNG in
    histories = []
    for outer in (1, 2):
        model = _model()
        torch.manual_seed(outer)
        histories.append(train(model, data[0], test_data=data[2], num_epochs=2, device="cpu",
                               augment=random_affine))  # fmt: skip
    assert histories[0] == histories[1]


def test_seed_and_generator_are_the_same_source(data):
    a = _train(data, seed=3)
    b = _train(data, generator=torch.Generator().manual_seed(3))
    c = _train(data, seed=4)
    assert a == b
    assert a != c


def test_generator_is_advanced_so_two_calls_differ(data):
    g = torch.Generator().manual_seed(0)
    assert _train(data, generator=g) != _train(data, generator=g)


def test_batch_order_and_noise_streams_are_distinct():
    order_seed, noise_seed = spawn_seeds(torch.Generator().manual_seed(0), 2)
    assert order_seed != noise_seed
    order = torch.randperm(50, generator=torch.Generator().manual_seed(order_seed))
    with forked_rng(noise_seed):
        noise = torch.randperm(50)
    assert not torch.equal(order, noise)


def test_forked_rng_is_reproducible_and_restores_the_state():
    torch.manual_seed(7)
    before = torch.get_rng_state()
    with forked_rng(5):
        a = torch.rand(4)
    with forked_rng(5):
        b = torch.rand(4)
    assert torch.equal(a, b)
    assert torch.equal(torch.get_rng_state(), before)


def test_history_records_every_split_every_epoch(data):
    h = _train(data)
    assert h.epoch == [1, 2, 3]
    for name in ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"):
        assert len(getattr(h, name)) == 3, name
    assert h.best_epoch is None and h.stopped_epoch is None
    assert h.gap == h.train_acc[-1] - h.test_acc[-1]
    assert set(h.to_dict()) == {"epoch", "train_loss", "train_acc", "val_loss", "val_acc",
                                "test_loss", "test_acc", "best_epoch", "stopped_epoch"}  # fmt: skip


def test_history_metrics_are_the_models_at_each_epoch(data):
    val_data = data[1]
    snapshots = {}
    h = _train(data, on_epoch_end=lambda e, m: snapshots.update({e: evaluate(m, *val_data)}))
    assert sorted(snapshots) == [0, 1, 2, 3]  # epoch 0 is before training
    assert [snapshots[e] for e in (1, 2, 3)] == list(zip(h.val_loss, h.val_acc, strict=True))


def test_without_val_or_test_data_their_lists_stay_empty(data):
    h = train(_model(), data[0], num_epochs=2, device="cpu", evaluate_train=False)
    assert h.val_loss == h.test_acc == h.train_acc == []
    assert len(h.train_loss) == 2


def test_train_loss_is_the_mean_data_loss_of_the_epoch():
    # one full batch, SGD with lr 0: the epoch loss is the cross-entropy of the initial model
    X, y = torch.randn(10, 4), torch.arange(10) % 2
    model = nn.Linear(4, 2)
    expected = nn.functional.cross_entropy(model(X), y).item()
    h = train(model, (X, y), lr=1e-30, num_epochs=1, batch_size=10, device="cpu",
              penalty=lambda m: 100.0 * m.weight.abs().sum())  # fmt: skip
    assert h.train_loss[0] == pytest.approx(expected, rel=1e-6)  # penalty not included


def test_history_is_a_plain_dataclass():
    h = History(epoch=[1], train_loss=[0.5], train_acc=[0.9], test_acc=[0.7])
    assert h.gap == pytest.approx(0.2)
