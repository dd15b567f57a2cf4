"""
=====================================================
Label smoothing, calibration and mixed digits
=====================================================

Trains the same small MLP on MNIST with plain cross-entropy and with label smoothing,
compares the logit gap with its optimum :math:`\\log((1-\\varepsilon+\\varepsilon/K) /
(\\varepsilon/K))`, measures test accuracy, NLL and expected calibration error, draws both
reliability diagrams, and shows a batch of digits mixed by mixup and CutMix with their soft
labels.

The chapter :doc:`/chapters/inputs_targets` derives and discusses what this script shows.

Run it with ``python examples/inputs_targets.py`` (the gallery shows its output).
``REGLAB_QUICK=1`` runs a tiny version.
"""

# Authors: The reglab developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Settings
# --------
from reglab import environment

QUICK = environment.flag("REGLAB_QUICK")
n_per_class = 20 if QUICK else 100
num_epochs = 2 if QUICK else 20
eps = 0.1

# %%
# Data
# ----
import torch

from reglab.data import balanced_subset, mnist_tensors

X_all, y_all = mnist_tensors(train=True)
X_test, y_test = mnist_tensors(train=False)
idx = balanced_subset(y_all, n_per_class, generator=torch.Generator().manual_seed(0))
X_train, y_train = X_all[idx], y_all[idx]
print(f"training on {len(X_train):,} digits, testing on {len(X_test):,}")

# %%
# Plain and label-smoothed training
# ---------------------------------
# The same initialization, batch order and budget for both; only the loss differs.
import functools

from reglab.inspection import features_and_logits
from reglab.nn import functional as RF
from reglab.nn import logit_gap, optimal_logit_gap
from reglab.stats import probabilistic_scores, reliability_curve
from reglab.train import forked_rng, mlp, train

curves = {}
for smoothing in (0.0, eps):
    with forked_rng(0):
        model = mlp((128,))
    loss = functools.partial(RF.cross_entropy, label_smoothing=smoothing)
    train(model, (X_train, y_train), loss=loss, lr=0.1, num_epochs=num_epochs,
          batch_size=50, seed=0, device="cpu", evaluate_train=False)  # fmt: skip
    _, z_train = features_and_logits(model, X_train)
    _, z_test = features_and_logits(model, X_test)
    scores = probabilistic_scores(z_test, y_test)
    gap = logit_gap(z_train, y_train).median().item()
    print(f"ε = {smoothing}: median logit gap {gap:.2f} (optimum "
          f"{optimal_logit_gap(smoothing, 10):.2f}); test accuracy {scores['accuracy']:.2%}, "
          f"NLL {scores['nll']:.4f}, ECE {scores['ece']:.4f}")  # fmt: skip
    curves[f"ε = {smoothing}, ECE {scores['ece']:.3f}"] = reliability_curve(
        z_test.softmax(1), y_test
    )

# %%
# Reliability diagrams
# --------------------
import matplotlib.pyplot as plt

from reglab.plotting.targets import plot_reliability

fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharey=True)
for ax, (label, curve), color in zip(axes, curves.items(), ("C0", "C1"), strict=True):
    plot_reliability(*curve, ax, label=label, color=color)

# %%
# Mixed digits
# ------------
# ``reglab.data.mixing`` draws exactly what ``torchvision.transforms.v2.MixUp``/``CutMix`` draw
# for the same seed; each digit is mixed with its left neighbour (the first with the last).
from reglab.data import cutmix, mixup
from reglab.plotting.targets import show_mixed_batch

X8, y8 = X_train[:8], y_train[:8]
fig, axes = plt.subplots(3, 8, figsize=(11, 5.6))
show_mixed_batch(X8, y8, axes[0])
g = torch.Generator().manual_seed(3)
show_mixed_batch(*mixup(X8, y8, alpha=1.0, num_classes=10, generator=g), axes[1])
show_mixed_batch(*cutmix(X8, y8, alpha=1.0, num_classes=10, generator=g), axes[2])
for ax, name in zip(axes[:, 0], ["original", "mixup", "CutMix"], strict=True):
    ax.set_ylabel(name)
plt.show()
