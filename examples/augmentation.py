"""
======================================================================
Data augmentation: the source notebook's pipeline, per sample or batch
======================================================================

Applies the source notebook's ``torchvision.transforms.v2`` pipeline (random rotation,
shift and zoom) to MNIST digits, saves a grid of originals and augmentations, and compares
like with like: ``v2.RandomAffine`` applied image by image and
``reglab.data.random_affine`` applied to whole batches (one draw per image both ways),
on the same decoded tensors (and on the GPU when there is one). The source notebook's
pipeline, which also decodes PIL images, is timed for reference. The numbers are measurements of the
machine that runs the script.

Run it with ``python examples/augmentation.py`` (the gallery shows its output).
``REGLAB_QUICK=1`` runs a tiny version.

The chapter :doc:`/chapters/augmentation` derives and discusses what this script shows.
"""

# Authors: The reglab developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Settings
# --------
from reglab import environment

QUICK = environment.flag("REGLAB_QUICK")
n = 256 if QUICK else 4096

# %%
# Originals and augmentations
# ---------------------------
import torch
from torchvision.transforms import v2

from reglab.data import load_mnist, mnist_augmentation, mnist_tensors, random_affine

torch.manual_seed(0)
train_set = load_mnist(train=True, transform=mnist_augmentation())
print(f"{len(train_set):,} training images")
X, _ = mnist_tensors(train=True)
originals = X[:6]  # (6, 1, 28, 28), the same images as float tensors
augmented = torch.stack([torch.stack([train_set[i][0] for _ in range(7)]) for i in range(6)])

import matplotlib.pyplot as plt

from reglab.plotting.images import show_images

fig, axes = plt.subplots(6, 8, figsize=(8, 6.2))
for i in range(6):
    show_images(torch.cat([originals[i : i + 1], augmented[i]]), axes[i])

# %%
# Throughput: per sample versus per batch
# ---------------------------------------
# ``torch.utils.benchmark.Timer`` warms up, synchronizes CUDA and repeats the measurement;
# the table gives the median and the interquartile range (IQR) of the repeats.
from torch.utils.benchmark import Timer
from torch.utils.data import DataLoader, Subset

from reglab.stats import Table
from reglab.train import default_device


def measure(fn):
    """Timer's measurement of ``fn()`` on every CPU thread torch uses."""
    timer = Timer("fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
    return timer.blocked_autorange(min_run_time=0.5 if QUICK else 2.0)


bs = 256
t = v2.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1))
rows = []
for device in {torch.device("cpu"), default_device()}:
    X_dev = X[:n].to(device)
    batches = [X_dev[i : i + bs] for i in range(0, n, bs)]
    # like against like: the same decoded tensors, one draw per image both ways
    m = measure(lambda X_dev=X_dev: [t(x) for x in X_dev])
    rows.append(["per image: v2.RandomAffine in a loop", device.type, n, m])
    m = measure(lambda b=batches: [random_affine(X_b) for X_b in b])
    rows.append(["per batch: random_affine", device.type, n, m])
subset = Subset(train_set, range(min(n, len(train_set))))
m = measure(lambda: list(DataLoader(subset, bs)))
rows.append(["source notebook's pipeline (PIL decoding, DataLoader)", "cpu", len(subset), m])
print(
    Table(
        ["approach", "device", "samples / s (median)", "time: median, IQR (ms)", "runs"],
        [[a, d, f"{k / m.median:,.0f}", f"{1e3 * m.median:.1f}, {1e3 * m.iqr:.1f}", len(m.times)]
         for a, d, k, m in rows],
    )
)  # fmt: skip
plt.show()
