"""
==========================================================
Normalization layers: four sets of axes, and small batches
==========================================================

Layer, group, instance and RMS normalization differ from batch normalization only in the
axes over which they take the mean and the variance. This example checks the from-scratch
versions in ``reglab.nn.functional`` against ``torch.nn.functional``, draws Wu & He's cubes
from the masks the code computes, and trains a small CNN with batch, group and layer norm
at batch sizes 2 to 32 with paired seeds.

The chapter :doc:`/chapters/normalization` derives and discusses what this script shows.

Run it with ``python examples/normalization.py`` (the gallery shows its output).
``REGLAB_QUICK=1`` runs a tiny version.
Batch norm across processes (``reglab.nn.sync_batchnorm``) is shown in the chapter
"Normalization beyond batch norm": its worker processes re-import the main script, so it
is not run from here.
"""

# Authors: The reglab developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Settings
# --------
from reglab import environment

QUICK = environment.flag("REGLAB_QUICK")

# %%
# From scratch against PyTorch
# ----------------------------
# Outputs and the gradients of the input, the scale and the shift, in float64.
import torch
import torch.nn.functional as F

from reglab.nn import functional as scratch

g = torch.Generator().manual_seed(0)
X = 3 * torch.randn(4, 6, 5, 5, generator=g, dtype=torch.float64) + 2  # (N, C, H, W)
draw = {"dtype": torch.float64, "generator": g}
w, b = torch.rand(6, **draw) + 0.5, torch.randn(6, **draw)  # per channel
w_e, b_e = torch.rand(6, 5, 5, **draw) + 0.5, torch.randn(6, 5, 5, **draw)  # per element
calls = {
    "layer_norm": lambda f, X, w, b: f.layer_norm(X, (6, 5, 5), w, b),
    "group_norm": lambda f, X, w, b: f.group_norm(X, 3, w, b),
    "instance_norm": lambda f, X, w, b: f.instance_norm(X, weight=w, bias=b),
    "rms_norm": lambda f, X, w, b: f.rms_norm(X, (6, 5, 5), w),
}
for name, call in calls.items():
    params = (w_e, b_e) if name in ("layer_norm", "rms_norm") else (w, b)
    diffs = []
    for f in (scratch, F):
        inputs = [t.clone().requires_grad_() for t in (X, *params)]
        y = call(f, *inputs)
        grads = torch.autograd.grad(y.square().sum(), inputs, allow_unused=True)
        diffs.append([y, *[grad for grad in grads if grad is not None]])
    worst = max((a - c).abs().max().item() for a, c in zip(*diffs, strict=True))
    print(f"{name:14} max |ours - torch| over output and gradients: {worst:.1e}")

# %%
# Which values share a mean and a variance
# ----------------------------------------
# ``shared_stats_mask`` marks where the gradient of one output is non-zero: exactly the
# values normalized together with it.
import matplotlib.pyplot as plt

from reglab.nn import shared_stats_mask
from reglab.plotting.normalization import plot_stats_cube

fig = plt.figure(figsize=(11, 3.2))
layers = [("batch", None), ("layer", None), ("instance", None), ("group", 3)]
for k, (kind, G) in enumerate(layers):
    mask = shared_stats_mask(kind, (6, 6, 2, 2), G)
    ax = fig.add_subplot(1, 4, k + 1, projection="3d")
    plot_stats_cube(mask, ax)
    ax.text2D(0.5, -0.02, f"{kind} norm", transform=ax.transAxes, ha="center")
    print(f"{kind:8} norm: {int(mask.sum())} values per statistic")

# %%
# Small batches
# -------------
# The same learning-rate rule (lr = 0.05 B / 32, momentum 0.9) for every batch size,
# every run early-stopped on its validation loss; seed s draws the digits, the weights and
# the batch order, so the layers are paired by seed at each batch size.
from dataclasses import replace

from reglab.data import mnist_tensors
from reglab.plotting.normalization import plot_batch_size_study
from reglab.stats import by_seed, holm, paired_difference
from reglab.studies.normalization import BatchSizeConfig, run_batch_size_study

config = BatchSizeConfig()  # the chapter's settings
X_test, y_test = mnist_tensors(train=False)
if QUICK:
    config = replace(config, per_class=10, val_per_class=20, seeds=(0, 1), num_epochs=8)
    X_test, y_test = X_test[:500], y_test[:500]
study = run_batch_size_study(config, mnist_tensors(train=True), (X_test, y_test))
names = [(norm, B) for B in config.batch_sizes for norm in ("group", "layer")]
differences = holm([
    paired_difference(
        by_seed(study, "test_acc", norm=norm, batch_size=B),
        by_seed(study, "test_acc", norm="batch", batch_size=B),
    )
    for norm, B in names
])  # fmt: skip
for (norm, B), d in zip(names, differences, strict=True):
    print(f"B={B:2}: {norm} minus batch norm: {d.verdict()}")

fig, ax = plt.subplots(figsize=(6, 3.6))
plot_batch_size_study(study, ax)
ax.set_ylim(0, 1)
plt.show()
