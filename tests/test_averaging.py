"""reglab.optim.averaging against torch.optim.swa_utils: SWA and EMA bit for bit, update_bn."""

import pytest
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, update_bn

from reglab.optim import WeightAverage, recompute_bn_stats


def _net(dtype=torch.float32):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)).to(dtype)


def _train_and_average(mine, theirs, model, steps=6):
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        X = torch.randn(16, 5, generator=g, dtype=model[0].weight.dtype)
        loss = model(X).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        mine.update_parameters(model)
        theirs.update_parameters(model)
        yield


def _assert_same(mine, theirs):
    for (name, a), b in zip(
        mine.module.state_dict().items(), theirs.module.state_dict().values(), strict=True
    ):
        assert a.dtype == b.dtype, name
        assert torch.equal(a, b), name


@pytest.mark.parametrize("use_buffers", [False, True])
def test_swa_bit_for_bit(use_buffers):
    model = _net()
    mine = WeightAverage(model, use_buffers=use_buffers)
    theirs = AveragedModel(model, use_buffers=use_buffers)
    for _ in _train_and_average(mine, theirs, model):
        _assert_same(mine, theirs)  # after every update, not only the last
    assert mine.n_averaged == int(theirs.n_averaged) == 6
    X = torch.randn(4, 5)
    assert torch.equal(mine.eval()(X), theirs.eval()(X))
    # and the average is not the last iterate
    assert not torch.equal(mine.module[0].weight, model[0].weight)


@pytest.mark.parametrize("use_buffers", [False, True])
@pytest.mark.parametrize("decay", [0.0, 0.5, 0.9, 0.999, 1.0])
def test_ema_bit_for_bit(use_buffers, decay):
    model = _net()
    mine = WeightAverage(model, decay=decay, use_buffers=use_buffers)
    theirs = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=use_buffers)
    for _ in _train_and_average(mine, theirs, model):
        _assert_same(mine, theirs)


def test_swa_is_the_mean_of_the_iterates_float64():
    model = _net(torch.float64)
    avg = WeightAverage(model)
    seen = []
    for _ in _train_and_average(avg, AveragedModel(model), model, steps=5):
        seen.append(model[0].weight.detach().clone())
    torch.testing.assert_close(avg.module[0].weight, torch.stack(seen).mean(0))


def test_ema_differs_from_swa():
    model = _net()
    swa, ema = WeightAverage(model), WeightAverage(model, decay=0.5)
    for _ in _train_and_average(swa, ema, model, steps=3):
        pass
    assert not torch.equal(swa.module[0].weight, ema.module[0].weight)


def test_buffers_follow_model_without_use_buffers():
    model = _net()
    avg = WeightAverage(model)
    for _ in _train_and_average(avg, WeightAverage(model), model, steps=3):
        pass
    assert torch.equal(avg.module[1].running_mean, model[1].running_mean)


@pytest.mark.parametrize("decay", [-0.1, 1.5, float("nan")])
def test_bad_decay(decay):
    with pytest.raises(ValueError, match=rf"decay has to be between 0 and 1, but got {decay}"):
        WeightAverage(_net(), decay=decay)


def test_decay_type():
    with pytest.raises(TypeError, match="decay"):
        WeightAverage(_net(), decay="0.9")


def _bn_net():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3),
        nn.BatchNorm2d(4, momentum=0.3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 6),
        nn.BatchNorm1d(6),
        nn.ReLU(),
        nn.Linear(6, 3),
    ).double()


def test_recompute_bn_stats_equals_update_bn():
    g = torch.Generator().manual_seed(0)
    # unequal batch sizes: a per-sample average would differ from the per-batch one
    batches = [
        (torch.randn(n, 2, 6, 6, generator=g, dtype=torch.float64) * 2 + 1,) for n in (8, 3, 5)
    ]
    mine, theirs = _bn_net(), _bn_net()
    for m in (mine, theirs):
        m.eval()
    recompute_bn_stats(batches, mine)
    update_bn(batches, theirs)
    for (name, a), b in zip(mine.state_dict().items(), theirs.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12, msg=name)
    assert int(mine[1].num_batches_tracked) == 3
    assert not mine.training and mine[1].momentum == 0.3  # mode and momentum restored
    X = batches[0][0]
    torch.testing.assert_close(mine(X), theirs(X), rtol=1e-12, atol=1e-12)


def test_recompute_bn_stats_changes_stale_stats():
    net = _bn_net()
    before = net[1].running_mean.clone()
    recompute_bn_stats([torch.randn(4, 2, 6, 6, dtype=torch.float64) + 3], net)
    assert not torch.allclose(net[1].running_mean, before)


def test_recompute_bn_stats_empty():
    with pytest.raises(ValueError, match="batches is empty"):
        recompute_bn_stats([], _bn_net())


def test_the_average_forwards_keyword_arguments():
    model = nn.Linear(3, 2)
    avg = WeightAverage(model)
    avg.update_parameters(model)
    X = torch.randn(4, 3)
    assert torch.equal(avg(input=X), model(input=X))


def test_recompute_bn_stats_names_a_bad_model():
    with pytest.raises(TypeError, match=r"^model must be an nn\.Module, got str$"):
        recompute_bn_stats([torch.zeros(2, 2)], "net")
    with pytest.raises(ValueError, match=r"^batches is empty: need at least one batch$"):
        recompute_bn_stats(iter([]), _bn_net())


def test_weight_average_names_a_bad_model():
    with pytest.raises(TypeError, match=r"^model must be an nn\.Module, got str$"):
        WeightAverage("net")


def test_a_model_of_another_shape_is_refused():
    # its parameters, or its buffers, do not pair one to one with the average's
    avg = WeightAverage(nn.Linear(3, 2))
    message = r"^model must have the averaged model's parameters: 2 tensors of shapes"
    with pytest.raises(ValueError, match=message + r".*got 4 of shapes"):
        avg.update_parameters(nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 2)))
    with pytest.raises(ValueError, match=message + r".*got 2 of shapes"):
        avg.update_parameters(nn.Linear(2, 3))  # as many tensors, other shapes
    extra = nn.Linear(3, 2)
    extra.register_buffer("extra", torch.zeros(1))
    for use_buffers in (False, True):  # buffers are averaged, or follow the model
        avg = WeightAverage(nn.Linear(3, 2), use_buffers=use_buffers)
        before = [p.clone() for p in avg.parameters()]
        with pytest.raises(ValueError, match=r"^model must have the averaged model's "
                           r"buffers: 0 tensors of shapes \[\], got 1 of shapes"):  # fmt: skip
            avg.update_parameters(extra)
        assert all(torch.equal(a, b) for a, b in zip(avg.parameters(), before, strict=True))
        assert avg.n_averaged == 0  # nothing was folded in


@pytest.mark.parametrize("n", [1, 2, 7])
def test_the_fused_swa_step_is_the_running_mean(n):
    # the path AveragedModel takes on accelerators, run here on the CPU: the same mean
    from reglab.optim.averaging import _swa_step

    g = torch.Generator().manual_seed(n)
    avg, cur = torch.randn(2, 5, generator=g, dtype=torch.float64)
    expected = avg + (cur - avg) / (n + 1)  # b_{n+1} = b_n + (theta - b_n) / (n + 1)
    torch.testing.assert_close(_swa_step(avg, cur, n, fused=True), expected, rtol=1e-14, atol=0)
    integer = torch.tensor([3, 8])  # integer buffers never take the fused path
    assert torch.equal(_swa_step(integer, integer + n + 1, n, fused=True), integer + 1)
