"""
=========================================================
Batch normalization: running statistics and small batches
=========================================================

Traces ``running_mean`` and ``running_var`` of ``nn.BatchNorm2d`` over a stream of random
batches for several momenta (and the cumulative average, ``momentum=None``), and measures
how far training-mode and evaluation-mode outputs drift apart as batches get smaller.

Run it with ``python examples/batchnorm_stats.py`` (the gallery shows its output).
``REGLAB_QUICK=1`` runs a tiny version.

The chapter :doc:`/chapters/batchnorm` derives and discusses what this script shows.
"""

# Authors: The reglab developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Settings
# --------
from reglab import environment

QUICK = environment.flag("REGLAB_QUICK")
num_batches = 30 if QUICK else 300

# %%
# Trace the running statistics
# ----------------------------
import torch
from torch import nn

from reglab.nn import trace_running_stats

g = torch.Generator().manual_seed(0)
stream = [20 * torch.randn(8, 3, 5, 4, generator=g) + 100 for _ in range(num_batches)]
traces = {
    f"momentum={m}": trace_running_stats(nn.BatchNorm2d(3, momentum=m), stream)
    for m in [0.5, 0.1, 0.01, None]
}
for name, trace in traces.items():
    mean, var = trace.running_mean[-1, 0].item(), trace.running_var[-1, 0].item()
    print(f"{name:14} running_mean {mean:7.2f}  running_var {var:7.1f}  (population 100, 400)")

# %%
# Plot them
# ---------
import matplotlib.pyplot as plt

from reglab.plotting.batchnorm import plot_running_stats

fig, (ax_mean, ax_var) = plt.subplots(1, 2, figsize=(10, 3.6))
plot_running_stats(traces, ax_mean, field="running_mean", target=100)
plot_running_stats(traces, ax_var, field="running_var", target=400)

# %%
# Train versus eval on small batches
# ----------------------------------
import torch.nn.functional as F

sizes = [2, 8, 32] if QUICK else [2, 4, 8, 16, 32, 64, 128, 256]
gaps = []
for N in sizes:
    layer = nn.BatchNorm2d(3)
    for _ in range(50 if QUICK else 200):
        layer(3 * torch.randn(N, 3, 1, 1, generator=g) + 5)
    layer.eval()
    batch = 3 * torch.randn(N, 3, 1, 1, generator=g) + 5
    y_train = F.batch_norm(batch, None, None, layer.weight, layer.bias, training=True)
    gaps.append((y_train - layer(batch)).abs().mean().item())
    print(f"batch size {N:4}: mean |train - eval| = {gaps[-1]:.3f}")
fig, ax = plt.subplots(figsize=(5.5, 3.2))
ax.loglog(sizes, gaps, marker="o")
ax.set_xlabel("batch size N")
ax.set_ylabel("mean |train - eval| output")
plt.show()
