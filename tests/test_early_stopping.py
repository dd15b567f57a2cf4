"""Stopping criteria consulted live by train(): a tiny MLP on synthetic data with noisy
labels (the validation loss falls for a few epochs, then rises as it memorises the
noise), a few seconds in all.

The scripted decisions of each criterion are in test_stopping.py; here, a live stop must
be the stop that replaying the run says, and the restored weights must be the best
epoch's, bit for bit.
"""

import pytest
import torch
from torch import nn

from reglab.train import (
    GeneralizationLoss,
    Patience,
    ProgressQuotient,
    UpStrips,
    evaluate,
    forked_rng,
    replay,
    train,
)

NUM_EPOCHS = 60


@pytest.fixture(scope="module")
def overfitting_data():
    """64 training and 64 validation points: labels from a random linear map, 40% of them
    redrawn at random, so there is something to learn and noise to memorise."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(128, 20, generator=g)
    y = (X @ torch.randn(20, 3, generator=g)).argmax(dim=1)
    noisy = torch.rand(128, generator=g) < 0.4
    y = torch.where(noisy, torch.randint(0, 3, (128,), generator=g), y)
    return (X[:64], y[:64]), (X[64:], y[64:])


def _fit(data, stopping=None, **kwargs):
    train_data, val_data = data
    with forked_rng(0):  # the same initial weights in every run
        model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 3))
    kwargs = dict(val_data=val_data, lr=0.1, num_epochs=NUM_EPOCHS, batch_size=8,
                  device="cpu", evaluate_train=False, seed=0) | kwargs  # fmt: skip
    return model, train(model, train_data, stopping=stopping, **kwargs)


CRITERIA = [
    Patience(3),
    Patience(2, min_delta=0.01),
    GeneralizationLoss(5.0),
    ProgressQuotient(0.5, strip_length=3),
    UpStrips(2, strip_length=2),
]


@pytest.fixture(scope="module")
def long_run(overfitting_data):
    return _fit(overfitting_data)[1]  # no stopping: all NUM_EPOCHS


@pytest.mark.parametrize("criterion", CRITERIA, ids=repr)
def test_a_live_stop_is_the_stop_its_replay_says(overfitting_data, long_run, criterion):
    model, history = _fit(overfitting_data, criterion)
    stopped = history.stopped_epoch
    assert stopped is not None and stopped < NUM_EPOCHS  # the rule fired
    assert history.epoch[-1] == stopped and len(history.train_loss) == stopped
    # the run's own record, replayed through the same criterion object
    own = replay(criterion, history)
    assert (own.stopped_epoch, own.best_epoch) == (stopped, history.best_epoch)
    # ... and the first epochs of a run that never stopped (training is deterministic)
    assert long_run.val_loss[:stopped] == history.val_loss
    assert long_run.train_loss[:stopped] == history.train_loss
    prefix = replay(criterion, long_run)
    assert (prefix.stopped_epoch, prefix.best_epoch) == (stopped, history.best_epoch)
    # the weights returned are the best epoch's, bit for bit, not the last epoch's
    val_loss, val_acc = evaluate(model, *overfitting_data[1])
    best = history.best_epoch
    assert (val_loss, val_acc) == (history.val_loss[best - 1], history.val_acc[best - 1])
    assert val_loss == min(history.val_loss) < history.val_loss[-1]
    assert 1 < best < stopped  # the validation loss fell first: a real choice


def test_prechelts_criteria_fire_at_different_epochs(overfitting_data):
    # otherwise the test above could pass with one stop shared by every criterion
    stops = {_fit(overfitting_data, c)[1].stopped_epoch for c in CRITERIA}
    assert len(stops) >= 3


def test_restore_best_false_keeps_the_last_weights(overfitting_data):
    model, history = _fit(overfitting_data, Patience(3), restore_best=False)
    assert history.best_epoch < history.stopped_epoch
    assert evaluate(model, *overfitting_data[1])[0] == history.val_loss[-1]


def test_the_best_weights_are_restored_when_the_budget_runs_out(overfitting_data, long_run):
    never = GeneralizationLoss(1e6)  # GL never exceeds a million percent
    model, history = _fit(overfitting_data, never)
    assert history.stopped_epoch is None and len(history.epoch) == NUM_EPOCHS
    assert history.val_loss == long_run.val_loss
    best = history.best_epoch
    assert best < NUM_EPOCHS and history.val_loss[best - 1] == min(history.val_loss)
    assert evaluate(model, *overfitting_data[1])[0] == history.val_loss[best - 1]


def test_a_criterion_is_reset_between_runs(overfitting_data):
    criterion = Patience(3)
    assert _fit(overfitting_data, criterion)[1] == _fit(overfitting_data, criterion)[1]


def test_a_criterion_on_the_training_accuracy(overfitting_data):
    criterion = Patience(2, monitor="train_acc", mode="max")
    model, history = _fit(overfitting_data, criterion, evaluate_train=True, val_data=None)
    assert history.stopped_epoch is not None and history.val_loss == []
    assert replay(criterion, history).stopped_epoch == history.stopped_epoch
    best = history.best_epoch
    assert evaluate(model, *overfitting_data[0])[1] == history.train_acc[best - 1]


def test_train_rejects_a_monitor_it_cannot_fill(overfitting_data):
    for criterion in (Patience(), GeneralizationLoss(), ProgressQuotient(), UpStrips()):
        with pytest.raises(ValueError, match=r"monitors 'val_loss' but val_data is None"):
            _fit(overfitting_data, criterion, val_data=None)
    with pytest.raises(ValueError, match="monitors 'train_acc' but evaluate_train=False"):
        _fit(overfitting_data, Patience(monitor="train_acc", mode="max"))
    with pytest.raises(TypeError, match=r"stopping must be a reglab\.train\.StoppingCriterion"):
        _fit(overfitting_data, 3)
