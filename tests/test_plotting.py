"""Figures: what each plot function draws, and clear errors for input it cannot draw."""

from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from reglab.batchnorm import RunningStats
from reglab.instrumentation import ActivationStats
from reglab.plotting import (
    plot_activation_histograms,
    plot_curves,
    plot_gaps,
    plot_running_stats,
    plot_std_by_depth,
    show_image,
    show_images,
)


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def _stats(std, grad_std=None, layers=3):
    return ActivationStats(
        names=[str(i) for i in range(layers)],
        mean=torch.zeros(layers),
        std=torch.tensor(std),
        grad_std=None if grad_std is None else torch.tensor(grad_std),
        samples=[torch.randn(50) for _ in range(layers)],
    )


def _trace(steps=4, C=2):
    values = torch.arange(steps * C, dtype=torch.float32).reshape(steps, C)
    return RunningStats(values, values + 1, values + 2, values + 3)


def test_std_by_depth_cuts_lines_at_the_first_overflow(ax):
    plot_std_by_depth({"a": _stats([1.0, 0.5, float("inf")]), "b": _stats([1.0, 2.0, 4.0])}, ax)
    a, b = ax.get_lines()
    assert a.get_xdata().tolist() == [1, 2] and b.get_xdata().tolist() == [1, 2, 3]
    assert b.get_ydata().tolist() == [1.0, 2.0, 4.0]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "layer"


def test_curves_plot_the_field_per_epoch(ax):
    history = SimpleNamespace(epoch=[1, 2, 3], test_acc=[0.5, 0.7, 0.8])
    plot_curves({"run": history}, ax, field="test_acc")
    (line,) = ax.get_lines()
    assert line.get_ydata().tolist() == [0.5, 0.7, 0.8]
    assert ax.get_ylabel() == "test accuracy"


def test_running_stats_draw_the_chosen_channel(ax):
    plot_running_stats({"m": _trace()}, ax, field="running_var", channel=1, target=3.0)
    dots, line = ax.get_lines()[:2]
    assert line.get_ydata().tolist() == [2.0, 4.0, 6.0, 8.0]  # running_var = values + 1
    assert dots.get_ydata().tolist() == [4.0, 6.0, 8.0, 10.0]  # batch_var = values + 3


def test_gaps_draw_one_bar_per_setting(ax):
    plot_gaps([{"setting": "a", "gap": 0.1, "gap_std": 0.01},
               {"setting": "b", "gap": 0.3, "gap_std": 0.02}], ax)  # fmt: skip
    assert [bar.get_height() for bar in ax.patches] == pytest.approx([0.1, 0.3])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda ax: plot_std_by_depth({}, ax), "stats is empty"),
        (lambda ax: plot_std_by_depth({"a": _stats([1.0] * 3)}, ax, field="mean"), "field must"),
        (lambda ax: plot_std_by_depth({"a": _stats([1.0] * 3)}, ax, field="grad_std"),
         r"runs \['a'\] have no grad_std"),
        (lambda ax: plot_curves({}, ax), "histories is empty"),
        (lambda ax: plot_curves({"r": SimpleNamespace(epoch=[1], train_loss=[1.0])}, ax,
                                field="val_acc"), "run 'r' has no values for field 'val_acc'"),
        (lambda ax: plot_running_stats({}, ax), "traces is empty"),
        (lambda ax: plot_running_stats({"m": _trace()}, ax, field="batch_var"), "field must"),
        (lambda ax: plot_running_stats({"m": _trace()}, ax, channel=2),
         r"channel must be in \[0, 1\], got 2"),
        (lambda ax: plot_gaps([], ax), "summary is empty"),
        (lambda ax: plot_gaps([{"setting": "a", "gap": 0.1}], ax), r"lack \['gap_std'\]"),
        (lambda ax: show_image(torch.zeros(2, 3, 4, 4), ax), r"\(H, W\) or \(1, H, W\)"),
    ],
)  # fmt: skip
def test_bad_input_is_a_clear_error(ax, call, match):
    with pytest.raises(ValueError, match=match):
        call(ax)


def test_histograms_need_matching_axes_and_layers():
    stats = {"a": _stats([1.0] * 3), "b": _stats([1.0] * 3)}
    fig, axes = plt.subplots(2, 2)
    try:
        plot_activation_histograms(stats, axes, [0, 2])
        assert all(len(ax.patches) > 0 for ax in axes.ravel())  # one histogram per panel
        assert axes[1, 1].get_xlabel() == "layer 3"
        with pytest.raises(ValueError, match=r"layers \[3\] out of range"):
            plot_activation_histograms(stats, axes, [0, 3])
        with pytest.raises(ValueError, match="layers is empty"):
            plot_activation_histograms(stats, axes, [])
        with pytest.raises(ValueError, match=r"axes must have shape \(2, 3\)"):
            plot_activation_histograms(stats, axes, [0, 1, 2])
        with pytest.raises(ValueError, match="stats is empty"):
            plot_activation_histograms({}, axes, [0])
    finally:
        plt.close(fig)


def test_show_images_needs_one_axis_and_label_per_image():
    fig, axes = plt.subplots(1, 3)
    try:
        show_images(torch.rand(3, 1, 5, 5), axes, labels=["a", "b", "c"])
        assert [ax.get_xlabel() for ax in axes] == ["a", "b", "c"]
        np.testing.assert_allclose(axes[0].images[0].get_array().shape, (5, 5))
        with pytest.raises(ValueError, match="got 2 images for 3 axes"):
            show_images(torch.rand(2, 1, 5, 5), axes)
        with pytest.raises(ValueError, match="got 2 labels for 3 images"):
            show_images(torch.rand(3, 1, 5, 5), axes, labels=["a", "b"])
    finally:
        plt.close(fig)
