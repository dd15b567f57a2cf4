"""Figures of seeded comparisons: every seed is drawn, means are where they should be."""

from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from reglab.plotting.curves import plot_run_curves
from reglab.plotting.images import set_color_limits, show_image
from reglab.plotting.seeds import plot_paired_differences, plot_seed_dots, plot_seed_sweep
from reglab.stats import paired_difference
from reglab.train import History


def _points(ax):
    """All (x, y) points of the lines drawn with a marker and no line (the dots)."""
    pts = []
    for line in ax.lines:
        if line.get_linestyle() == "None":
            pts += list(zip(line.get_xdata(), line.get_ydata(), strict=True))
    return sorted((float(x), float(y)) for x, y in pts)


def test_seed_sweep_draws_every_seed_and_a_line_through_the_means(ax):
    plot_seed_sweep({0.1: [0.2, 0.4], 1.0: [0.6, 0.9]}, ax, label="a")
    assert _points(ax) == [(0.1, 0.2), (0.1, 0.4), (1.0, 0.6), (1.0, 0.9)]
    mean_line = ax.lines[0]
    np.testing.assert_allclose(mean_line.get_ydata(), [0.3, 0.75])
    assert mean_line.get_label() == "a"


def test_seed_dots_draw_one_column_per_group_and_the_mean(ax):
    plot_seed_dots({"none": [0.8, 0.9, 1.0], "all": [0.5, 0.7, 0.6]}, ax, ylabel="acc")
    assert _points(ax) == sorted([(0, 0.8), (0, 0.9), (0, 1.0), (1, 0.5), (1, 0.7), (1, 0.6)])
    bars = [line for line in ax.lines if line.get_linestyle() != "None"]
    np.testing.assert_allclose([b.get_ydata()[0] for b in bars], [0.9, 0.6])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["none", "all"]
    assert ax.get_ylabel() == "acc"
    with pytest.raises(ValueError, match="2 colors for 1 groups"):
        plot_seed_dots({"a": [1.0]}, ax, colors=["C0", "C1"])


def test_paired_differences_show_every_seed_the_mean_and_the_interval(ax):
    d = paired_difference([0.9, 0.8, 0.85], [0.8, 0.82, 0.8])
    plot_paired_differences({"a - b": d, "same": paired_difference([1, 2], [1.5, 2.5])}, ax,
                            xlabel="accuracy difference")  # fmt: skip
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [d.low, d.high])
    np.testing.assert_allclose(ax.lines[1].get_xdata(), d.differences)
    np.testing.assert_allclose(ax.lines[2].get_xdata(), [d.mean])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a - b", "same"]
    assert ax.yaxis_inverted()  # the first comparison on top
    assert any(list(line.get_xdata()) == [0, 0] for line in ax.lines)  # the zero line
    assert ax.get_xlabel() == "accuracy difference"
    with pytest.raises(ValueError, match="differences is empty"):
        plot_paired_differences({}, ax, xlabel="x")


def test_run_curves_draw_each_run_and_mark_its_best_epoch(ax):
    runs = [  # what plot_run_curves reads of a RunResult
        SimpleNamespace(history=History(epoch=[1, 2, 3], val_acc=[0.5, 0.7, 0.6]), best_epoch=2),
        SimpleNamespace(history=History(epoch=[1, 2], val_acc=[0.4, 0.8]), best_epoch=None),
    ]
    plot_run_curves(runs, ax, color="C3")
    assert len(ax.lines) == 3  # two curves, one best-epoch dot
    assert (list(ax.lines[1].get_xdata()), list(ax.lines[1].get_ydata())) == ([2], [0.7])
    with pytest.raises(ValueError, match="no values for field 'test_acc'"):
        plot_run_curves(runs, ax, field="test_acc")


def test_color_limits_are_shared_by_every_image():
    fig, axes = plt.subplots(1, 2)
    show_image(torch.rand(4, 4), axes[0])
    show_image(5 * torch.rand(4, 4), axes[1])
    set_color_limits(axes, 0, 5)
    assert [ax.images[0].get_clim() for ax in axes] == [(0, 5), (0, 5)]
    with pytest.raises(ValueError, match="vmin must be smaller than vmax"):
        set_color_limits(axes, 1, 1)
    plt.close(fig)
