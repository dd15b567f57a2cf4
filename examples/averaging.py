"""
=================================================
Averaging: deep ensemble, MC dropout and SWA
=================================================

Three ways to average on a small MNIST subset: the probabilities of K independently
trained MLPs (a deep ensemble), K stochastic passes of one dropout MLP (Monte-Carlo
dropout), and the weights visited by SGD late in training (stochastic weight averaging,
checked against ``torch.optim.swa_utils.AveragedModel``).

Run it with ``python examples/averaging.py`` (the gallery shows its output).
``REGLAB_QUICK=1`` shrinks the data and the number of epochs.

The chapter :doc:`/chapters/averaging` derives and discusses what this script shows.
"""

# Authors: The reglab developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Settings
# --------
from reglab import environment

QUICK = environment.flag("REGLAB_QUICK")
n_per_class = 10 if QUICK else 50
num_epochs = 5 if QUICK else 100
K = 3 if QUICK else 5

# %%
# Data
# ----
import torch

from reglab.data import balanced_subset, mnist_tensors

g = torch.Generator().manual_seed(0)
X, y = mnist_tensors(train=True)
X_test, y_test = mnist_tensors(train=False)
idx = balanced_subset(y, n_per_class, generator=g)
train_data = (X[idx], y[idx])
test_idx = balanced_subset(y_test, 20 if QUICK else 200, generator=g)
test_data = (X_test[test_idx], y_test[test_idx])
print(f"train: {len(idx):,} digits, test: {len(test_idx):,} digits")

# %%
# Deep ensemble and Monte-Carlo dropout
# -------------------------------------
from reglab.train import forked_rng, mc_dropout_logits, member_logits, mlp, scores_by_size, train

budget = dict(lr=0.1, num_epochs=num_epochs, batch_size=50, evaluate_train=False)
members = []
for k in range(K):
    with forked_rng(k):
        model = mlp((64,))
    train(model, train_data, seed=k, **budget)
    members.append(model)
with forked_rng(999):
    dropout_net = mlp((64,), p=0.3)
train(dropout_net, train_data, seed=999, **budget)
runs = {
    "deep ensemble": [scores_by_size(member_logits(members, test_data[0]), test_data[1])],
    "MC dropout": [
        scores_by_size(mc_dropout_logits(dropout_net, test_data[0], K, generator=g), test_data[1])
    ],
}
for name, (scores,) in runs.items():
    print(f"{name}: nll {scores[0]['nll']:.4f} (k = 1) -> {scores[-1]['nll']:.4f} (k = {K})")

# %%
# Figure: metrics against the number of members
# ---------------------------------------------
import matplotlib.pyplot as plt

from reglab.plotting.averaging import plot_scores_by_size

fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
for ax, field in zip(axes, ["accuracy", "nll", "ece"], strict=True):
    plot_scores_by_size(runs, ax, field=field)
axes[0].legend()
fig.tight_layout()

# %%
# SWA, checked against torch.optim.swa_utils
# ------------------------------------------
from torch.optim.swa_utils import SWALR, AveragedModel

from reglab.optim import WeightAverage
from reglab.train import evaluate

with forked_rng(0):
    model = mlp((64,))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
sched = SWALR(opt, swa_lr=0.05, anneal_epochs=2)
swa, torch_swa = WeightAverage(model), AveragedModel(model)
swa_start = int(0.6 * num_epochs)


def on_epoch_end(epoch, m):
    if epoch >= swa_start:
        swa.update_parameters(m)
        torch_swa.update_parameters(m)
        sched.step()


train(model, train_data, optimizer=opt, seed=0, on_epoch_end=on_epoch_end, **budget)
same = all(
    torch.equal(a, b)
    for a, b in zip(
        swa.module.state_dict().values(),
        torch_swa.module.state_dict().values(),
        strict=True,
    )
)
print(f"WeightAverage equals AveragedModel bit for bit: {same}")
print(
    f"test nll: last iterate {evaluate(model, *test_data)[0]:.4f}, "
    f"swa {evaluate(swa, *test_data)[0]:.4f}"
)
plt.show()
