"""
=====================================================
Early stopping: filter factors and stopping rules
=====================================================

Two views of early stopping. First the theory: for a quadratic loss, gradient descent
stopped after :math:`\\tau` steps shrinks each eigen-direction of the Hessian by
:math:`1 - (1 - \\epsilon\\lambda_i)^\\tau`, much as ridge regression with
:math:`\\alpha = 1/(\\epsilon\\tau)` shrinks it by :math:`\\lambda_i / (\\lambda_i + \\alpha)`;
the closed form is checked against ``torch.optim.SGD``. Then the practice: an MLP that
overfits a small MNIST subset, trained once, replayed through Prechelt's stopping
criteria and patience, and trained again with the patience criterion live to show that
replaying and stopping agree.

The chapter :doc:`/chapters/early_stopping` derives and discusses what this script shows.

Run it with ``python examples/early_stopping.py`` (the gallery shows its output).
``REGLAB_QUICK=1`` runs a tiny version.
"""

# Authors: The reglab developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Settings
# --------
from reglab import environment

QUICK = environment.flag("REGLAB_QUICK")
per_class, num_epochs = (20, 8) if QUICK else (100, 40)

# %%
# Filter factors: gradient descent against ridge
# ----------------------------------------------
# On a random least-squares problem (float64), the iterates of ``torch.optim.SGD`` and
# the closed form agree to rounding error; then both families of filter factors are
# drawn for three values of :math:`\tau`.
import matplotlib.pyplot as plt
import torch

from reglab.plotting.early_stopping import plot_filter_factors
from reglab.studies.early_stopping import (
    equivalent_alpha,
    gd_filter_factors,
    gd_trajectory,
    gd_weights,
    ridge_filter_factors,
)

g = torch.Generator().manual_seed(0)
X = torch.randn(100, 5, generator=g, dtype=torch.float64)  # (N, d)
y = torch.randn(100, generator=g, dtype=torch.float64)  # (N,)
iterates = gd_trajectory(X, y, lr=0.1, num_steps=50)
closed_form = gd_weights(X, y, 0.1, list(range(51)))
torch.testing.assert_close(closed_form, iterates, rtol=1e-10, atol=1e-12)
print(f"50 SGD steps vs closed form: max difference {(closed_form - iterates).abs().max():.1e}")

lams = torch.logspace(-5, 0, 400, dtype=torch.float64)
taus = [10, 100, 1000]
gd = {f"GD, τ = {t}": gd_filter_factors(lams, 1.0, t) for t in taus}
ridge = {
    f"ridge, α = {equivalent_alpha(1.0, t):g}": ridge_filter_factors(lams, equivalent_alpha(1.0, t))
    for t in taus
}
fig, ax = plt.subplots(figsize=(7, 3.6))
plot_filter_factors(lams, gd, ridge, ax)

# %%
# An MLP that overfits, replayed through the stopping criteria
# ------------------------------------------------------------
# Training and validation digits are carved, disjoint and class-balanced, from MNIST's
# training split; the test digits are MNIST's test split, read only at the epoch that a
# criterion and the validation loss choose.
from reglab.data import balanced_subset, mnist_tensors, train_val_split
from reglab.stats import Table
from reglab.train import (
    GeneralizationLoss,
    Patience,
    ProgressQuotient,
    UpStrips,
    evaluate,
    forked_rng,
    mlp,
    replay,
    train,
)

X_all, y_all = mnist_tensors(train=True)
X_test, y_test = mnist_tensors(train=False)
idx = balanced_subset(y_all, 2 * per_class, generator=torch.Generator().manual_seed(0))
train_data, val_data = train_val_split(
    X_all[idx], y_all[idx], val_per_class=per_class, generator=torch.Generator().manual_seed(1)
)
test_data = (X_test[:2000], y_test[:2000])
print(f"training {len(train_data[1])}, validation {len(val_data[1])}, test {len(test_data[1])}")


def fit(stopping=None):
    with forked_rng(0):  # the same initial weights in both runs
        model = mlp((100,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = train(model, train_data, val_data=val_data, test_data=test_data,
                    optimizer=optimizer, num_epochs=num_epochs, batch_size=50, seed=0,
                    device="cpu", evaluate_train=False, stopping=stopping)  # fmt: skip
    return model, history


_, history = fit()
criteria = [Patience(5), GeneralizationLoss(2), ProgressQuotient(0.5), UpStrips(2)]
replays = [replay(c, history) for c in criteria]
rows = [
    [r.criterion, r.stopped_epoch or "never", r.best_epoch, r.test_acc, r.test_loss]
    for r in replays
]
rows.append(["no stopping", "-", num_epochs, history.test_acc[-1], history.test_loss[-1]])
print(Table(["criterion", "stops at", "keeps epoch", "test accuracy", "test loss"], rows,
            floatfmt=".4f"))  # fmt: skip

# %%
# Replaying is stopping
# ---------------------
# Training is deterministic, so a run stopped live by ``Patience(5)`` is the
# first epochs of the long run, and its restored weights score exactly what the replay
# read off.
model, stopped = fit(Patience(5))
test_loss, test_acc = evaluate(model, *test_data)
patience = replays[0]
print(f"live: stopped at {stopped.stopped_epoch}, kept {stopped.best_epoch}, "
      f"test loss {test_loss:.4f}; replay: {patience.stopped_epoch}, "
      f"{patience.best_epoch}, {patience.test_loss:.4f}")  # fmt: skip

from reglab.plotting.early_stopping import plot_stopping

fig, ax = plt.subplots(figsize=(8, 3.8))
plot_stopping(
    history, ax, stops={r.criterion: r.stopped_epoch for r in replays}, kept=patience.best_epoch
)
plt.show()
