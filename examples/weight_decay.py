"""
==================================================
L1 and L2 regularization: a sweep of the penalty
==================================================

Multinomial logistic regression on 200 MNIST digits (20 per class), a setting that
overfits, trained with ``SGD(weight_decay=λ)`` (L2) and with ``ProximalSGD(l1=λ)`` (L1,
exact zeros) on the weights only, never the biases. Every run, λ = 0 included, is
stopped early on its validation loss, with a cap that no run reaches. Each seed draws its
200 training and 1,000 validation digits from the pool and the initial weights; the
strength of each penalty with the lowest mean validation loss (among λ > 0) is chosen
there, and the 10,000 test digits are used once, for the chosen strengths and for λ = 0,
with paired differences over the seeds, Holm-adjusted over the four comparisons.

Run it with ``python examples/weight_decay.py`` (the gallery shows its output).
``REGLAB_QUICK=1`` runs a tiny version.

The chapter :doc:`/chapters/penalties` derives and discusses what this script shows.
"""

# Authors: The reglab developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Settings
# --------
from reglab import environment

QUICK = environment.flag("REGLAB_QUICK")
per_class, num_epochs, seeds = (5, 30, range(5)) if QUICK else (20, 1000, range(10))
lambdas = {
    "L2": [0.0, 1e-4, 1e-3, 1e-2, 3e-2] if not QUICK else [0.0, 1e-2],
    "L1": [0.0, 1e-5, 1e-4, 1e-3, 3e-3] if not QUICK else [0.0, 1e-3],
}

# %%
# The sweep, scored on validation data
# ------------------------------------
import torch

from reglab.data import draw_train_val, mnist_tensors
from reglab.optim import ProximalSGD
from reglab.stats import Table
from reglab.train import Patience, evaluate, mlp, stopped_before_cap, train

X_all, y_all = mnist_tensors(train=True)
X_test, y_test = mnist_tensors(train=False)

runs = {}  # (kind, λ, seed) -> (model, validation loss, validation accuracy)
histories = []
for seed in seeds:
    for kind, values in lambdas.items():
        for lam in values:
            g = torch.Generator().manual_seed(seed)  # seed s: the digits, the weights
            train_idx, val_idx = draw_train_val(y_all, per_class, 100, generator=g)
            train_data = (X_all[train_idx], y_all[train_idx])
            val_data = (X_all[val_idx], y_all[val_idx])
            model = mlp((), generator=g)  # Flatten -> Linear(784, 10)
            W, b = model[1].weight, model[1].bias
            if kind == "L2":
                groups = [{"params": [W], "weight_decay": lam}, {"params": [b], "weight_decay": 0}]
                optimizer = torch.optim.SGD(groups, lr=1.0)
            else:
                groups = [{"params": [W], "l1": lam}, {"params": [b], "l1": 0.0}]
                optimizer = ProximalSGD(groups, lr=1.0)
            history = train(model, train_data, val_data=val_data, optimizer=optimizer,
                            num_epochs=num_epochs, batch_size=len(train_idx), seed=g,
                            stopping=Patience(10, min_delta=1e-4), restore_best=True,
                            evaluate_train=False)  # fmt: skip
            histories.append(history)
            runs[kind, lam, seed] = (model, *evaluate(model, *val_data))
print(f"per seed: {len(train_idx)} training and {len(val_idx):,} validation digits "
      f"from {len(X_all):,}; {len(X_test):,} test digits")  # fmt: skip
print("every run stopped early, before the cap:", stopped_before_cap(histories, num_epochs))

rows, chosen = [], {}
for kind, values in lambdas.items():
    val_loss = {lam: sum(runs[kind, lam, s][1] for s in seeds) / len(seeds) for lam in values}
    chosen[kind] = min(values[1:], key=val_loss.get)  # the best strength above 0
    for lam in values:
        zeros = sum((runs[kind, lam, s][0][1].weight == 0).float().mean().item() for s in seeds)
        rows.append([kind, f"{lam:g}", f"{val_loss[lam]:.4f}", f"{zeros / len(seeds):.0%}"])
print(Table(["penalty", "λ", "validation loss (mean)", "exact zeros"], rows))

# %%
# The test set, once, for the chosen strengths
# --------------------------------------------
from reglab.stats import holm, paired_difference

settings = {"no penalty": ("L2", 0.0)} | {
    f"{kind}, λ = {lam:g}": (kind, lam) for kind, lam in chosen.items()
}
test = {
    name: [evaluate(runs[kind, lam, s][0], X_test, y_test) for s in seeds]
    for name, (kind, lam) in settings.items()
}
pairs = [(name, i, metric) for name in list(settings)[1:]
         for i, metric in enumerate(["test loss", "test accuracy"])]  # fmt: skip
family = holm([paired_difference([r[i] for r in test[name]],
                                 [r[i] for r in test["no penalty"]])
               for name, i, _ in pairs])  # fmt: skip
for (name, i, metric), d in zip(pairs, family, strict=True):
    scale, unit = (1, "nats") if i == 0 else (100, "points")
    print(f"{name} - no penalty, {metric}: {d.verdict(scale=scale, unit=unit, digits=4)}")

# %%
# Figures
# -------
import matplotlib.pyplot as plt

from reglab.plotting.seeds import plot_paired_seeds, plot_sweep

fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
for ax, kind in zip(axes[:2], lambdas, strict=True):
    val = torch.tensor([[runs[kind, lam, s][1] for lam in lambdas[kind]] for s in seeds])
    plot_sweep(lambdas[kind], {"validation": val}, ax, chosen=chosen[kind])
    ax.set_xlabel(f"λ ({kind})")
plot_paired_seeds({k: [r[0] for r in v] for k, v in test.items()}, axes[2], ylabel="test loss")
fig.tight_layout()

fig, axes = plt.subplots(len(settings), 10, figsize=(10, 3.4))
for row, (kind, lam) in zip(axes, settings.values(), strict=True):
    W = runs[kind, lam, seeds[0]][0][1].weight.detach().cpu()
    for digit, ax in enumerate(row):
        ax.imshow(W[digit].view(28, 28), cmap="RdBu_r", vmin=-W.abs().max(), vmax=W.abs().max())
        ax.axis("off")
plt.show()
