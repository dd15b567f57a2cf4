"""Figures of the inputs-and-targets chapter: what each function draws, and clear errors."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from reglab.plotting.targets import plot_reliability, plot_template_projection, show_mixed_batch
from reglab.stats import reliability_curve


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
    ticks = ax.collections[0].get_offsets()
    np.testing.assert_allclose(ticks[:, 0], [0.3, 0.7, 0.9, 1.0], rtol=1e-6)
    assert ax.get_xlabel() == "confidence (max probability)" and ax.get_legend() is not None
    with pytest.raises(ValueError, match="outputs of reliability_curve"):
        plot_reliability(conf, acc[:-1], count, ax)


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
