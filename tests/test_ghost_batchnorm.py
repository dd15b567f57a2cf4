"""Ghost batch normalization (reglab.nn) and the batch-noise study
(reglab.studies.batchnorm)."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reglab.nn import GhostBatchNorm2d, ghost_batch_norm
from reglab.studies.batchnorm import GhostConfig, run_ghost_study
from reglab.train import small_cnn


def test_each_slice_is_normalized_with_its_own_statistics_like_torch():
    g = torch.Generator().manual_seed(0)
    X = (3 * torch.randn(12, 3, 4, 5, generator=g, dtype=torch.float64) + 2).requires_grad_()
    ghost = GhostBatchNorm2d(3, ghost_size=4, dtype=torch.float64)
    with torch.no_grad():
        ghost.weight.copy_(torch.tensor([0.5, 1.0, 2.0]))
        ghost.bias.copy_(torch.tensor([-1.0, 0.0, 3.0]))
    reference = [nn.BatchNorm2d(3, dtype=torch.float64) for _ in range(3)]
    y = ghost(X)
    # torch's own layer, one slice at a time: the same outputs
    expected = torch.cat([
        F.batch_norm(part, None, None, ghost.weight, ghost.bias, training=True)
        for part in X.split(4)
    ])  # fmt: skip
    torch.testing.assert_close(y, expected)
    upstream = torch.randn(X.shape, generator=g, dtype=torch.float64)
    (grad,) = torch.autograd.grad(y, X, upstream)
    (grad_expected,) = torch.autograd.grad(expected, X, upstream)
    torch.testing.assert_close(grad, grad_expected)
    # the buffers: the three slices in turn, as three batches of nn.BatchNorm2d
    module = reference[0]
    for part in X.detach().split(4):
        module(part)
    torch.testing.assert_close(ghost.running_mean, module.running_mean)
    torch.testing.assert_close(ghost.running_var, module.running_var)
    assert not torch.allclose(y, F.batch_norm(X, None, None, ghost.weight, ghost.bias, True))


def test_evaluation_mode_is_plain_batch_norm_and_ghost_size_of_the_batch_is_too():
    torch.manual_seed(0)
    X = torch.randn(8, 2, 3, 3)
    ghost, plain = GhostBatchNorm2d(2, ghost_size=8), nn.BatchNorm2d(2)
    torch.testing.assert_close(ghost(X), plain(X))  # one slice: the whole batch
    torch.testing.assert_close(ghost.running_var, plain.running_var)
    ghost.eval(), plain.eval()
    torch.testing.assert_close(ghost(X[:1]), plain(X[:1]))


def test_bad_ghost_sizes_and_slices_of_one_are_clear_errors():
    with pytest.raises(ValueError, match="ghost_size must be >= 2"):
        GhostBatchNorm2d(3, ghost_size=1)
    with pytest.raises(ValueError, match="a last slice of one sample"):
        GhostBatchNorm2d(3, ghost_size=4)(torch.randn(9, 3, 2, 2))
    with pytest.raises(ValueError, match=r"no nn\.BatchNorm2d"):
        ghost_batch_norm(small_cnn((4, 8)), 2)
    with pytest.raises(ValueError, match="divide batch_size"):
        GhostConfig(ghost_sizes=(3, 32))


def test_ghost_batch_norm_swaps_every_layer_and_keeps_the_weights():
    g = torch.Generator().manual_seed(0)
    model = small_cnn((4, 8), batch_norm=True, generator=g)
    model(torch.randn(6, 1, 28, 28))  # move the buffers
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert ghost_batch_norm(model, 2) is model
    ghosts = [m for m in model if isinstance(m, GhostBatchNorm2d)]
    assert len(ghosts) == 2 and all(m.ghost_size == 2 for m in ghosts)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)


def _toy_pool(n_per_class=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(10 * n_per_class) % 10
    X = torch.randn(len(y), 1, 28, 28, generator=g) * 0.3 + y.view(-1, 1, 1, 1) / 10
    return X, y


def test_the_study_pairs_seeds_and_differs_only_in_the_ghost_size():
    config = dataclasses.replace(
        GhostConfig(), ghost_sizes=(2, 4), batch_size=4, per_class=2, val_per_class=2,
        seeds=(0, 1), num_epochs=3, patience=1, hidden=8,
    )  # fmt: skip
    pool, test = _toy_pool(), _toy_pool(2, 1)
    state = torch.get_rng_state()
    rows = run_ghost_study(config, pool, test)
    assert torch.equal(torch.get_rng_state(), state)
    assert [(r.ghost_size, r.seed) for r in rows] == [(2, 0), (2, 1), (4, 0), (4, 1)]
    assert rows == run_ghost_study(config, pool, test)  # deterministic
    # ghost size 4 = the batch: plain batch norm, so its first epoch's training loss is
    # that of the plain model; ghost size 2 normalizes differently and differs
    losses = {(r.ghost_size, r.seed): r.history.train_loss[0] for r in rows}
    assert losses[2, 0] != losses[4, 0]
    assert all(0 <= r.test_acc <= 1 and r.test_loss > 0 for r in rows)
    assert all(r.best_epoch == r.history.best_epoch for r in rows)


def test_errors_name_the_argument_and_its_range():
    with pytest.raises(ValueError, match=r"^ghost_size must be an integer >= 1, got 0"):
        GhostBatchNorm2d(3, ghost_size=0)
    with pytest.raises(
        ValueError, match=r"^ghost_size must be >= 2 \(a variance needs two\), got 1$"
    ):
        GhostBatchNorm2d(3, ghost_size=1)
    with pytest.raises(ValueError, match=r"^a last slice of one sample: batch of 9, ghost_size=4$"):
        GhostBatchNorm2d(3, ghost_size=4)(torch.randn(9, 3, 2, 2))
    with pytest.raises(ValueError, match=r"^expected 4D input \(got 3D input\)$"):  # torch's
        GhostBatchNorm2d(3, ghost_size=2)(torch.randn(4, 2, 2))
    with pytest.raises(TypeError, match=r"^model must be an nn\.Module, got int$"):
        ghost_batch_norm(3, 2)
    with pytest.raises(ValueError, match=r"^ghost_size must be an integer >= 1, got 0"):
        ghost_batch_norm(nn.Sequential(nn.BatchNorm2d(3)), 0)
    with pytest.raises(ValueError, match=r"^model has no nn\.BatchNorm2d to replace$"):
        ghost_batch_norm(nn.Sequential(nn.BatchNorm1d(3)), 2)


def test_the_smallest_slices_and_a_batch_of_one_are_torchs_batch_norm():
    """ghost_size 2 is valid; a batch of one sample (one slice) is plain batch norm over its
    positions, as in nn.BatchNorm2d; both count one batch."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(4, 3, 2, 2, generator=g, dtype=torch.float64)
    ghost = GhostBatchNorm2d(3, ghost_size=2, dtype=torch.float64)
    expected = torch.cat([F.batch_norm(p, None, None, training=True) for p in X.split(2)])
    torch.testing.assert_close(ghost(X), expected)
    one, plain = GhostBatchNorm2d(3, ghost_size=4), nn.BatchNorm2d(3)
    torch.testing.assert_close(one(X[:1].float()), plain(X[:1].float()))
    assert ghost.num_batches_tracked == one.num_batches_tracked == plain.num_batches_tracked == 1


def test_repr_is_batch_norms_plus_the_ghost_size():
    layer = GhostBatchNorm2d(3, ghost_size=4, eps=1e-3)
    assert (
        repr(layer) == f"GhostBatchNorm2d({nn.BatchNorm2d(3, eps=1e-3).extra_repr()}, ghost_size=4)"
    )


@pytest.mark.parametrize("affine, track", [(True, True), (False, False), (True, False)])
def test_ghost_batch_norm_keeps_every_setting_of_nested_layers(affine, track):
    bn = nn.BatchNorm2d(3, eps=1e-3, momentum=0.3, affine=affine, track_running_stats=track)
    model = nn.Sequential(nn.Conv2d(1, 3, 1), nn.Sequential(nn.ReLU(), bn))
    ghost_batch_norm(model, 2)
    swapped = model[1][1]
    assert type(swapped) is GhostBatchNorm2d and swapped.ghost_size == 2
    settings = ("num_features", "eps", "momentum", "affine", "track_running_stats")
    assert [getattr(swapped, s) for s in settings] == [getattr(bn, s) for s in settings]
    with pytest.raises(ValueError, match=r"no nn\.BatchNorm2d"):  # a ghost is not swapped again
        ghost_batch_norm(model, 4)


def test_momentum_and_eps_reach_every_slice():
    g = torch.Generator().manual_seed(0)
    X = 2 * torch.randn(6, 3, 2, 2, generator=g, dtype=torch.float64) + 1
    kw = dict(eps=0.5, momentum=0.3, dtype=torch.float64)
    ghost, plain = GhostBatchNorm2d(3, ghost_size=3, **kw), nn.BatchNorm2d(3, **kw)
    y = ghost(X)
    torch.testing.assert_close(y, torch.cat([plain(part) for part in X.split(3)]))
    torch.testing.assert_close(ghost.running_mean, plain.running_mean)
    torch.testing.assert_close(ghost.running_var, plain.running_var)


@pytest.mark.parametrize("momentum", [None, -0.1, 1.5])
def test_momentum_must_be_a_number_in_the_unit_interval(momentum):
    match = (
        r"^momentum must be a number in \[0, 1\]: the cumulative average "
        r"\(momentum=None\) is not defined per slice$"
        if momentum is None
        else (rf"^momentum has to be between 0 and 1, but got {momentum}$")
    )
    with pytest.raises(ValueError, match=match):
        GhostBatchNorm2d(4, ghost_size=2, momentum=momentum)
    assert GhostBatchNorm2d(4, ghost_size=2, momentum=1.0).momentum == 1.0
