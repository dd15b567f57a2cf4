import pytest
import torch
from conftest import named_errors_test
from hypothesis import given, settings
from hypothesis import strategies as st

from reglab.data import draw_train_val, train_val_indices, train_val_split


def _labels(counts, seed=0):
    """Labels with ``counts[k]`` samples of class ``labels[k]``, shuffled."""
    y = torch.cat([torch.full((n,), c) for c, n in counts.items()])
    return y[torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))]


def _check_partition(y, train_idx, val_idx):
    train, val = set(train_idx.tolist()), set(val_idx.tolist())
    assert len(train) == len(train_idx) and len(val) == len(val_idx)  # no repeats
    assert not train & val  # disjoint: no index shared
    assert train | val == set(range(len(y)))  # covers everything


def test_val_per_class_is_balanced_disjoint_and_complete():
    y = _labels({0: 30, 1: 12, 2: 50, 7: 9})  # classes need not be 0..K-1
    g = torch.Generator().manual_seed(0)
    train_idx, val_idx = train_val_indices(y, val_per_class=4, generator=g)
    _check_partition(y, train_idx, val_idx)
    assert torch.bincount(y[val_idx], minlength=8).tolist() == [4, 4, 4, 0, 0, 0, 0, 4]
    assert torch.bincount(y[train_idx], minlength=8).tolist() == [26, 8, 46, 0, 0, 0, 0, 5]


def test_val_fraction_holds_out_the_rounded_fraction_of_every_class():
    y = _labels({0: 40, 1: 20, 2: 7})
    train_idx, val_idx = train_val_indices(y, val_fraction=0.2,
                                           generator=torch.Generator().manual_seed(1))  # fmt: skip
    _check_partition(y, train_idx, val_idx)
    assert torch.bincount(y[val_idx]).tolist() == [8, 4, 1]  # round(0.2 * 7) = 1


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=3, max_value=40), min_size=1, max_size=6),
    per_class=st.integers(min_value=1, max_value=2),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_any_labels_give_a_balanced_partition(counts, per_class, seed):
    y = _labels(dict(enumerate(counts)), seed=seed)
    g = torch.Generator().manual_seed(seed)
    train_idx, val_idx = train_val_indices(y, val_per_class=per_class, generator=g)
    _check_partition(y, train_idx, val_idx)
    assert torch.bincount(y[val_idx], minlength=len(counts)).tolist() == [per_class] * len(counts)


def test_split_is_reproducible_and_depends_on_the_generator():
    y = _labels({0: 50, 1: 50})
    a = train_val_indices(y, val_per_class=10, generator=torch.Generator().manual_seed(3))
    b = train_val_indices(y, val_per_class=10, generator=torch.Generator().manual_seed(3))
    c = train_val_indices(y, val_per_class=10, generator=torch.Generator().manual_seed(4))
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert not torch.equal(a[1], c[1])


def test_a_generator_leaves_the_global_rng_alone():
    y = _labels({0: 20, 1: 20})
    before = torch.get_rng_state()
    train_val_indices(y, val_per_class=3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.get_rng_state(), before)


def test_train_val_split_keeps_rows_and_labels_together():
    y = _labels({0: 15, 1: 15, 2: 15})
    X = torch.arange(len(y)).float().view(-1, 1, 1) * torch.ones(1, 2, 2)  # row i holds i
    (X_train, y_train), (X_val, y_val) = train_val_split(
        X, y, val_per_class=5, generator=torch.Generator().manual_seed(0)
    )
    train_idx = X_train[:, 0, 0].long()
    val_idx = X_val[:, 0, 0].long()
    assert torch.equal(y_train, y[train_idx]) and torch.equal(y_val, y[val_idx])
    _check_partition(y, train_idx, val_idx)
    assert X_train.shape[1:] == X.shape[1:] and len(X_train) + len(X_val) == len(X)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(), "give exactly one of val_fraction and val_per_class"),
        (dict(val_fraction=0.1, val_per_class=2), "give exactly one of"),
        (dict(val_fraction=0.0), r"val_fraction must be in \(0, 1\), got 0.0"),
        (dict(val_fraction=1.0), r"val_fraction must be in \(0, 1\), got 1.0"),
        (dict(val_fraction=-0.2), r"val_fraction must be in \(0, 1\)"),
        (dict(val_fraction=1.5), r"val_fraction must be in \(0, 1\)"),
        (dict(val_per_class=0), "val_per_class must be an integer >= 1, got 0"),
        (dict(val_per_class=10), "class 1 has 10 samples: cannot hold out 10"),
        (dict(val_fraction=0.01), "class 0 has 20 samples: cannot hold out 0"),
    ],
)
def test_bad_sizes(kwargs, match):
    y = _labels({0: 20, 1: 10})
    with pytest.raises(ValueError, match=match):
        train_val_indices(y, **kwargs)


@pytest.mark.parametrize(
    "y", [torch.empty(0, dtype=torch.long), torch.zeros(4, 2, dtype=torch.long)]
)
def test_bad_labels(y):
    with pytest.raises(ValueError, match="y must be a non-empty 1-D tensor of labels"):
        train_val_indices(y, val_per_class=1)


def test_split_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="X and y differ in length: 5 != 4"):
        train_val_split(torch.zeros(5, 3), torch.zeros(4, dtype=torch.long), val_per_class=1)


def test_a_seed_draws_its_own_disjoint_balanced_training_and_validation_sets():
    y = torch.arange(10).repeat_interleave(40)  # 40 of each class
    a_train, a_val = draw_train_val(y, 5, 3, generator=torch.Generator().manual_seed(0))
    b_train, b_val = draw_train_val(y, 5, 3, generator=torch.Generator().manual_seed(0))
    c_train, _ = draw_train_val(y, 5, 3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a_train, b_train) and torch.equal(a_val, b_val)  # paired: same data
    assert set(a_train.tolist()) != set(c_train.tolist())  # another seed, another subset
    assert not set(a_train.tolist()) & set(a_val.tolist())
    assert torch.equal(torch.bincount(y[a_train]), torch.full((10,), 5))
    assert torch.equal(torch.bincount(y[a_val]), torch.full((10,), 3))


def test_draw_train_val_rejects_bad_input_by_name():
    y = torch.arange(3).repeat_interleave(4)
    g = torch.Generator().manual_seed(0)
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator"):
        draw_train_val(y, 1, 1, generator=0)
    with pytest.raises(ValueError, match="per_class"):
        draw_train_val(y, 0, 1, generator=g)
    with pytest.raises(ValueError, match="val_per_class"):
        draw_train_val(y, 1, 0, generator=g)
    with pytest.raises(ValueError, match="fewer than n_per_class=5"):
        draw_train_val(y, 3, 2, generator=g)


def _named_errors():
    y, g = _labels({0: 20, 1: 10}), torch.Generator().manual_seed(0)
    X = torch.zeros(30, 2)
    pool = torch.arange(3).repeat_interleave(4)
    fraction = r"^val_fraction must be in \(0, 1\), got "
    return {
        "neither": (lambda: train_val_indices(y), ValueError,
                    r"^give exactly one of val_fraction and val_per_class$"),
        "both": (lambda: train_val_split(X, y, val_fraction=0.5, val_per_class=1), ValueError,
                 r"^give exactly one of val_fraction and val_per_class$"),
        "fraction 0": (lambda: train_val_indices(y, val_fraction=0.0), ValueError,
                       fraction + r"0\.0$"),
        "fraction 1": (lambda: train_val_split(X, y, val_fraction=1.0), ValueError,
                       fraction + r"1\.0$"),
        "per class 0": (lambda: train_val_indices(y, val_per_class=0), ValueError,
                        r"^val_per_class must be an integer >= 1, got 0"),
        "per class 1.5": (lambda: train_val_indices(y, val_per_class=1.5), TypeError,
                          r"^val_per_class must be an integer >= 1, got float"),
        "empty y": (lambda: train_val_indices(y[:0], val_per_class=1), ValueError,
                    r"^y must be a non-empty 1-D tensor of labels, got shape \(0,\)$"),
        "2-D y": (lambda: train_val_indices(y.view(3, 10), val_per_class=1), ValueError,
                  r"^y must be a non-empty 1-D tensor of labels, got shape \(3, 10\)$"),
        "whole class": (lambda: train_val_indices(y, val_per_class=10), ValueError,
                        r"^class 1 has 10 samples: cannot hold out 10 for validation and keep "
                        r"at least one for training$"),
        "lengths": (lambda: train_val_split(X[:5], y[:4], val_per_class=1), ValueError,
                    r"^X and y differ in length: 5 != 4$"),
        "generator": (lambda: draw_train_val(pool, 1, 1, generator=0), TypeError,
                      r"^generator must be a torch\.Generator \(the seed's stream\), got int$"),
        "per_class": (lambda: draw_train_val(pool, 0, 1, generator=g), ValueError,
                      r"^per_class must be an integer >= 1, got 0"),
        "val_per_class": (lambda: draw_train_val(pool, 1, 0, generator=g), ValueError,
                          r"^val_per_class must be an integer >= 1, got 0"),
    }  # fmt: skip


test_errors_name_the_argument_and_its_range = named_errors_test(_named_errors)


def test_the_extreme_valid_sizes():
    """One validation sample per class; all but one; a pool with exactly enough samples."""
    y = _labels({0: 3, 1: 5})
    g = torch.Generator().manual_seed(0)
    for val_per_class, kept in [(1, [2, 4]), (2, [1, 3])]:
        train_idx, val_idx = train_val_indices(y, val_per_class=val_per_class, generator=g)
        _check_partition(y, train_idx, val_idx)
        assert torch.bincount(y[train_idx]).tolist() == kept
    train_idx, val_idx = train_val_indices(y, val_fraction=0.6, generator=g)  # round(1.8), 3
    assert torch.bincount(y[val_idx]).tolist() == [2, 3]
    pool = torch.arange(3).repeat_interleave(4)
    train_idx, val_idx = draw_train_val(pool, 3, 1, generator=g)
    assert sorted(train_idx.tolist() + val_idx.tolist()) == list(range(12))


def test_train_val_split_passes_the_fraction_and_the_generator_on():
    y = _labels({0: 40, 1: 20})
    X = torch.arange(len(y)).float()
    state = torch.get_rng_state()
    (X_a, y_a), (X_va, _) = train_val_split(
        X, y, val_fraction=0.25, generator=torch.Generator().manual_seed(7)
    )
    (X_b, _), (X_vb, _) = train_val_split(
        X, y, val_fraction=0.25, generator=torch.Generator().manual_seed(7)
    )
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(X_a, X_b) and torch.equal(X_va, X_vb)
    assert torch.bincount(y_a).tolist() == [30, 15]
