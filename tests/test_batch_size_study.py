"""small_cnn's norm option, the batch-size study and its figures."""

import copy
import dataclasses
import statistics
from dataclasses import replace

import matplotlib
import pytest
import torch
from torch import nn

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from reglab.nn import shared_stats_mask
from reglab.plotting.normalization import plot_batch_size_study, plot_stats_cube
from reglab.stats import by_seed
from reglab.studies.normalization import (
    BatchSizeConfig,
    BatchSizeRun,
    accuracy_with_batch_statistics,
    draw_data,
    run_batch_size_study,
)
from reglab.train import History, small_cnn


@pytest.mark.parametrize(
    "norm, conv_type",
    [("batch", nn.BatchNorm2d), ("group", nn.GroupNorm), ("layer", nn.GroupNorm)],
)
def test_small_cnn_norm_option_builds_the_named_layers(norm, conv_type):
    model = small_cnn((4, 8), hidden=16, norm=norm, num_groups=2)
    types = [type(m) for m in model]
    assert types[1] is conv_type and types[5] is conv_type
    # the classifier is never normalized: Flatten, Linear, ReLU, Linear
    assert types[8:] == [nn.Flatten, nn.Linear, nn.ReLU, nn.Linear]
    assert model[0].bias is None and model[4].bias is None  # the norm's shift replaces it
    assert model[9].bias is not None
    groups = {"batch": None, "group": 2, "layer": 1}[norm]
    assert getattr(model[1], "num_groups", None) == groups
    assert [type(m) for m in small_cnn(batch_norm=True)] == [
        type(m) for m in small_cnn(norm="batch")
    ]


@pytest.mark.parametrize("norm", ["group", "layer"])
def test_group_and_layer_norm_cnns_treat_each_sample_alone_in_training_mode(norm):
    torch.manual_seed(0)
    model = small_cnn((4, 8), hidden=16, norm=norm).train()
    X = torch.randn(5, 1, 28, 28)
    torch.testing.assert_close(model(X)[:1], model(X[:1]))  # one sample is fine, too
    torch.manual_seed(0)
    bn = small_cnn((4, 8), hidden=16, norm="batch").train()
    # batch norm does not: one image alone is silently normalized over its own H x W
    assert not torch.allclose(bn(X)[:1], bn(X[:1]))


def test_small_cnn_rejects_unknown_or_contradictory_norms():
    with pytest.raises(ValueError, match="norm must be one of"):
        small_cnn(norm="instance")
    with pytest.raises(ValueError, match="contradicts"):
        small_cnn(batch_norm=True, norm="group")


def test_accuracy_with_batch_statistics_normalizes_each_batch_and_keeps_the_buffers():
    torch.manual_seed(0)
    model = small_cnn((4, 8), hidden=16, batch_norm=True)
    model.train()
    for _ in range(3):
        model(torch.randn(16, 1, 28, 28))  # buffers away from their initial values
    model.eval()
    X = torch.randn(10, 1, 28, 28)
    reference = copy.deepcopy(model).train()
    with torch.no_grad():  # batches of 4, 4 and 2, each normalized with its own statistics
        logits = torch.cat([reference(X[:4]), reference(X[4:8]), reference(X[8:])])
    y = logits.argmax(1)
    y[-1] = (y[-1] + 1) % 10  # one wrong, in the short last batch: 9 of 10 right
    before = copy.deepcopy(model.state_dict())
    acc = accuracy_with_batch_statistics(model, X, y, batch_size=4)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    assert not model.training
    assert acc == pytest.approx(0.9)
    for bad in (1, 3):  # a batch of one; 10 = 3 + 3 + 3 + 1
        with pytest.raises(ValueError, match="batch_size must be >= 2"):
            accuracy_with_batch_statistics(model, X, y, batch_size=bad)


def _toy_data(n, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 10
    X = torch.randn(n, 1, 28, 28, generator=g) * 0.3 + y.view(-1, 1, 1, 1) / 10
    return X, y


def _tiny_config(**kwargs):
    tiny = dict(norms=("batch", "group"), batch_sizes=(2, 4), seeds=(0, 1), channels=(4, 4),
                hidden=8, num_groups=2, per_class=2, val_per_class=2, num_epochs=4,
                patience=1)  # fmt: skip
    return dataclasses.replace(BatchSizeConfig(), **{**tiny, **kwargs})


def _toy_pool(per_class=5, seed=0):
    return _toy_data(10 * per_class, seed)


def test_batch_size_study_runs_are_deterministic_and_leave_the_global_rng_alone():
    pool, test_data = _toy_pool(), _toy_data(10, 1)
    config = _tiny_config()
    state = torch.get_rng_state()
    rows = run_batch_size_study(config, pool, test_data)
    assert torch.equal(torch.get_rng_state(), state)
    assert rows == run_batch_size_study(config, pool, test_data)
    assert [(r.norm, r.batch_size, r.seed) for r in rows] == [
        (n, B, s) for n in config.norms for B in config.batch_sizes for s in config.seeds
    ]
    for row in rows:
        assert row.lr == pytest.approx(config.lr_32 * row.batch_size / 32)  # linear scaling
        assert row.steps == 20 // row.batch_size
        assert 1 <= row.best_epoch <= len(row.history.epoch) <= config.num_epochs
        assert row.train_acc == max(row.history.train_acc)
        batch_norm = row.norm == "batch"
        assert (row.val_acc_batch_stats is not None) == batch_norm
        assert (row.val_acc_recalibrated is not None) == batch_norm
    with pytest.raises(ValueError, match="a last batch of one sample"):
        run_batch_size_study(_tiny_config(batch_sizes=(19,)), pool, test_data)  # 20 = 19 + 1


def test_every_norm_of_a_seed_sees_the_same_digits_and_starts_from_shared_weights():
    pool, test_data = _toy_pool(), _toy_data(10, 1)
    config = _tiny_config(num_epochs=1, batch_sizes=(2,))
    seen = {}

    def spy(original):
        def wrapped(model, train_data, **kwargs):
            seen[len(seen)] = (train_data[0].clone(), model[0].weight.detach().clone())
            return original(model, train_data, **kwargs)

        return wrapped

    import reglab.studies.normalization as study_module

    original = study_module.train
    study_module.train = spy(original)
    try:
        run_batch_size_study(config, pool, test_data)
    finally:
        study_module.train = original
    (bn0, bn1, gn0, gn1) = (seen[k] for k in range(4))  # batch s0, s1; group s0, s1
    for a, b in ((bn0, gn0), (bn1, gn1)):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(bn0[0], bn1[0])  # another seed draws other digits


def test_the_study_trains_with_the_configs_learning_rate():
    pool, test_data = _toy_pool(), _toy_data(10, 1)
    config = _tiny_config(norms=("group",), batch_sizes=(4,))
    base = run_batch_size_study(config, pool, test_data)
    faster = run_batch_size_study(replace(config, lr_32=2 * config.lr_32), pool, test_data)
    assert [r.lr for r in faster] == pytest.approx([2 * r.lr for r in base])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(seeds=()), "seeds must be distinct"),
        (dict(batch_sizes=(2, 2)), "batch_sizes must be distinct"),
        (dict(batch_sizes=(1, 2)), "batch_sizes must be >= 2"),
        (dict(per_class=0), "per_class must be an integer >= 1"),
        (dict(patience=0), "patience must be an integer >= 1"),
        (dict(lr_32=0.0), "lr_32 must be > 0"),
    ],
)
def test_batch_size_config_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BatchSizeConfig(**kwargs)


def test_draw_data_takes_the_configured_numbers_of_digits_per_seed():
    X, y = torch.arange(200.0).view(200, 1, 1, 1), torch.arange(200) % 10
    config = dataclasses.replace(BatchSizeConfig(), per_class=3, val_per_class=2)
    (X_tr, y_tr), (X_va, y_va) = draw_data(config, (X, y), seed=0)
    assert torch.bincount(y_tr).tolist() == [3] * 10
    assert torch.bincount(y_va).tolist() == [2] * 10
    assert torch.equal(y_tr, y[X_tr.flatten().long()])
    assert not set(X_tr.flatten().tolist()) & set(X_va.flatten().tolist())  # disjoint
    assert torch.equal(draw_data(config, (X, y), seed=0)[0][0], X_tr)  # seeded
    assert not torch.equal(draw_data(config, (X, y), seed=1)[0][0], X_tr)


def _run(norm, B, seed, acc):
    return BatchSizeRun(norm=norm, batch_size=B, seed=seed, lr=0.1, steps=1,
                        history=History(), test_acc=acc, val_acc=acc)  # fmt: skip


def test_plot_batch_size_study_draws_the_means_and_every_seed():
    rows = [_run(n, B, s, 0.1 * s + B / 100 + (n == "batch"))
            for n in ("batch", "group") for B in (2, 32) for s in range(3)]  # fmt: skip
    fig, ax = plt.subplots()
    assert plot_batch_size_study(rows, ax) is ax
    assert len(ax.lines) == 2 and len(ax.collections) == 2
    for line, norm in zip(ax.lines, ("batch", "group"), strict=True):
        expected = [
            statistics.mean(by_seed(rows, "test_acc", norm=norm, batch_size=B)) for B in (2, 32)
        ]
        assert list(line.get_ydata()) == pytest.approx(expected)
    assert all(len(c.get_offsets()) == 6 for c in ax.collections)
    plt.close(fig)
    fig, ax = plt.subplots()  # a field that only batch norm has: one line
    rows = [dataclasses.replace(r, val_acc_recalibrated=0.5) if r.norm == "batch" else r
            for r in rows]  # fmt: skip
    plot_batch_size_study(rows, ax, field="val_acc_recalibrated")
    assert len(ax.lines) == 1 and list(ax.lines[0].get_ydata()) == [0.5, 0.5]
    plt.close(fig)


def test_plot_stats_cube_shades_exactly_the_mask():
    mask = shared_stats_mask("group", (3, 4, 2, 1), num_groups=2)
    fig = plt.figure()
    ax = fig.add_subplot(projection="3d")
    assert plot_stats_cube(mask, ax, color="red") is ax
    faces = [c.get_facecolor() for c in ax.collections]  # one Poly3DCollection per voxel
    red = [bool((f[:, 0] > f[:, 1] + 0.2).all()) for f in faces]  # lit red, never grey
    assert len(faces) == mask.numel() and sum(red) == int(mask.sum())
    plt.close(fig)
