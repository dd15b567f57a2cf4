"""
=========================================================
Double descent with random features and least squares
=========================================================

Random ReLU features of a few hundred MNIST digits, fitted by minimum-norm least squares
on one-hot targets, for a growing number of features :math:`p`. The test error falls,
peaks where :math:`p` equals the number of training digits :math:`n` (the model just
interpolates), and falls again; ridge regression with :math:`\\lambda` chosen on a
validation split removes the peak.

The chapter :doc:`/chapters/why_regularize` explains the peak (the norm of the solution,
the smallest singular value) and shows memorization of random labels.

Run it with ``python examples/double_descent.py`` (the gallery shows its output).
``REGLAB_QUICK=1`` runs a tiny version.
"""

# Authors: The reglab developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Settings
# --------
# One frozen configuration holds every setting of the chapter's study; the quick version
# fits 100 digits, one seed, and reads a 2,000-digit slice of the test split.
import dataclasses

from reglab import environment
from reglab.studies.why_regularize import Config

QUICK = environment.flag("REGLAB_QUICK")
config = Config(seeds=(0, 1, 2))
if QUICK:
    config = dataclasses.replace(
        config,
        seeds=(0,),
        dd_per_class=10,
        val_per_class=10,
        width_ratios=(0.25, 0.5, 0.8, 1.0, 1.25, 2.0, 4.0),
    )

# %%
# The curve
# ---------
import matplotlib.pyplot as plt
import torch

from reglab.data import mnist_tensors
from reglab.plotting.double_descent import plot_seed_lines
from reglab.studies.why_regularize import run_double_descent

torch.set_num_threads(1)  # the SVDs are faster on one thread here
pool = mnist_tensors(train=True)
X_test, y_test = mnist_tensors(train=False)
test_data = (X_test[:2000], y_test[:2000]) if QUICK else (X_test, y_test)
dd = run_double_descent(pool, test_data, config)
widths = dd["widths"]
for p, e, r in zip(widths.tolist(), dd["error"].mean(0), dd["ridge"].mean(0), strict=True):
    print(f"p = {p:5d}: test error {e:.1%} (minimum norm), {r:.1%} (validated ridge)")
peak = widths[dd["error"].mean(0).argmax()].item()
print(f"n = {config.n} training digits; the minimum-norm error peaks at p = {peak}")

fig, (ax_err, ax_norm) = plt.subplots(1, 2, figsize=(10, 3.6))
plot_seed_lines(
    widths,
    {"minimum norm": dd["error"], "ridge, λ chosen on validation": dd["ridge"]},
    ax_err,
    threshold=config.n,
)
plot_seed_lines(widths, {"norm of the solution": dd["norm"]}, ax_norm, threshold=config.n,
                scale=1, ylabel="norm", logy=True)  # fmt: skip
fig.tight_layout()
