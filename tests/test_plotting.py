"""Figures: what each plot function draws, and clear errors for input it cannot draw."""

from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from reglab.inspection import ActivationStats
from reglab.nn import RunningStats
from reglab.plotting.activations import plot_activation_histograms, plot_std_by_depth
from reglab.plotting.batchnorm import plot_running_stats
from reglab.plotting.curves import plot_seed_curves
from reglab.plotting.images import show_image, show_images
from reglab.plotting.seeds import plot_paired_seeds, plot_sweep


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


def _edge_markers(ax, marker):
    """(x, y in axes coordinates) of the markers of one kind drawn on an edge."""
    return [
        (x, y)
        for line in ax.get_lines()
        if line.get_marker() == marker and line.get_linestyle() == "None"
        for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True)
    ]


def test_std_by_depth_breaks_lines_and_marks_overflow_and_underflow(ax):
    stats = {
        "a": _stats([1.0, float("inf"), 0.5, float("nan")], layers=4),
        "b": _stats([1.0, 0.0, 4.0], layers=3),
        "c": _stats([1.0, 2.0, 4.0]),
    }
    plot_std_by_depth(stats, ax)
    a, b, c = [line for line in ax.get_lines() if line.get_label() in stats]
    assert a.get_xdata().tolist() == [1, 2, 3, 4]  # every layer, the bad ones as gaps
    assert np.isnan(a.get_ydata()[[1, 3]]).all() and a.get_ydata()[2] == 0.5
    assert np.isnan(b.get_ydata()[1]) and c.get_ydata().tolist() == [1.0, 2.0, 4.0]
    assert _edge_markers(ax, "^") == [(2, 1.0), (4, 1.0)]  # overflow: top edge
    assert _edge_markers(ax, "v") == [(2, 0.0)]  # underflow: bottom edge
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["a", "b", "c", "overflow (inf/nan), at the top edge",
                      "underflow (0), at the bottom edge"]  # fmt: skip
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "layer"


def test_std_by_depth_without_bad_values_has_no_edge_markers(ax):
    plot_std_by_depth({"a": _stats([1.0, 0.5, 0.25])}, ax)
    assert _edge_markers(ax, "^") == [] and _edge_markers(ax, "v") == []
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a"]


def test_std_by_depth_show_keeps_each_runs_colour(ax):
    stats = {"a": _stats([1.0] * 3), "b": _stats([2.0] * 3), "c": _stats([3.0] * 3)}
    plot_std_by_depth(stats, ax, show=["c"])
    (line,) = ax.get_lines()
    assert line.get_label() == "c" and line.get_color() == "C2"


def test_seed_curves_one_colour_per_setting_and_overflow_marked(ax):
    h = lambda losses: SimpleNamespace(epoch=[1, 2, 3], train_loss=losses)  # noqa: E731
    runs = {"x": [h([2.0, 1.0, 0.5]), h([2.0, 1.5, 1.0])], "y": [h([float("nan")] * 3)]}
    plot_seed_curves(runs, ax)
    lines = [line for line in ax.get_lines() if line.get_linestyle() != "None"]
    assert [line.get_color() for line in lines] == ["C0", "C0", "C1"]
    assert lines[1].get_ydata().tolist() == [2.0, 1.5, 1.0]
    assert _edge_markers(ax, "^") == [(1, 1.0), (2, 1.0), (3, 1.0)]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["x (2 seeds)", "y (1 seeds)", "overflow (inf/nan), at the top edge"]


def test_paired_seeds_dots_lines_and_means(ax):
    plot_paired_seeds({"a": [1.0, 2.0, 3.0], "b": [2.0, 2.5, 6.0]}, ax, ylabel="loss")
    lines = ax.get_lines()
    joins = [line for line in lines if line.get_color() == "0.75"]
    assert [line.get_ydata().tolist() for line in joins] == [[1.0, 2.0], [2.0, 2.5], [3.0, 6.0]]
    dots = [line for line in lines if line.get_marker() == "o"]
    assert [line.get_ydata().tolist() for line in dots] == [[1.0, 2.0, 3.0], [2.0, 2.5, 6.0]]
    means = [line.get_ydata()[0] for line in lines if line.get_color() == "k"]
    assert means == pytest.approx([2.0, 3.5])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]


def test_sweep_puts_zero_at_the_left_edge_and_averages_the_seeds(ax):
    table = torch.tensor([[1.0, 0.5, 0.8], [3.0, 1.5, 1.2]])  # (seeds, lambdas)
    plot_sweep([0.0, 1e-3, 1e-2], {"val": table}, ax, chosen=1e-3)
    mean = [line for line in ax.get_lines() if line.get_label().startswith("val")]
    assert mean[0].get_xdata().tolist() == pytest.approx([1e-4, 1e-3, 1e-2])
    assert mean[0].get_ydata().tolist() == pytest.approx([2.0, 1.0, 1.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "0.001", "0.01"]
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert dashed[0].get_xdata()[0] == pytest.approx(1e-3)
    assert ax.get_xscale() == "log"


def test_running_stats_draw_the_chosen_channel(ax):
    plot_running_stats({"m": _trace()}, ax, field="running_var", channel=1, target=3.0)
    dots, line = ax.get_lines()[:2]
    assert line.get_ydata().tolist() == [2.0, 4.0, 6.0, 8.0]  # running_var = values + 1
    assert dots.get_ydata().tolist() == [4.0, 6.0, 8.0, 10.0]  # batch_var = values + 3


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda ax: plot_std_by_depth({}, ax), "stats is empty"),
        (lambda ax: plot_std_by_depth({"a": _stats([1.0] * 3)}, ax, show=["z"]),
         r"show names runs \['z'\]"),
        (lambda ax: plot_seed_curves({}, ax), "runs is empty"),
        (lambda ax: plot_seed_curves({"x": []}, ax), "setting 'x' has no runs"),
        (lambda ax: plot_seed_curves({"x": [SimpleNamespace(epoch=[1], train_loss=[])]}, ax),
         "no values for field 'train_loss'"),
        (lambda ax: plot_paired_seeds({}, ax, ylabel="y"), "values is empty"),
        (lambda ax: plot_paired_seeds({"a": [1.0], "b": [1.0, 2.0]}, ax, ylabel="y"),
         "same, non-zero number of seeds"),
        (lambda ax: plot_sweep([0.0, 0.1], {}, ax), "values is empty"),
        (lambda ax: plot_sweep([0.1, 0.01], {"v": torch.zeros(1, 2)}, ax), "increasing"),
        (lambda ax: plot_sweep([0.0], {"v": torch.zeros(1, 1)}, ax), "needs a positive"),
        (lambda ax: plot_sweep([0.0, 0.1], {"v": torch.zeros(1, 3)}, ax),
         r"must have shape \(seeds, 2\)"),
        (lambda ax: plot_sweep([0.0, 0.1], {"v": torch.zeros(1, 2)}, ax, chosen=0.5),
         "chosen must be one of"),
        (lambda ax: plot_std_by_depth({"a": _stats([1.0] * 3)}, ax, field="mean"), "field must"),
        (lambda ax: plot_std_by_depth({"a": _stats([1.0] * 3)}, ax, field="grad_std"),
         r"runs \['a'\] have no grad_std"),
        (lambda ax: plot_running_stats({}, ax), "traces is empty"),
        (lambda ax: plot_running_stats({"m": _trace()}, ax, field="batch_var"), "field must"),
        (lambda ax: plot_running_stats({"m": _trace()}, ax, channel=2),
         r"channel must be in \[0, 1\], got 2"),
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
