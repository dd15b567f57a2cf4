r"""The chapter "Adversarial training": its settings, in one frozen config, and its runs.

Two experiments:

- :func:`run_linear`: logistic regression on two MNIST digits, trained with full-batch
  gradient descent on FGSM examples and on the closed form
  :math:`\operatorname{softplus}(-s(w^\top x + b) + \epsilon\lVert w\rVert_1)` from the same
  initial weights, step for step.
- :func:`run_seed`: one seed of the MNIST comparison; a seed draws the training and
  validation digits (:func:`~reglab.data.draw_train_val`), the initial weights and the
  batch order; both settings (plain and adversarial training) share them. Every run
  stops early on the clean validation loss (best weights restored), then is evaluated on
  the clean test split and, with :func:`~reglab.train.pgd` and
  :func:`~reglab.train.fgsm`, on a balanced subset of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from reglab._checks import check_positive_int
from reglab.data.mnist import balanced_subset
from reglab.data.splits import draw_train_val
from reglab.train.adversarial import adversarial_mix, fgsm, linear_adversarial_loss, pgd
from reglab.train.diagnostics import overfitting
from reglab.train.loop import evaluate, spawn_seeds, train
from reglab.train.models import mlp
from reglab.train.stopping import Patience

__all__ = [
    "CONFIG",
    "QUICK_CONFIG",
    "AdversarialConfig",
    "logistic_model",
    "run_linear",
    "run_seed",
]

Data = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class AdversarialConfig:
    """Every setting of the chapter's MNIST experiment.

    Args:
        seeds (tuple[int]): the paired seeds.
        train_per_class, val_per_class (int): digits per class drawn from the training
            pool for each seed (training, validation).
        hidden (tuple[int]): hidden widths of the :func:`~reglab.train.mlp`.
        lr, momentum, batch_size: SGD with momentum, mini-batches.
        num_epochs (int): the cap; early stopping must stop every run before it.
        patience (int): epochs without a lower clean validation loss before stopping.
        train_eps (float): radius of adversarial training (FGSM with random start).
        eval_eps (tuple[float]): radii of the robustness table.
        large_eps (float): the sanity check: at 0.5 every digit can be turned into the same
            grey image, so no classifier can be robust there.
        pgd_steps, pgd_restarts (int): the evaluation attack; its step is ``eps / 4``.
        robust_per_class (int): test digits per class attacked (a balanced subset).
    """

    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    train_per_class: int = 100
    val_per_class: int = 50
    hidden: tuple[int, ...] = (256,)
    lr: float = 0.1
    momentum: float = 0.9
    batch_size: int = 100
    num_epochs: int = 100
    patience: int = 5
    train_eps: float = 0.1
    eval_eps: tuple[float, ...] = (0.05, 0.1, 0.2)
    large_eps: float = 0.5
    pgd_steps: int = 10
    pgd_restarts: int = 2
    robust_per_class: int = 50

    def __post_init__(self):
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct and at least one, got {self.seeds}")
        for name in ("train_per_class", "val_per_class", "batch_size", "num_epochs",
                     "patience", "pgd_steps", "pgd_restarts", "robust_per_class"):  # fmt: skip
            check_positive_int(getattr(self, name), name)

    @property
    def settings(self) -> dict[str, float]:
        """Setting name -> training radius (0 for plain training)."""
        return {"plain": 0.0, "FGSM-RS": self.train_eps}


#: The chapter's settings.
CONFIG = AdversarialConfig()
#: A tiny version for the gallery's quick setting and the tests.
QUICK_CONFIG = AdversarialConfig(
    seeds=(0, 1), train_per_class=20, val_per_class=10, hidden=(32,), num_epochs=30,
    patience=2, pgd_steps=3, pgd_restarts=1, robust_per_class=5,
)  # fmt: skip


def _attack_all(model: nn.Module, X, y, eps: float, config, seed: int) -> dict:
    """PGD (with restarts) and FGSM at one radius: accuracy and mean loss of each."""
    g = torch.Generator().manual_seed(seed)
    X_pgd = pgd(
        model, X, y, eps, eps / 4, config.pgd_steps, restarts=config.pgd_restarts, generator=g
    )
    X_fgsm = fgsm(model, X, y, eps)
    pgd_loss, pgd_acc = evaluate(model, X_pgd, y)
    fgsm_loss, fgsm_acc = evaluate(model, X_fgsm, y)
    return {"pgd_acc": pgd_acc, "pgd_loss": pgd_loss, "fgsm_acc": fgsm_acc, "fgsm_loss": fgsm_loss}


def run_seed(
    seed: int, pool: Data, test_data: Data, config: AdversarialConfig = CONFIG
) -> list[dict]:
    """Train every setting of ``config`` on one seed's digits; evaluate each.

    The seed draws the digits (``train_per_class`` and ``val_per_class`` per class from
    ``pool``, :func:`~reglab.data.draw_train_val`), the initial weights (the same for both
    settings) and the batch order. Each run is early-stopped on the clean validation loss
    and its best weights restored. The clean test accuracy uses all of ``test_data``; the
    attacks use a balanced subset of ``robust_per_class`` digits per class, drawn with the
    fixed seed 0 (the same for every run).

    Returns:
        list[dict]: one plain-data result per setting (JSON-ready); ``history`` is the
        run's :class:`~reglab.train.History` as a dict, ``overfitting`` what
        :func:`~reglab.train.overfitting` reads from it (``memorises``, ``turns_up``,
        ``overfits``, ``best_train_acc``, ``gap``).
    """
    if not isinstance(config, AdversarialConfig):
        raise TypeError(f"config must be an AdversarialConfig, got {type(config).__name__}")
    g = torch.Generator().manual_seed(seed)  # seed s: data, weights, batch order
    train_idx, val_idx = draw_train_val(
        pool[1], config.train_per_class, config.val_per_class, generator=g
    )
    train_data = (pool[0][train_idx], pool[1][train_idx])
    val_data = (pool[0][val_idx], pool[1][val_idx])
    init_seed, order_seed = spawn_seeds(g, 2)
    robust = balanced_subset(
        test_data[1], config.robust_per_class, generator=torch.Generator().manual_seed(0)
    )
    X_rob, y_rob = test_data[0][robust], test_data[1][robust]
    results = []
    for name, eps in config.settings.items():
        # the same initial weights for every setting
        model = mlp(config.hidden, generator=torch.Generator().manual_seed(init_seed))
        optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
        history = train(
            model, train_data, val_data=val_data, optimizer=optimizer,
            num_epochs=config.num_epochs, batch_size=config.batch_size,
            mix=adversarial_mix(model, eps) if eps > 0 else None,
            stopping=Patience(config.patience), restore_best=True, seed=order_seed,
            progress=False, evaluate_train=True,
        )  # fmt: skip
        signs = overfitting(history)
        result = {
            "setting": name,
            "train_eps": eps,
            "seed": seed,
            "n_train": len(train_data[1]),
            "n_val": len(val_data[1]),
            "n_test": len(test_data[1]),
            "n_robust": len(y_rob),
            "best_epoch": history.best_epoch,
            "epochs_trained": len(history.epoch),
            "stopped_epoch": history.stopped_epoch,
            "val_loss": list(history.val_loss),
            "history": history.to_dict(),
            "overfitting": {
                "memorises": signs.memorises,
                "turns_up": signs.turns_up,
                "overfits": signs.overfits,
                "best_train_acc": signs.train_acc,
                "gap": signs.gap,
            },
            "train_acc": evaluate(model, *train_data)[1],
            "val_acc": history.val_acc[history.best_epoch - 1],
            "test_acc": evaluate(model, *test_data)[1],
            "robust_clean_acc": evaluate(model, X_rob, y_rob)[1],
            "attacks": {
                eps_: _attack_all(model, X_rob, y_rob, eps_, config, seed)
                for eps_ in (*config.eval_eps, config.large_eps)
            },
        }
        results.append(result)
    return results


def logistic_model(in_features: int, *, generator: torch.Generator, dtype=torch.float64):
    """``Linear(in_features, 1)`` with its output flattened to :math:`(N,)` logits; the
    weights drawn from ``generator`` (:math:`N(0, 0.01^2)`), the bias 0."""
    check_positive_int(in_features, "in_features")
    model = nn.Sequential(nn.Linear(in_features, 1, dtype=dtype), nn.Flatten(0))
    with torch.no_grad():
        model[0].weight.copy_(0.01 * torch.randn(1, in_features, generator=generator, dtype=dtype))
        model[0].bias.zero_()
    return model


def run_linear(
    X: torch.Tensor,
    t: torch.Tensor,
    eps: float,
    *,
    lr: float = 0.5,
    num_steps: int = 100,
    seed: int = 0,
) -> dict:
    r"""Full-batch gradient descent on logistic regression, twice from the same weights:
    on the loss at FGSM examples (no pixel box), and on
    :func:`~reglab.train.linear_adversarial_loss`.

    Args:
        X (Tensor): :math:`(N, d)` inputs (float64 for the comparison).
        t (Tensor): :math:`(N,)` labels in {0, 1}.
        eps (float): the radius.
        lr (float): step size of ``torch.optim.SGD``. Default: ``0.5``.
        num_steps (int): steps. Default: ``100``.
        seed (int): draws the initial weights. Default: ``0``.

    Returns:
        dict: ``weights`` -> the final :math:`(d + 1,)` parameters (weights, then bias) of
        ``"fgsm"`` and ``"closed form"``; ``max_difference``: the largest difference between
        the two runs' parameters over all steps.
    """
    models = {
        name: logistic_model(X.shape[1], generator=torch.Generator().manual_seed(seed))
        for name in ("fgsm", "closed form")
    }
    optimizers = {name: torch.optim.SGD(m.parameters(), lr=lr) for name, m in models.items()}
    target = t.to(X.dtype)
    max_difference = 0.0
    for _ in range(num_steps):
        fgsm_model = models["fgsm"]
        X_adv = fgsm(
            fgsm_model, X, target, eps, loss_fn=F.binary_cross_entropy_with_logits, bounds=None
        )
        losses = {
            "fgsm": F.binary_cross_entropy_with_logits(fgsm_model(X_adv), target),
            "closed form": linear_adversarial_loss(
                models["closed form"][0].weight[0], models["closed form"][0].bias[0], X, t, eps
            ),
        }
        for name, loss in losses.items():
            optimizers[name].zero_grad()
            loss.backward()
            optimizers[name].step()
        flat = {name: _flat(m) for name, m in models.items()}
        max_difference = max(
            max_difference, (flat["fgsm"] - flat["closed form"]).abs().max().item()
        )
    return {
        "weights": {name: _flat(m) for name, m in models.items()},
        "max_difference": max_difference,
    }


def _flat(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])
