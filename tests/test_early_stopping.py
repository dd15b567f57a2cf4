import math

import pytest
import torch
from torch import nn

from reglab.train import EarlyStopping, evaluate, train


def _steps(stopper, values, model=None):
    """Feed ``values`` as epochs 1, 2, ...; return the epoch at which step() said stop."""
    model = model if model is not None else nn.Linear(1, 1)
    for epoch, value in enumerate(values, start=1):
        if stopper.step(epoch, value, model):
            return epoch
    return None


# Scripted loss sequences; the expected epochs are worked out by hand from the rule
# "stop once `patience` epochs in a row fail to beat the best by more than min_delta".
LOSSES = [1.0, 0.9, 0.95, 0.91, 0.89, 0.9, 0.92, 0.93, 0.5]


@pytest.mark.parametrize(
    "patience, min_delta, best_epoch, stop_epoch",
    [
        (1, 0.0, 2, 3),  # 0.95 at epoch 3 does not beat 0.9
        (2, 0.0, 2, 4),  # 0.95, 0.91: two misses
        (3, 0.0, 5, 8),  # 0.89 at epoch 5 resets the count; 0.9, 0.92, 0.93 miss
        (4, 0.0, 9, None),  # 0.5 at epoch 9 arrives after 3 misses only
        (3, 0.02, 2, 5),  # 0.89 beats 0.9 by 0.01 < min_delta: a miss
    ],
)
def test_patience_stops_exactly_where_it_should(patience, min_delta, best_epoch, stop_epoch):
    stopper = EarlyStopping(patience, min_delta=min_delta)
    assert _steps(stopper, LOSSES) == stop_epoch
    assert stopper.best_epoch == best_epoch
    assert stopper.best_value == LOSSES[best_epoch - 1]


def test_stop_is_reported_once_at_the_patience_th_miss_not_before():
    stopper = EarlyStopping(3)
    said = [stopper.step(e, v, nn.Linear(1, 1)) for e, v in enumerate([1, 2, 3, 4], start=1)]
    assert said == [False, False, False, True]


def test_mode_max_for_accuracies():
    accs = [0.5, 0.7, 0.69, 0.71, 0.71, 0.70]
    stopper = EarlyStopping(2, monitor="val_acc", mode="max")
    assert _steps(stopper, accs) == 6  # 0.71 ties at epoch 5: not an improvement
    assert stopper.best_epoch == 4 and stopper.best_value == 0.71


def test_equal_value_is_not_an_improvement_and_nan_never_is():
    stopper = EarlyStopping(2)
    assert _steps(stopper, [1.0, 1.0, 1.0]) == 3
    stopper = EarlyStopping(2)
    assert _steps(stopper, [float("nan"), 1.0, float("nan"), float("nan")]) == 4
    assert stopper.best_epoch == 2 and stopper.best_value == 1.0


def test_best_state_is_a_copy_that_survives_in_place_updates():
    # Fails if best_state were model.state_dict() itself: the optimizer updates the
    # parameters in place, and the "best" weights would follow them.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    stopper = EarlyStopping(5)
    stopper.step(1, 0.1, model)
    best = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)  # what optimizer.step() does: in place
    model.train()
    model(torch.randn(8, 3))  # in-place update of the running statistics (buffers)
    stopper.step(2, 0.2, model)  # worse: best_state must stay at epoch 1
    for key, value in stopper.best_state.items():
        assert value.data_ptr() != model.state_dict()[key].data_ptr()
    stopper.restore(model)
    for key, value in model.state_dict().items():
        assert torch.equal(value, best[key]), key


def test_restore_best_false_keeps_no_copy():
    stopper = EarlyStopping(2, restore_best=False)
    stopper.step(1, 0.5, nn.Linear(1, 1))
    assert stopper.best_state is None and stopper.best_epoch == 1
    with pytest.raises(RuntimeError, match="restore_best=False"):
        stopper.restore(nn.Linear(1, 1))


def test_restore_before_any_step_is_an_error():
    with pytest.raises(RuntimeError, match="no best weights to restore"):
        EarlyStopping().restore(nn.Linear(1, 1))


def test_reset_forgets_everything():
    stopper = EarlyStopping(1)
    _steps(stopper, [1.0, 2.0])
    stopper.reset()
    assert (stopper.best_epoch, stopper.best_value, stopper.best_state, stopper.wait) == (
        None, None, None, 0,
    )  # fmt: skip


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(patience=0), r"patience must be an integer >= 1, got 0"),
        (dict(patience=-2), r"patience must be an integer >= 1"),
        (dict(min_delta=-0.1), r"min_delta must be a finite number >= 0"),
        (dict(min_delta=math.nan), r"min_delta must be a finite number >= 0"),
        (dict(min_delta=math.inf), r"min_delta must be a finite number >= 0"),
        (dict(monitor="test_loss"), r"monitor must be one of \('val_loss'"),
        (dict(monitor="loss"), r"monitor must be one of"),
        (dict(mode="minimum"), r"mode must be 'min' or 'max', got 'minimum'"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EarlyStopping(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(patience=1.5), r"patience must be an integer >= 1, got float 1.5"),
        (dict(patience=True), r"patience must be an integer >= 1, got bool True"),
        (dict(min_delta="0.1"), r"min_delta must be a finite number >= 0, got str '0.1'"),
    ],
)
def test_arguments_of_the_wrong_type_are_type_errors(kwargs, match):
    with pytest.raises(TypeError, match=match):
        EarlyStopping(**kwargs)


@pytest.fixture
def overfitting_data():
    """Random inputs with random labels: the validation loss can only get worse once the
    model starts memorising the training set."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(96, 20, generator=g)
    y = torch.randint(0, 3, (96,), generator=g)
    return (X[:48], y[:48]), (X[48:], y[48:])


def _mlp():
    return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 3))


def test_train_stops_and_restores_the_best_weights_bit_for_bit(overfitting_data):
    train_data, val_data = overfitting_data
    torch.manual_seed(0)
    model = _mlp()
    stopper = EarlyStopping(3)
    history = train(model, train_data, val_data=val_data, lr=0.5, num_epochs=60, batch_size=8,
                    device="cpu", early_stopping=stopper)  # fmt: skip
    best = history.best_epoch
    assert history.stopped_epoch is not None and history.stopped_epoch == best + 3
    assert history.epoch[-1] == history.stopped_epoch < 60
    assert min(history.val_loss) == history.val_loss[best - 1] < history.val_loss[-1]
    # the restored model is the best epoch's, not the last one's: exactly its val loss
    val_loss, val_acc = evaluate(model, *val_data)
    assert val_loss == history.val_loss[best - 1] == stopper.best_value
    assert val_acc == history.val_acc[best - 1]
    assert val_loss != history.val_loss[-1]


def test_train_without_restore_keeps_the_last_weights(overfitting_data):
    train_data, val_data = overfitting_data
    torch.manual_seed(0)
    model = _mlp()
    history = train(model, train_data, val_data=val_data, lr=0.5, num_epochs=60, batch_size=8,
                    device="cpu", early_stopping=EarlyStopping(3, restore_best=False))  # fmt: skip
    assert history.best_epoch < history.stopped_epoch
    assert evaluate(model, *val_data)[0] == history.val_loss[-1]


def test_a_stopper_is_reset_between_runs(overfitting_data):
    train_data, val_data = overfitting_data
    stopper = EarlyStopping(3)
    histories = []
    for _ in range(2):
        torch.manual_seed(0)
        histories.append(train(_mlp(), train_data, val_data=val_data, lr=0.5, num_epochs=60,
                               batch_size=8, device="cpu", early_stopping=stopper))  # fmt: skip
    assert histories[0] == histories[1]


def test_train_rejects_a_monitor_it_cannot_fill(overfitting_data):
    train_data, val_data = overfitting_data
    with pytest.raises(ValueError, match="monitors 'val_loss' but no val_data was given"):
        train(_mlp(), train_data, device="cpu", early_stopping=EarlyStopping())
    with pytest.raises(ValueError, match="monitors 'train_acc' but evaluate_train=False"):
        train(_mlp(), train_data, device="cpu", evaluate_train=False,
              early_stopping=EarlyStopping(monitor="train_acc", mode="max"))  # fmt: skip
    with pytest.raises(TypeError, match=r"early_stopping must be a reglab\.train\.EarlyStopping"):
        train(_mlp(), train_data, val_data=val_data, device="cpu", early_stopping=3)
