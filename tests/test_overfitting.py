import pytest
import torch

from reglab.data import balanced_subset, mnist_tensors
from reglab.train import History, Patience, mlp, overfitting, stopped_before_cap, train


def _history(train_acc, val_loss, val_acc=None, stopped=None):
    val_acc = val_acc if val_acc is not None else [0.9] * len(val_loss)
    return History(
        epoch=list(range(1, len(val_loss) + 1)), train_acc=train_acc, val_loss=val_loss,
        val_acc=val_acc, stopped_epoch=stopped,
    )  # fmt: skip


def test_overfitting_reads_memorising_the_turn_and_the_gap():
    h = _history([0.8, 0.99, 0.996, 1.0], [0.6, 0.4, 0.45, 0.5], [0.8, 0.86, 0.85, 0.85])
    o = overfitting(h)
    assert o.memorises and o.turns_up and o.overfits
    assert o.min_val_epoch == 2 and o.epochs == 4
    assert o.rise == pytest.approx(0.1)
    assert o.gap == pytest.approx(1.0 - 0.86)


@pytest.mark.parametrize(
    ("train_acc", "val_loss", "memorises", "turns_up"),
    [
        ([0.8, 0.9, 0.99], [0.6, 0.5, 0.4], False, False),  # still improving
        ([0.9, 0.995, 0.999], [0.6, 0.5, 0.4], True, False),  # fits, minimum at the end
        ([0.8, 0.9, 0.994], [0.6, 0.4, 0.5], False, True),  # turns up, short of 99.5%
        ([0.9, 1.0, 1.0], [0.6, 0.4, 0.4], True, False),  # flat after the minimum
    ],
)
def test_each_sign_on_its_own(train_acc, val_loss, memorises, turns_up):
    o = overfitting(_history(train_acc, val_loss))
    assert (o.memorises, o.turns_up, o.overfits) == (memorises, turns_up, memorises and turns_up)


def test_memorise_at_is_the_threshold():
    h = _history([0.9, 0.97], [0.5, 0.6])
    assert overfitting(h, memorise_at=0.97).memorises
    assert not overfitting(h, memorise_at=0.971).memorises


def test_overfitting_rejects_histories_it_cannot_read():
    with pytest.raises(TypeError, match=r"^history must be a reglab\.train\.History, got dict$"):
        overfitting({"val_loss": [1.0]})
    with pytest.raises(
        ValueError, match=r"^history has no training accuracy: train with evaluate_train=True$"
    ):
        overfitting(History(val_loss=[1.0], val_acc=[0.5]))
    with pytest.raises(ValueError, match=r"^history has no validation loss: train with val_data$"):
        overfitting(History(train_acc=[1.0]))
    with pytest.raises(ValueError, match="differ in length"):
        overfitting(History(train_acc=[1.0, 1.0], val_loss=[1.0], val_acc=[0.5]))
    with pytest.raises(ValueError, match=r"^history's val_loss holds a non-finite value$"):
        overfitting(_history([1.0, 1.0], [1.0, float("nan")]))
    with pytest.raises(ValueError, match=r"^memorise_at has to be between 0 and 1, but got 1\.5$"):
        overfitting(_history([1.0], [1.0]), memorise_at=1.5)


def test_stopped_before_cap_needs_every_run_stopped_before_the_cap():
    stopped = _history([1.0] * 3, [0.5, 0.4, 0.6], stopped=8)
    assert stopped_before_cap([stopped, stopped], 10)
    assert not stopped_before_cap([stopped, _history([1.0], [0.5])], 10)  # one ran to the cap
    assert not stopped_before_cap([_history([1.0], [0.5], stopped=10)], 10)  # stopped at it
    with pytest.raises(ValueError, match=r"^num_epochs must be an integer >= 1, got 0$"):
        stopped_before_cap([stopped], 0)
    with pytest.raises(ValueError, match="at least one"):
        stopped_before_cap([], 10)
    with pytest.raises(TypeError, match=r"histories\[1\] must be a History"):
        stopped_before_cap([stopped, 3], 10)


def test_a_small_mlp_on_few_digits_overfits_and_stops_before_its_cap():
    X, y = mnist_tensors(train=True)
    g = torch.Generator().manual_seed(0)
    idx = balanced_subset(y, 30, generator=g)
    train_idx, val_idx = idx[:200], idx[200:]
    h = train(
        mlp((128,), generator=g), (X[train_idx], y[train_idx]), num_epochs=60, lr=0.1,
        batch_size=32, val_data=(X[val_idx], y[val_idx]), evaluate_train=True, seed=g,
        stopping=Patience(5), restore_best=True, progress=False,
    )  # fmt: skip
    o = overfitting(h)
    assert o.overfits, o
    assert stopped_before_cap([h], 60)
