"""The early-stopping figures of reglab.plotting draw what they are given."""

import matplotlib

matplotlib.use("Agg")
import pytest
import torch

from reglab.plotting.early_stopping import plot_filter_factors, plot_stopping, plot_weight_paths
from reglab.train import History


def test_plot_stopping_marks_only_the_rules_that_fired(ax):
    history = History(epoch=[1, 2, 3, 4], train_loss=[2.0, 1.0, 0.5, 0.2],
                      val_loss=[1.5, 1.0, 1.1, 1.2])  # fmt: skip
    plot_stopping(history, ax, stops={"GL_5": 3, "PQ_0.5": None}, kept=2)
    vertical = [line for line in ax.lines if line.get_label().endswith("stops")]
    assert [line.get_label() for line in vertical] == ["GL_5 stops"]
    assert list(vertical[0].get_xdata()) == [3, 3]
    kept = [line for line in ax.lines if line.get_label().startswith("kept")]
    assert list(kept[0].get_xdata()) == [2] and list(kept[0].get_ydata()) == [1.0]
    assert ax.get_yscale() == "log"


def test_plot_stopping_without_training_loss(ax):
    history = History(epoch=[1, 2], train_loss=[2.0, 1.0], val_loss=[1.5, 1.0])
    plot_stopping(history, ax, train=False, log=False)
    assert [line.get_label() for line in ax.lines] == ["validation loss"]
    assert ax.get_yscale() == "linear"


def test_plot_filter_factors_pairs_gd_with_ridge(ax):
    lams = torch.logspace(-2, 0, 5)
    plot_filter_factors(lams, {"gd 1": lams, "gd 2": lams}, {"r 1": lams, "r 2": lams}, ax)
    lines = ax.lines
    assert [line.get_linestyle() for line in lines] == ["-", "--", "-", "--"]
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    with pytest.raises(ValueError):
        plot_filter_factors(lams, {"gd": lams}, {"r 1": lams, "r 2": lams}, ax)


def test_plot_weight_paths_needs_2d_weights(ax):
    with pytest.raises(ValueError, match="2-D weights"):
        plot_weight_paths(torch.zeros(3, 3), torch.zeros(4, 2), ax)
    H = torch.tensor([[2.0, 0.0], [0.0, 0.5]], dtype=torch.float64)
    w_star = torch.tensor([1.0, 1.0], dtype=torch.float64)
    plot_weight_paths(torch.zeros(3, 2), torch.ones(4, 2) * 0.5, ax, hessian=H, optimum=w_star)
    labels = [line.get_label() for line in ax.lines]
    assert {"ridge path", "gradient descent", "$w^*$"} <= set(labels)
    assert len(ax.collections) == 1  # the contours (one ContourSet)


def test_plot_weight_paths_draws_whole_ellipses(ax):
    # an ill-conditioned Hessian: the outer ellipses reach far beyond the points shown
    H = torch.tensor([[1.25, 0.2], [0.2, 0.05]], dtype=torch.float64)
    w_star = torch.tensor([1.0, 1.5], dtype=torch.float64)
    trajectory = torch.linspace(0, 1, 20, dtype=torch.float64)[:, None] * w_star
    plot_weight_paths(trajectory, trajectory.flip(0), ax, hessian=H, optimum=w_star)
    (contours,) = ax.collections
    closed = 0
    for path in contours.get_paths():
        for segment in path.to_polygons(closed_only=False):
            assert abs(segment[0] - segment[-1]).max() < 1e-6  # no line ends at the grid
            closed += 1
    assert closed == 6
    (x_low, x_high), (y_low, y_high) = ax.get_xlim(), ax.get_ylim()
    assert x_low <= 0 and x_high >= 1 and y_low <= 0 and y_high >= 1.5  # points shown
