"""
=====================================================
Dropout at test time: one scaled pass or many masks?
=====================================================

A network trained with dropout is, in effect, an ensemble of the thinned networks its
masks pick. At test time PyTorch runs one pass with every unit kept (the *weight-scaling*
rule; inverted dropout already scaled the survivors by ``1/(1-p)`` in training). That pass
is the ensemble's mean only for a linear network. This script trains a small dropout MLP
on MNIST and measures how far the single scaled pass is from the average of ``K`` masked
passes (``reglab.train.mc_dropout_logits``) as ``K`` grows: the predicted probabilities
approach a limit that is *not* the scaled pass, while the predicted classes mostly agree.

Run it with ``python examples/dropout_weight_scaling.py``. ``REGLAB_QUICK=1`` shrinks the
data, the number of epochs and the number of masks.

The chapter :doc:`/chapters/dropout` derives the weight-scaling rule (exercise
"weight scaling") and uses Monte-Carlo dropout to estimate uncertainty.
"""

# Authors: The reglab developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Settings
# --------
from reglab import environment

QUICK = environment.flag("REGLAB_QUICK")
n_per_class = 10 if QUICK else 100
num_epochs = 3 if QUICK else 30
Ks = [1, 2, 4, 8] if QUICK else [1, 2, 4, 8, 16, 32, 64, 128]
p = 0.5

# %%
# A dropout MLP on a small MNIST subset
# -------------------------------------
import torch

from reglab.data import balanced_subset, mnist_tensors
from reglab.train import forked_rng, mc_dropout_logits, mlp, train

g = torch.Generator().manual_seed(0)
X, y = mnist_tensors(train=True)
X_test, y_test = mnist_tensors(train=False)
idx = balanced_subset(y, n_per_class, generator=g)
X_eval = X_test[balanced_subset(y_test, 20 if QUICK else 100, generator=g)]  # (N, 1, 28, 28)
with forked_rng(0):
    model = mlp((256, 256), p=p)
train(model, (X[idx], y[idx]), lr=0.1, num_epochs=num_epochs, batch_size=50, seed=0)
print(f"trained on {len(idx):,} digits with p = {p}; comparing on {len(X_eval):,} test digits")

# %%
# The scaled pass against the average of K masked passes
# ------------------------------------------------------
# The masks of the largest K contain those of every smaller K (the first k passes), so
# each curve is one growing average.
with torch.no_grad():
    scaled = model.eval()(X_eval).softmax(1)  # (N, C): the weight-scaling rule
passes = mc_dropout_logits(model, X_eval, max(Ks), generator=g).softmax(2)  # (K, N, C)
distance, agreement = [], []
for K in Ks:
    average = passes[:K].mean(0)  # (N, C): the ensemble of K thinned networks
    distance.append(0.5 * (average - scaled).abs().sum(1).mean().item())  # total variation
    agreement.append((average.argmax(1) == scaled.argmax(1)).float().mean().item())
    print(f"K = {K:3d}: mean total-variation distance {distance[-1]:.3f}, "
          f"same predicted class {agreement[-1]:.1%}")  # fmt: skip

# %%
# Figure
# ------
import matplotlib.pyplot as plt

fig, (ax_tv, ax_agree) = plt.subplots(1, 2, figsize=(9, 3.2))
ax_tv.plot(Ks, distance, marker="o")
ax_tv.set_xscale("log", base=2)
ax_tv.set_xlabel("masked passes K")
ax_tv.set_ylabel("mean total-variation distance\nto the scaled pass")
ax_tv.set_ylim(bottom=0)
ax_agree.plot(Ks, agreement, marker="o")
ax_agree.set_xscale("log", base=2)
ax_agree.set_xlabel("masked passes K")
ax_agree.set_ylabel("same predicted class")
ax_agree.set_ylim(0, 1.02)
fig.tight_layout()
plt.show()
