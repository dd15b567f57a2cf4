"""
==========================================================
Weight initialization: activation statistics through depth
==========================================================

A 50-layer MLP receives a batch of MNIST digits. For four initializers and two
nonlinearities, forward hooks record the standard deviation of every hidden layer's
output and of the gradient with respect to it. In the ReLU network, Kaiming's
initialization keeps the signal flat; Xavier's shrinks it by about 1/sqrt(2) per layer;
a normal initialization with std 1 explodes until it overflows and one with std 0.01
vanishes until it underflows (the figures mark those layers on the axes' edges). The
book's chapter *Weight initialization* checks each of these statements.

Run it with ``python examples/initialization.py`` (the gallery shows its output).
``REGLAB_QUICK=1`` runs a tiny version.

The chapter :doc:`/chapters/initialization` derives and discusses what this script shows.
"""

# Authors: The reglab developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Settings
# --------
from reglab import environment

QUICK = environment.flag("REGLAB_QUICK")
depth, width, batch = (6, 32, 64) if QUICK else (50, 256, 512)

# %%
# Record per-layer statistics
# ---------------------------
import torch

from reglab.data import mnist_tensors
from reglab.inspection import activation_stats
from reglab.nn.init import INITIALIZERS, init_weights_
from reglab.train import deep_mlp

X, y = mnist_tensors(train=True)
X, y = X[:batch], y[:batch]  # (N, 1, 28, 28), (N,)

stats = {}
for nonlinearity in ["tanh", "relu"]:
    for name in INITIALIZERS:
        torch.manual_seed(0)
        model = init_weights_(deep_mlp(depth, width, nonlinearity), name, nonlinearity)
        stats[nonlinearity, name] = activation_stats(model, X, y)
        s = stats[nonlinearity, name].std
        print(f"{nonlinearity:5} {name:16} std layer 1: {s[0]:.3g}  layer {depth}: {s[-1]:.3g}")

# %%
# Plot activation and gradient std against depth
# ----------------------------------------------
import matplotlib.pyplot as plt

from reglab.plotting.activations import plot_activation_histograms, plot_std_by_depth

fig, axes = plt.subplots(2, 2, figsize=(11, 7))
for row, field in zip(axes, ["std", "grad_std"], strict=True):
    for ax, nonlinearity in zip(row, ["tanh", "relu"], strict=True):
        plot_std_by_depth({n: stats[nonlinearity, n] for n in INITIALIZERS}, ax, field=field)
        ax.set_xlabel(f"layer ({nonlinearity} network)")
fig.tight_layout()

shown = [0, depth // 4, depth // 2, depth - 1]
fig, axes = plt.subplots(len(INITIALIZERS), len(shown), figsize=(9, 5.5))
plot_activation_histograms({n: stats["tanh", n] for n in INITIALIZERS}, axes, shown)
fig.tight_layout()
plt.show()
