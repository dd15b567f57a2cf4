"""
==================================================
L1 and L2 regularization: a sweep of the penalty
==================================================

Multinomial logistic regression on a small MNIST subset, trained with
``SGD(weight_decay=λ)`` (L2) and with ``ProximalSGD(l1=λ)`` (L1, exact zeros) for a range
of strengths. Prints the sweep table and saves the accuracy-versus-λ figure and the
learned weight templates.

Run it with ``python examples/weight_decay.py``; figures are written to
``examples/output/`` (or ``$REGLAB_OUTPUT``). ``REGLAB_QUICK=1`` runs a tiny version.
"""

# Authors: The reglab developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Settings
# --------
from reglab import environment

QUICK = environment.flag("REGLAB_QUICK")
OUT = environment.path("REGLAB_OUTPUT", "examples/output")
n_train, num_epochs = (200, 3) if QUICK else (1000, 60)
lambdas = [0.0, 1e-3, 1e-2] if QUICK else [0.0, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]

# %%
# The sweep
# ---------
import torch
from torch import nn

from reglab.data import mnist_tensors
from reglab.optimizers import ProximalSGD
from reglab.tables import Table
from reglab.training import train

X_train, y_train = mnist_tensors(train=True)
X_test, y_test = mnist_tensors(train=False)
train_data = (X_train[:n_train], y_train[:n_train])
test_data = (X_test[:5000], y_test[:5000])

runs = {}
for kind in ["L2", "L1"]:
    for lam in lambdas:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
        if kind == "L2":
            optimizer = torch.optim.SGD(model.parameters(), lr=0.5, weight_decay=lam)
        else:
            optimizer = ProximalSGD(model.parameters(), lr=0.5, l1=lam)
        history = train(model, train_data, test_data=test_data, optimizer=optimizer,
                        num_epochs=num_epochs, batch_size=100, seed=0)  # fmt: skip
        runs[kind, lam] = (history, model[1].weight.detach().cpu())

rows = [
    [kind, lam, h.train_acc[-1], h.test_acc[-1], h.gap, (W == 0).float().mean().item()]
    for (kind, lam), (h, W) in runs.items()
]
print(Table(["penalty", "λ", "train acc", "test acc", "gap", "exact zeros"], rows, ".3g"))

# %%
# Figures
# -------
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

OUT.mkdir(parents=True, exist_ok=True)
xs = [1e-5, *lambdas[1:]]  # λ = 0 at the left edge of the log axis
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
for ax, kind in zip(axes, ["L2", "L1"], strict=True):
    ax.semilogx(xs, [runs[kind, lam][0].train_acc[-1] for lam in lambdas], "o-", label="train")
    ax.semilogx(xs, [runs[kind, lam][0].test_acc[-1] for lam in lambdas], "o-", label="test")
    ax.set_xlabel(f"λ ({kind}; leftmost point: λ = 0)")
    ax.legend()
axes[0].set_ylabel("accuracy")
fig.savefig(OUT / "weight_decay_sweep.png", dpi=150, bbox_inches="tight")

fig, axes = plt.subplots(2, 10, figsize=(10, 2.4))
for row, key in zip(axes, [("L2", lambdas[-1]), ("L1", lambdas[2])], strict=True):
    W = runs[key][1]
    for digit, ax in enumerate(row):
        ax.imshow(W[digit].view(28, 28), cmap="RdBu_r", vmin=-W.abs().max(), vmax=W.abs().max())
        ax.axis("off")
fig.savefig(OUT / "weight_decay_templates.png", dpi=150, bbox_inches="tight")
print(f"figures written to {OUT}/")
