"""Figures of the inputs-and-targets chapter: what each function draws, and clear errors."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from reglab.plotting.targets import plot_reliability, plot_template_projection, show_mixed_batch
from reglab.stats import expected_calibration_error, reliability_curve


def test_reliability_draws_one_bar_per_filled_bin_at_its_accuracy(ax):
    probs = torch.tensor(
        [[0.3, 0.25, 0.25, 0.2], [0.7, 0.1, 0.1, 0.1], [0.1, 0.9, 0, 0], [0, 0, 0, 1.0]]
    )  # confidences 0.3, 0.7, 0.9 and 1: bins 1, 3, 4 of 5, and the bin {1}
    y = torch.tensor([1, 0, 1, 0])
    conf, acc, count = reliability_curve(probs, y, n_bins=5)
    plot_reliability(conf, acc, count, ax, label="model")
    bars = sorted(ax.patches, key=lambda p: p.get_x())
    assert len(bars) == 4
    np.testing.assert_allclose([b.get_x() for b in bars[:3]], [0.2, 0.6, 0.8])
    np.testing.assert_allclose([b.get_height() for b in bars], [0.0, 1.0, 1.0, 0.0])
    assert bars[3].get_x() < 1 < bars[3].get_x() + bars[3].get_width()  # thin bar at 1
    assert ax.get_xlabel() == "confidence (max probability)" and ax.get_legend() is not None
    with pytest.raises(ValueError, match="outputs of reliability_curve"):
        plot_reliability(conf, acc[:-1], count, ax)


def _mean_confidence_marks(ax):
    """(x_left, x_right, y) of each black mark labelled "mean confidence"."""
    (marks,) = [c for c in ax.collections if c.get_label() == "mean confidence"]
    return sorted((seg[0][0], seg[1][0], seg[0][1]) for seg in marks.get_segments())


def test_reliability_marks_each_bins_mean_confidence_across_its_bar(ax):
    """The mark sits at the bin's mean confidence on the y axis, across the bar, so the gap
    between the bar top (accuracy) and the mark is the bin's miscalibration."""
    probs = torch.tensor(
        [[0.3, 0.25, 0.25, 0.2], [0.7, 0.1, 0.1, 0.1], [0.1, 0.9, 0, 0], [0, 0, 0, 1.0]]
    )  # confidences 0.3, 0.7, 0.9 and 1: bins 1, 3, 4 of 5, and the bin {1}
    y = torch.tensor([1, 0, 1, 0])  # accuracies 0, 1, 1, 0
    conf, acc, count = reliability_curve(probs, y, n_bins=5)
    plot_reliability(conf, acc, count, ax)
    bars = sorted(ax.patches, key=lambda p: p.get_x())
    marks = _mean_confidence_marks(ax)
    assert len(marks) == len(bars) == 4  # one per filled bin, the bin {1} included
    for bar, (x0, x1, level), c in zip(bars, marks, [0.3, 0.7, 0.9, 1.0], strict=True):
        np.testing.assert_allclose([x0, x1], [bar.get_x(), bar.get_x() + bar.get_width()])
        np.testing.assert_allclose(level, c, rtol=1e-6)  # at the mean confidence ...
    heights = np.array([b.get_height() for b in bars])
    levels = np.array([m[2] for m in marks])
    assert (np.abs(heights - levels) > 0.05).all()  # ... not on the bar top (acc != conf)
    gaps = np.abs(heights - levels) * count[count > 0].numpy() / count.sum().item()
    np.testing.assert_allclose(gaps.sum(), expected_calibration_error(probs, y, n_bins=5))


def test_reliability_leaves_an_empty_bin_at_one_out(ax):
    probs = torch.tensor([[0.6, 0.4], [0.2, 0.8], [0.95, 0.05]])  # no confidence of 1
    conf, acc, count = reliability_curve(probs, torch.tensor([0, 0, 0]), n_bins=10)
    assert count[-1] == 0
    plot_reliability(conf, acc, count, ax)
    assert len(ax.patches) == len(_mean_confidence_marks(ax)) == 3
    assert all(p.get_x() + p.get_width() <= 1 for p in ax.patches)


def test_show_mixed_batch_writes_the_soft_labels():
    fig, axes = plt.subplots(1, 3)
    images = torch.rand(3, 1, 4, 4)
    targets = torch.tensor([[0.7, 0.3, 0.0], [0.0, 0.0, 1.0], [0.25, 0.0, 0.75]])
    show_mixed_batch(images, targets, axes)
    assert [a.get_xlabel() for a in axes] == ["0.70·0\n0.30·1", "1.00·2", "0.75·2\n0.25·0"]
    np.testing.assert_allclose(axes[0].images[0].get_array(), images[0, 0].numpy())
    show_mixed_batch(images, torch.tensor([4, 5, 6]), axes)
    assert axes[2].get_xlabel() == "6"
    with pytest.raises(ValueError, match="they must match"):
        show_mixed_batch(images, targets[:2], axes)
    plt.close(fig)


def test_template_projection_plot_draws_each_class(ax):
    coords = torch.tensor([[0.0, 0], [1, 1], [2, 2], [3, 3], [4, 4]])
    y = torch.tensor([0, 1, 0, 2, 2])
    plot_template_projection(coords, y, ax, max_points=1)
    assert [len(c.get_offsets()) for c in ax.collections] == [1, 1, 1]
    np.testing.assert_allclose(ax.collections[2].get_offsets(), [[3.0, 3.0]])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1", "class 2"]
    with pytest.raises(ValueError, match=r"coords must be \(N, 2\)"):
        plot_template_projection(coords[:, :1], y, ax)
