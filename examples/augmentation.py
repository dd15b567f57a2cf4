"""
===========================================================
Data augmentation: the seed's pipeline, per sample or batch
===========================================================

Applies the seed notebook's ``torchvision.transforms.v2`` pipeline (random rotation,
shift and zoom) to MNIST digits, saves a grid of originals and augmentations, and compares
the throughput of per-sample PIL transforms in a ``DataLoader`` with per-image random
affine transforms applied to whole batch tensors (on the GPU when there is one).

Run it with ``python examples/augmentation.py``; figures are written to
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
n = 256 if QUICK else 4096

# %%
# Originals and augmentations
# ---------------------------
import torch

from reglab.augment import mnist_augmentation, random_affine
from reglab.data import load_mnist, mnist_tensors

torch.manual_seed(0)
train_set = load_mnist(train=True, transform=mnist_augmentation())
print(f"{len(train_set):,} training images")
X, _ = mnist_tensors(train=True)
originals = X[:6]  # (6, 1, 28, 28), the same images as float tensors
augmented = torch.stack([torch.stack([train_set[i][0] for _ in range(7)]) for i in range(6)])

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from reglab.plotting import show_images

OUT.mkdir(parents=True, exist_ok=True)
fig, axes = plt.subplots(6, 8, figsize=(8, 6.2))
for i in range(6):
    show_images(torch.cat([originals[i : i + 1], augmented[i]]), axes[i])
fig.savefig(OUT / "augmentation_grid.png", dpi=150, bbox_inches="tight")

# %%
# Throughput: per sample versus per batch
# ---------------------------------------
# ``torch.utils.benchmark.Timer`` warms up, synchronizes CUDA and repeats the measurement;
# the table gives the median and the interquartile range (IQR) of the repeats.
from torch.utils.benchmark import Timer
from torch.utils.data import DataLoader, Subset

from reglab.device import default_device
from reglab.tables import Table


def measure(fn):
    """Timer's measurement of ``fn()`` on every CPU thread torch uses."""
    timer = Timer("fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
    return timer.blocked_autorange(min_run_time=0.5 if QUICK else 2.0)


bs = 256
subset = Subset(train_set, range(min(n, len(train_set))))
m = measure(lambda: list(DataLoader(subset, bs)))
rows = [["per sample, PIL, DataLoader", "cpu", len(subset), m]]
for device in {torch.device("cpu"), default_device()}:
    X_dev = X[:n].to(device)
    batches = [X_dev[i : i + bs] for i in range(0, n, bs)]
    m = measure(lambda b=batches: [random_affine(X_b) for X_b in b])
    rows.append(["batch tensor, random_affine", device.type, n, m])
print(
    Table(
        ["approach", "device", "samples / s (median)", "time: median, IQR (ms)", "runs"],
        [[a, d, f"{k / m.median:,.0f}", f"{1e3 * m.median:.1f}, {1e3 * m.iqr:.1f}", len(m.times)]
         for a, d, k, m in rows],
    )
)  # fmt: skip
print(f"figures written to {OUT}/")
