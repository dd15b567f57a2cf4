import functools
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms import v2

from reglab.data import mixup, mixup_or_cutmix, random_affine
from reglab.nn import functional as RF
from reglab.train import History, evaluate, forked_rng, spawn_seeds, train

ROOT = Path(__file__).resolve().parents[1]


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


def test_seed_int_and_generator_are_the_same_source(data):
    a = _train(data, seed=3)
    b = _train(data, seed=torch.Generator().manual_seed(3))
    c = _train(data, seed=4)
    assert a == b
    assert a != c


def test_generator_is_advanced_so_two_calls_differ(data):
    g = torch.Generator().manual_seed(0)
    assert _train(data, seed=g) != _train(data, seed=g)


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


# --- evaluate ---------------------------------------------------------------------------


def test_evaluate_matches_a_direct_computation():
    torch.manual_seed(0)
    model = nn.Linear(5, 3)
    X, y = torch.randn(25, 5), torch.randint(0, 3, (25,))
    loss, acc = evaluate(model, X, y, batch_size=7)  # batches of 7, 7, 7, 4
    with torch.no_grad():
        logits = model(X)
    assert loss == pytest.approx(nn.functional.cross_entropy(logits, y).item(), rel=1e-6)
    assert acc == (logits.argmax(1) == y).sum().item() / 25


def test_evaluate_rejects_empty_input():
    with pytest.raises(ValueError, match="X is empty"):
        evaluate(nn.Linear(2, 2), torch.empty(0, 2), torch.empty(0, dtype=torch.long))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(y=torch.zeros(3, dtype=torch.long)), r"X and y differ in length: 4 != 3"),
        (dict(batch_size=0), r"batch_size must be an integer >= 1, got 0"),
    ],
)
def test_evaluate_bad_inputs(kwargs, match):
    args = dict(X=torch.randn(4, 2), y=torch.zeros(4, dtype=torch.long)) | kwargs
    with pytest.raises(ValueError, match=match):
        evaluate(nn.Linear(2, 2), args.pop("X"), args.pop("y"), **args)


def test_evaluate_works_for_a_parameterless_model():
    # no parameters to take a device from: falls back to X's device (no bare StopIteration)
    X = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 4.0]])
    y = torch.tensor([0, 1, 0])
    loss, acc = evaluate(nn.Identity(), X, y)
    assert acc == pytest.approx(2 / 3)
    assert loss == pytest.approx(nn.functional.cross_entropy(X, y).item())
    assert evaluate(nn.Identity(), X, y, device="cpu") == (loss, acc)


@pytest.mark.parametrize("training", [True, False])
def test_evaluate_restores_the_mode_even_when_the_forward_raises(training):
    class Broken(nn.Module):
        def forward(self, X):
            raise RuntimeError("boom")

    model = nn.Sequential(nn.Linear(2, 2), Broken())
    model.train(training)
    with pytest.raises(RuntimeError, match="boom"):
        evaluate(model, torch.randn(3, 2), torch.zeros(3, dtype=torch.long))
    assert all(m.training is training for m in model.modules())


@pytest.mark.parametrize("training", [True, False])
def test_evaluate_restores_the_mode(training):
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout())
    model.train(training)
    evaluate(model, torch.randn(3, 2), torch.zeros(3, dtype=torch.long))
    assert all(m.training is training for m in model.modules())


def test_evaluate_is_in_eval_mode():
    model = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.9))
    model.train()
    X, y = torch.randn(50, 4), torch.randint(0, 3, (50,))
    with torch.no_grad():
        expected = nn.functional.cross_entropy(model[0](X), y).item()  # no dropout
    assert evaluate(model, X, y)[0] == pytest.approx(expected, rel=1e-6)


# --- the loss and mix hooks -------------------------------------------------------------


def _batches(X, y, *, seed, num_epochs, batch_size):
    """The batches train(seed=seed) visits, from its documented batch-order stream."""
    order_seed, _ = spawn_seeds(torch.Generator().manual_seed(seed), 2)
    g = torch.Generator().manual_seed(order_seed)
    for _ in range(num_epochs):
        order = torch.randperm(len(X), generator=g)
        for start in range(0, len(X), batch_size):
            idx = order[start : start + batch_size]
            yield X[idx], y[idx]


def _plain_model(seed=0):
    with forked_rng(seed):
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 3))


def _same_weights(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_the_explicit_defaults_give_bit_identical_results(data):
    # loss=F.cross_entropy and an identity mix are the defaults: same draws, same weights
    kwargs = dict(test_data=data[2], num_epochs=3, batch_size=16, seed=4, device="cpu",
                  augment=random_affine, progress=False)  # fmt: skip
    a, b = _model(), _model()
    ha = train(a, data[0], **kwargs)
    hb = train(b, data[0], loss=F.cross_entropy, mix=lambda X, y: (X, y), **kwargs)
    assert ha == hb
    assert _same_weights(a, b)


def test_the_loss_hook_is_minimised_and_recorded(data):
    # a hand-written SGD loop over the same batches with torch's label-smoothed loss
    (X, y), lr = data[0], 0.5
    a, b, c = _plain_model(), _plain_model(), _plain_model()
    kwargs = dict(num_epochs=2, batch_size=16, lr=lr, seed=3, device="cpu",
                  evaluate_train=False)  # fmt: skip
    h = train(a, (X, y), loss=nn.CrossEntropyLoss(label_smoothing=0.3), **kwargs)
    h_plain = train(c, (X, y), **kwargs)
    epoch_losses = [0.0, 0.0]
    for step, (X_b, y_b) in enumerate(_batches(X, y, seed=3, num_epochs=2, batch_size=16)):
        b.zero_grad()
        loss = F.cross_entropy(b(X_b), y_b, label_smoothing=0.3)
        loss.backward()
        with torch.no_grad():
            for p in b.parameters():
                p -= lr * p.grad
        epoch_losses[step // 4] += loss.item() * len(y_b) / len(X)  # 4 batches per epoch
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q)
    assert h.train_loss == pytest.approx(epoch_losses, rel=1e-5)
    assert not _same_weights(a, c)
    assert h.train_loss[0] != pytest.approx(h_plain.train_loss[0], rel=1e-3)


def test_reglab_cross_entropy_as_loss_equals_torchs(data):
    smooth = functools.partial(RF.cross_entropy, label_smoothing=0.1)
    a, b = _plain_model(), _plain_model()
    ha = train(a, data[0], loss=smooth, num_epochs=2, batch_size=16, device="cpu")
    hb = train(b, data[0], loss=nn.CrossEntropyLoss(label_smoothing=0.1), num_epochs=2,
               batch_size=16, device="cpu")  # fmt: skip
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q)
    assert ha.train_loss == pytest.approx(hb.train_loss, rel=1e-5)


def test_mix_gets_each_augmented_batch_once_and_its_output_is_trained_on(data):
    (X, y), lr = data[0], 0.3
    calls = []

    def square(X_b):  # a deterministic augmentation that does not commute with mixing
        return X_b**2

    def mix(X_b, y_b):  # deterministic, soft targets: 0.7 of each sample, 0.3 of the next
        calls.append((X_b.clone(), y_b.clone()))
        t = F.one_hot(y_b, 3).float()
        return 0.7 * X_b + 0.3 * X_b.roll(-1, 0), 0.7 * t + 0.3 * t.roll(-1, 0)

    a, b = _plain_model(), _plain_model()
    h = train(a, (X, y), augment=square, mix=mix, num_epochs=2, batch_size=16, lr=lr,
              seed=5, device="cpu")  # fmt: skip
    expected = list(_batches(X, y, seed=5, num_epochs=2, batch_size=16))
    assert len(calls) == len(expected) == 8  # 50 samples in batches of 16: 4 per epoch
    for (X_seen, y_seen), (X_b, y_b) in zip(calls, expected, strict=True):
        assert torch.equal(X_seen, square(X_b)) and torch.equal(y_seen, y_b)
    losses = []
    for X_b, y_b in expected:  # the same steps by hand, on the mixed batches
        X_mix, t_mix = mix(square(X_b), y_b)
        b.zero_grad()
        loss = F.cross_entropy(b(X_mix), t_mix)
        loss.backward()
        with torch.no_grad():
            for p in b.parameters():
                p -= lr * p.grad
        losses.append(loss.item() * len(y_b))
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q)
    assert h.train_loss == pytest.approx([sum(losses[:4]) / 50, sum(losses[4:]) / 50], rel=1e-5)


def test_mix_draws_from_the_forked_noise_stream(data):
    # no new stream: mix's draws are the global-RNG stream that dropout and augment use
    drawn = []

    def mix(X_b, y_b):
        drawn.append(torch.rand(()).item())
        return X_b, y_b

    torch.manual_seed(123)
    before = torch.get_rng_state()
    train(_plain_model(), data[0], mix=mix, num_epochs=2, batch_size=16, seed=6,
          device="cpu", evaluate_train=False)  # fmt: skip
    assert torch.equal(torch.get_rng_state(), before)  # caller's global RNG untouched
    _, noise_seed = spawn_seeds(torch.Generator().manual_seed(6), 2)
    with forked_rng(noise_seed):
        assert drawn == torch.rand(8).tolist()


def test_torchvision_mixup_and_reglabs_train_identically(data):
    # both draw lambda from the global RNG in the same way, so the runs are identical,
    # with dropout drawing from the same stream in between
    runs = []
    for mix in (v2.MixUp(alpha=0.4, num_classes=3),
                functools.partial(mixup, alpha=0.4, num_classes=3)):  # fmt: skip
        model = _model()
        h = train(model, data[0], mix=mix, num_epochs=2, batch_size=16, seed=2, device="cpu")
        runs.append((model, h))
    (a, ha), (b, hb) = runs
    assert _same_weights(a, b) and ha == hb


def test_mixed_runs_are_reproducible_and_depend_on_the_seed(data):
    mix = functools.partial(mixup_or_cutmix, mixup_alpha=0.4, cutmix_alpha=1.0, num_classes=3)
    h1, h2, h3 = (_train(data, mix=mix, seed=seed) for seed in (7, 7, 8))
    assert h1 == h2 and h1.train_loss != h3.train_loss
    plain = _train(data, seed=7)
    assert plain.train_loss != h1.train_loss


def test_evaluation_stays_plain_cross_entropy_with_hooks(data):
    val_data = data[1]
    snapshots = {}
    h = _train(data, loss=nn.CrossEntropyLoss(label_smoothing=0.2),
               mix=functools.partial(mixup, alpha=0.4, num_classes=3),
               on_epoch_end=lambda e, m: snapshots.update({e: evaluate(m, *val_data)}))  # fmt: skip
    assert [snapshots[e] for e in (1, 2, 3)] == list(zip(h.val_loss, h.val_acc, strict=True))


# --- train: bad input ---------------------------------------------------------------------

X4, Y4 = torch.randn(4, 2), torch.zeros(4, dtype=torch.long)
SGD = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(num_epochs=0), ValueError, r"num_epochs must be an integer >= 1, got 0"),
        (dict(num_epochs=2.5), TypeError, r"num_epochs must be an integer >= 1, got float 2\.5"),
        (dict(num_epochs=True), TypeError, r"num_epochs must be an integer >= 1, got bool True"),
        (dict(batch_size=0), ValueError, r"batch_size must be an integer >= 1, got 0"),
        (dict(lr=0.0), ValueError, r"lr must be a finite number > 0, got 0\.0"),
        (dict(lr=float("nan")), ValueError, r"lr must be a finite number > 0, got nan"),
        (dict(lr=float("inf")), ValueError, r"lr must be a finite number > 0, got inf"),
        (dict(train_data=(X4, Y4[:3])), ValueError, r"train_data: X and y differ in length"),
        (dict(train_data=(X4[:0], Y4[:0])), ValueError, r"train_data is empty"),
        (dict(train_data=X4), ValueError, r"train_data must be a pair \(X, y\)"),
        (dict(val_data=(X4, Y4[:1])), ValueError, r"val_data: X and y differ in length: 4"),
        (dict(test_data=(X4, Y4, Y4)), ValueError, r"test_data must be a pair \(X, y\)"),
        (dict(seed=1.0), TypeError, r"seed must be an int or a torch\.Generator, got float"),
        (dict(seed=True), TypeError, r"seed must be an int or a torch\.Generator, got bool"),
        (dict(lr=0.1, optimizer=SGD), ValueError, r"give either optimizer or lr"),
        (dict(restore_best=None), TypeError, r"restore_best must be True or False, got None"),
        (dict(evaluate_train=1), TypeError, r"evaluate_train must be True or False, got 1"),
        (dict(device="tpu"), ValueError, r"device must be a torch.device .* got .tpu."),
        (dict(loss=0.1), TypeError, r"loss must be a callable \(logits, targets\) -> scalar"),
        (dict(mix="mixup"), TypeError, r"mix must be a callable \(X_b, y_b\) -> \(X_b, targets"),
        (
            dict(loss=nn.CrossEntropyLoss(reduction="none")),
            ValueError,
            r"loss must return a scalar .* got shape \(4,\)",
        ),
    ],
)
def test_train_bad_inputs(kwargs, error, match):
    args = dict(train_data=(X4, Y4), device="cpu") | kwargs
    with pytest.raises(error, match=match):
        train(nn.Linear(2, 2), args.pop("train_data"), **args)


# --- progress bar in a terminal -------------------------------------------------------------


TTY_SCRIPT = """
import sys, torch
from torch import nn
from reglab.train import train
assert sys.stderr.isatty()
X, y = torch.randn(20, 3), torch.arange(20) % 2
h = train(nn.Linear(3, 2), (X, y), num_epochs=3, device="cpu")  # progress=None: a tty
print("EPOCHS", h.epoch)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_train_in_a_terminal_shows_tqdm_and_works():
    # stderr is a pseudo-terminal, so train() imports tqdm and draws a bar on it
    import pty
    import termios

    main, secondary = pty.openpty()
    termios.tcsetwinsize(secondary, (24, 80))  # a 0-column terminal would get an empty bar
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", TTY_SCRIPT], stderr=secondary,
                          stdout=subprocess.PIPE, env=env, text=True, timeout=120)  # fmt: skip
    terminal = b""
    while select.select([main], [], [], 0.5)[0]:  # what the child wrote to its terminal
        chunk = os.read(main, 4096)
        if not chunk:
            break
        terminal += chunk
    os.close(secondary)
    os.close(main)
    assert proc.returncode == 0, terminal.decode(errors="replace")
    assert "EPOCHS [1, 2, 3]" in proc.stdout
    assert b"epochs:   0%" in terminal and b"0/3" in terminal  # tqdm drew its bar
