"""
==========================================================
Adversarial training: FGSM, PGD and the linear L1 penalty
==========================================================

Three views of adversarial training. First the exact one: for logistic regression the
worst case in an :math:`L_\\infty` ball of radius :math:`\\epsilon` lowers every margin by
:math:`\\epsilon\\lVert w\\rVert_1`, so training on FGSM examples is gradient descent on
:math:`\\operatorname{softplus}(-s(w^\\top x + b) + \\epsilon\\lVert w\\rVert_1)`; both
trainings are run side by side in float64. Then an MLP on an MNIST subset, trained plainly
and with FGSM from a random start, paired by seed, its robustness measured with PGD
(with restarts) and with FGSM, which overstates it.

The chapter :doc:`/chapters/adversarial` derives and discusses what this script shows.

Run it with ``python examples/adversarial.py`` (the gallery shows its output).
``REGLAB_QUICK=1`` runs a tiny version.
"""

# Authors: The reglab developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Settings
# --------
from reglab import environment

QUICK = environment.flag("REGLAB_QUICK")

# %%
# The linear view: FGSM training is an L1 penalty inside the loss
# ---------------------------------------------------------------
# Threes against eights, flattened, in float64; no pixel box, as the closed form assumes.
import matplotlib.pyplot as plt
import torch

from reglab.data import mnist_tensors
from reglab.plotting.adversarial import plot_robustness, show_weights
from reglab.studies.adversarial import CONFIG, QUICK_CONFIG, run_linear, run_seed

torch.set_num_threads(1)
X_pool, y_pool = mnist_tensors(train=True)
X_test, y_test = mnist_tensors(train=False)
keep = (y_pool == 3) | (y_pool == 8)
X_lin, t_lin = X_pool[keep].flatten(1).double(), (y_pool[keep] == 8).long()
if QUICK:
    X_lin, t_lin = X_lin[:200], t_lin[:200]
print(f"threes and eights: {len(t_lin)} digits")
eps_lin, num_steps = 0.05, 20 if QUICK else 100
runs = {eps: run_linear(X_lin, t_lin, eps, num_steps=num_steps) for eps in (0.0, eps_lin)}
print(f"FGSM training vs closed form: largest difference over {num_steps} steps "
      f"{runs[eps_lin]['max_difference']:.1e}")  # fmt: skip
assert runs[eps_lin]["max_difference"] < 1e-10

fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.2))
vmax = runs[0.0]["weights"]["fgsm"][:-1].abs().max().item()
for ax, eps in zip(axes, runs, strict=True):
    show_weights(runs[eps]["weights"]["fgsm"][:-1], ax, vmax=vmax)
    ax.set_xlabel(f"ε = {eps}: ‖w‖₁ = {runs[eps]['weights']['fgsm'][:-1].abs().sum():.1f}")

# %%
# Adversarial training of an MLP, paired by seed
# ----------------------------------------------
# Each seed draws the digits, the initial weights and the batch order, shared by both
# settings; every run stops early on the clean validation loss.
from reglab.stats import Table, holm, paired_difference

config = QUICK_CONFIG if QUICK else CONFIG
results = [
    r for seed in config.seeds for r in run_seed(seed, (X_pool, y_pool), (X_test, y_test), config)
]
by = {(r["setting"], r["seed"]): r for r in results}
print(f"training {results[0]['n_train']}, validation {results[0]['n_val']}, "
      f"test {results[0]['n_test']}, attacked {results[0]['n_robust']}")  # fmt: skip


def seeds_of(setting, eps=None, key="pgd_acc"):
    return [
        by[setting, s]["test_acc"] if eps is None else by[setting, s]["attacks"][eps][key]
        for s in config.seeds
    ]


rows = [("clean", None)] + [(f"PGD, ε = {e}", e) for e in config.eval_eps]
diffs = holm([paired_difference(seeds_of("FGSM-RS", e), seeds_of("plain", e)) for _, e in rows])
print(Table(
    ["accuracy", "FGSM-RS − plain", "Holm p", "differ?"],
    [[name, d.describe(), f"{d.p_adjusted:.2g}", "yes" if d.rejects else "no"]
     for (name, _), d in zip(rows, diffs, strict=True)],
))  # fmt: skip

# %%
# PGD against FGSM: the weaker attack overstates robustness
# ---------------------------------------------------------
grid = [0.0, *config.eval_eps, config.large_eps]
accuracies = {
    (s, attack): [
        [by[s, seed]["robust_clean_acc"]]
        + [by[s, seed]["attacks"][e][f"{attack.lower()}_acc"] for e in grid[1:]]
        for seed in config.seeds
    ]
    for s in config.settings
    for attack in ("PGD", "FGSM")
}
fig, ax = plt.subplots(figsize=(6.5, 4))
plot_robustness(grid, accuracies, ax)
