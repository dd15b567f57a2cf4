"""
=================================================
Dropout masks: element-wise and channel-wise
=================================================

The masks of PyTorch's own ``nn.Dropout`` and ``nn.Dropout2d``, recovered from their
outputs with ``reglab.nn.mask_of``: element-wise dropout on an MNIST digit for several
drop probabilities, and channel dropout on a convolutional feature map. The panels of a
figure share one grey scale, so the survivors, scaled by ``1/(1-p)``, look brighter.

Run it with ``python examples/dropout_masks.py``; figures are written to
``examples/output/`` (or ``$REGLAB_OUTPUT``). ``REGLAB_QUICK=1`` is accepted for symmetry
with the other examples (this one is already fast).

The chapter :doc:`/chapters/dropout` derives and discusses what this script shows.
"""

# Authors: The reglab developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Settings
# --------
from reglab import environment

OUT = environment.path("REGLAB_OUTPUT", "examples/output")
ps = [0.1, 0.3, 0.5, 0.8]

# %%
# Element-wise masks of nn.Dropout
# --------------------------------
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from torch import nn

from reglab.data import mnist_tensors
from reglab.nn import mask_of
from reglab.plotting.images import set_color_limits, show_image, show_images

X, _ = mnist_tensors(train=True)
digit = X[0, 0] + 0.05  # (H, W), no exact zeros so that the mask can be read off

fig, axes = plt.subplots(2, len(ps), figsize=(2.2 * len(ps), 4.4))
brightest = 0.0
for j, p in enumerate(ps):
    torch.manual_seed(j)
    mask, y = mask_of(nn.Dropout(p), digit)
    show_image(y, axes[0, j], label=f"p = {p}")
    show_image(mask.float(), axes[1, j], label=f"kept {mask.float().mean():.0%}")
    brightest = max(brightest, y.max().item())
    kept = mask.float().mean().item()
    print(f"nn.Dropout(p={p}): kept {kept:.1%} of the pixels (expected {1 - p:.0%}), "
          f"each multiplied by {1 / (1 - p):.2f}")  # fmt: skip
set_color_limits(axes[0], 0, brightest)  # one grey scale: brighter survivors at larger p
set_color_limits(axes[1], 0, 1)
axes[0, 0].set_ylabel("output")
axes[1, 0].set_ylabel("mask")
OUT.mkdir(parents=True, exist_ok=True)
fig.savefig(OUT / "dropout_masks.png", dpi=150, bbox_inches="tight")

# %%
# Channel masks of nn.Dropout2d
# -----------------------------
torch.manual_seed(0)
conv = nn.Conv2d(1, 8, kernel_size=5, padding=2)
with torch.no_grad():
    features = conv(X[:1]).abs() + 1e-3  # (N=1, C=8, H, W)
mask, dropped = mask_of(nn.Dropout2d(p=0.5), features)
kept = mask.flatten(2).all(-1)[0]  # (C,)
print(f"nn.Dropout2d(p=0.5): kept channels {kept.nonzero().flatten().tolist()} of 8")

fig, axes = plt.subplots(2, 8, figsize=(10, 3.1))
show_images(features[0], axes[0])
show_images(dropped[0], axes[1], labels=["kept" if k else "dropped" for k in kept])
set_color_limits(axes, 0, dropped.max().item())  # both rows on one grey scale
axes[0, 0].set_ylabel("input")
axes[1, 0].set_ylabel("Dropout2d")
fig.savefig(OUT / "dropout2d_channels.png", dpi=150, bbox_inches="tight")
print(f"figures written to {OUT}/")
