r"""The experiments of the chapter "Why regularize": memorization and double descent.

Two studies on MNIST, each a function of one :class:`Config` and the data:

- :func:`run_memorization`: an MLP trained until it classifies every training digit
  correctly, with true labels, partly or wholly random labels
  (:func:`reglab.data.corrupt_labels`), and with weight decay or dropout.
- :func:`run_double_descent` (model-wise: the number of random features :math:`p`
  varies) and :func:`run_sample_wise` (the number of training digits :math:`n` varies):
  random ReLU features (:class:`reglab.nn.RandomReLUFeatures`) and least squares on
  one-hot targets, minimum-norm or ridge (:class:`reglab.optim.LeastSquares`).

A seed draws everything random in one run: the training digits, the labels that are
redrawn, the initial weights or the features, and the batch order. Test numbers are
read on the test set given, once per fitted model; every choice (ridge's
:math:`\lambda`) is made on a validation split disjoint from the training digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from reglab._checks import check_nonnegative, check_probability
from reglab.data import balanced_subset, corrupt_labels, train_val_split
from reglab.nn import RandomReLUFeatures
from reglab.optim import LeastSquares
from reglab.studies._arguments import check_counts, check_instance
from reglab.train import evaluate, forked_rng, mlp, train_one_epoch

__all__ = ["Config", "run_double_descent", "run_memorization", "run_sample_wise"]

Data = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class Config:
    r"""Every setting of the chapter's experiments (one source of truth).

    Attributes:
        seeds (tuple[int]): the paired seeds.
        mem_per_class (int): training digits per class of the memorization runs.
        hidden (int): width of the MLP's one hidden layer.
        lr (float): Adam's learning rate.
        batch_size (int): samples per step.
        max_epochs (int): the cap; a run stops at the first epoch with 100% training
            accuracy, and no run should reach the cap.
        corruptions (tuple[float]): fractions of redrawn labels.
        weight_decay (float): ``AdamW``'s decoupled weight decay in the regularized run.
        dropout (float): dropout probability in the regularized run.
        dd_per_class (int): training digits per class of the random-features fits.
        val_per_class (int): validation digits per class (for ridge's :math:`\lambda`).
        width_ratios (tuple[float]): numbers of features as multiples of :math:`n`.
        label_noise (float): fraction of redrawn labels in the noisy fits.
        penalties (tuple[float]): ridge's candidate :math:`\lambda` (chosen on validation).
        fixed_penalties (tuple[float]): :math:`\lambda` drawn as fixed-penalty curves.
        sample_sizes (tuple[int]): training digits per class of the sample-wise fits.
        sample_width (int): number of features of the sample-wise fits.
    """

    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    mem_per_class: int = 30
    hidden: int = 128
    lr: float = 3e-3
    batch_size: int = 60
    max_epochs: int = 400
    corruptions: tuple[float, ...] = (0.0, 0.2, 0.5, 0.8, 1.0)
    weight_decay: float = 1.0
    dropout: float = 0.5
    dd_per_class: int = 50
    val_per_class: int = 50
    width_ratios: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2, 4, 10)
    label_noise: float = 0.2
    penalties: tuple[float, ...] = (1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
    fixed_penalties: tuple[float, ...] = (1e-5, 1e-3, 1e-1)
    sample_sizes: tuple[int, ...] = (10, 20, 30, 40, 45, 50, 55, 70, 100)
    sample_width: int = 500

    def __post_init__(self):
        check_counts(self, ("mem_per_class", "hidden", "batch_size", "max_epochs",
                            "dd_per_class", "val_per_class", "sample_width"))  # fmt: skip
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct and at least one, got {self.seeds}")
        # fixed_penalties may be empty: no fixed-penalty curves
        for name in ("corruptions", "width_ratios", "penalties", "sample_sizes"):
            if not getattr(self, name):
                raise ValueError(f"{name} must hold at least one value")
        for fraction in self.corruptions:
            check_probability(fraction, "corruptions")
        check_probability(self.label_noise, "label_noise")
        check_probability(self.dropout, "dropout")
        for name in ("lr", "weight_decay"):
            check_nonnegative(getattr(self, name), name)

    @property
    def n(self) -> int:
        """The number of training digits of the model-wise fits."""
        return 10 * self.dd_per_class

    @property
    def widths(self) -> list[int]:
        """The numbers of features :math:`p` of the model-wise fits."""
        return [round(r * self.n) for r in self.width_ratios]


def fit_until_memorized(
    train_data: Data,
    test_data: Data,
    config: Config,
    seed: int,
    *,
    weight_decay: float = 0.0,
    p: float = 0.0,
) -> dict:
    """Train the chapter's MLP with ``AdamW`` until it classifies every training sample
    correctly (or ``config.max_epochs``), then read the test set once.

    Returns:
        dict: ``train_acc`` (per epoch, eval mode), ``epochs`` (the first epoch at 100%,
        ``None`` if never), ``test_acc``.
    """
    X, y = train_data
    order = torch.Generator().manual_seed(seed)  # the batch order
    train_acc = []
    with forked_rng(seed):  # initial weights and dropout masks
        model = mlp((config.hidden,), p=p)
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=weight_decay)
        for _ in range(config.max_epochs):
            train_one_epoch(model, X, y, optimizer, batch_size=config.batch_size, generator=order)
            train_acc.append(evaluate(model, X, y)[1])
            if train_acc[-1] == 1.0:
                break
    epochs = len(train_acc) if train_acc[-1] == 1.0 else None
    return {"train_acc": train_acc, "epochs": epochs, "test_acc": evaluate(model, *test_data)[1]}


def run_memorization(pool: Data, test_data: Data, config: Config = Config()) -> dict:
    """The memorization runs: every corruption fraction, and random labels with weight
    decay and with dropout, on every seed (the same digits for all runs of a seed).

    Returns:
        dict: setting -> list (one per seed) of ``fit_until_memorized`` results;
        the settings are the corruption fractions (floats), ``"weight decay"`` and
        ``"dropout"`` (both with fully random labels).
    """
    check_instance(config, Config, "config")
    runs: dict = {q: [] for q in config.corruptions}
    runs["weight decay"], runs["dropout"] = [], []
    for seed in config.seeds:
        g = torch.Generator().manual_seed(seed)
        idx = balanced_subset(pool[1], config.mem_per_class, generator=g)
        X, y = pool[0][idx], pool[1][idx]
        noise_seed = int(torch.randint(0, 2**62, (), generator=g))
        for q in config.corruptions:  # the same redrawn labels at every q, nested in q
            y_q = _nested_corruption(y, q, noise_seed)
            runs[q].append(fit_until_memorized((X, y_q), test_data, config, seed))
        y_random = _nested_corruption(y, 1.0, noise_seed)
        runs["weight decay"].append(
            fit_until_memorized(
                (X, y_random), test_data, config, seed, weight_decay=config.weight_decay
            )
        )
        runs["dropout"].append(
            fit_until_memorized((X, y_random), test_data, config, seed, p=config.dropout)
        )
    return runs


def _nested_corruption(y: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """Labels with ``fraction`` redrawn; the redrawn set grows with ``fraction``."""
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(len(y), generator=g)  # label i is redrawn when u_i < q
    random = torch.randint(0, 10, (len(y),), generator=g)
    return torch.where(u < fraction, random, y)


def _one_hot(y: torch.Tensor) -> torch.Tensor:
    return F.one_hot(y, 10).double()  # (N, 10) targets


def _error(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Classification error of ``scores`` (..., N, 10) against labels ``y`` (N,)."""
    return (scores.argmax(-1) != y).double().mean(-1)


def run_double_descent(pool: Data, test_data: Data, config: Config = Config()) -> dict:
    r"""Model-wise double descent: random ReLU features of :math:`n` digits, for every
    :math:`p` of ``config.widths``, fitted by minimum-norm least squares and by ridge
    (:math:`\lambda` chosen on validation, and fixed), with true and with noisy labels.

    The features of a seed are nested: the first :math:`p` of one draw of
    ``max(widths)``. Noisy labels are redrawn in the training and validation digits
    alike (the validation split comes from the same distribution); test labels are true.

    Returns:
        dict of tensors, each :math:`(S, P)` (seeds by widths) unless noted: ``widths``
        :math:`(P,)`; ``error`` and ``error_noisy`` (minimum norm); ``ridge`` and
        ``ridge_noisy`` (validated :math:`\lambda`); ``lam`` and ``lam_noisy`` (the chosen
        :math:`\lambda`); ``fixed`` :math:`(F, S, P)` (``config.fixed_penalties``, true
        labels); ``norm`` (Frobenius norm of the minimum-norm solution, true labels),
        ``smin`` (the smallest of the :math:`\min(n, p)` singular values),
        ``train_error`` and ``val_error`` (minimum norm, true labels; the validation
        error is for choosing among widths without the test set).
    """
    check_instance(config, Config, "config")
    widths = config.widths
    X_test, y_test = test_data
    keys = ["error", "error_noisy", "ridge", "ridge_noisy", "lam", "lam_noisy", "norm", "smin"]
    out = {k: torch.zeros(len(config.seeds), len(widths), dtype=torch.float64) for k in keys}
    out["train_error"] = torch.zeros_like(out["error"])
    out["val_error"] = torch.zeros_like(out["error"])
    out["fixed"] = torch.zeros(len(config.fixed_penalties), *out["error"].shape).double()
    penalties = torch.tensor(config.penalties, dtype=torch.float64)
    for s, seed in enumerate(config.seeds):
        g = torch.Generator().manual_seed(seed)
        idx = balanced_subset(pool[1], config.dd_per_class + config.val_per_class, generator=g)
        (X, y), (X_val, y_val) = train_val_split(
            pool[0][idx], pool[1][idx], val_per_class=config.val_per_class, generator=g
        )
        y_noisy = corrupt_labels(y, config.label_noise, generator=g)[0]
        y_val_noisy = corrupt_labels(y_val, config.label_noise, generator=g)[0]
        phi = RandomReLUFeatures(X[0].numel(), max(widths), generator=g)
        F_train = phi(X).double()  # (n, p_max)
        F_val, F_test = phi(X_val), phi(X_test)  # float32 is plenty for predictions
        Y = torch.cat([_one_hot(y), _one_hot(y_noisy)], dim=1)  # (n, 20): both fits at once
        for j, p in enumerate(widths):
            ls = LeastSquares(F_train[:, :p], Y)  # one SVD for every lambda
            out["smin"][s, j] = ls.singular_values[-1]
            W0 = ls.solve(0.0)  # (p, 20), minimum norm
            out["norm"][s, j] = W0[:, :10].norm()
            out["train_error"][s, j] = _error(F_train[:, :p] @ W0[:, :10], y)
            out["val_error"][s, j] = _error(F_val[:, :p] @ W0[:, :10].float(), y_val)
            # lambda by validation error, separately for true and noisy labels
            Ws = torch.stack([ls.solve(lam) for lam in config.penalties])  # (L, p, 20)
            val_scores = F_val[:, :p] @ Ws.float()  # (L, n_val, 20)
            val_err = torch.stack(
                [_error(val_scores[..., :10], y_val), _error(val_scores[..., 10:], y_val_noisy)]
            )  # (2, L)
            best = val_err.argmin(dim=1)  # the first (smallest) lambda among ties
            chosen = [Ws[best[0], :, :10], Ws[best[1], :, 10:]]
            fixed = [ls.solve(lam)[:, :10] for lam in config.fixed_penalties]
            W_all = torch.cat([W0, *chosen, *fixed], dim=1).float()  # (p, 20 + 20 + 10 F)
            scores = (F_test[:, :p] @ W_all).split(10, dim=1)
            out["error"][s, j] = _error(scores[0], y_test)
            out["error_noisy"][s, j] = _error(scores[1], y_test)
            out["ridge"][s, j] = _error(scores[2], y_test)
            out["ridge_noisy"][s, j] = _error(scores[3], y_test)
            out["lam"][s, j], out["lam_noisy"][s, j] = penalties[best[0]], penalties[best[1]]
            for f in range(len(config.fixed_penalties)):
                out["fixed"][f, s, j] = _error(scores[4 + f], y_test)
        del F_test
    out["widths"] = torch.tensor(widths)
    return out


def run_sample_wise(pool: Data, test_data: Data, config: Config = Config()) -> dict:
    r"""Sample-wise: ``config.sample_width`` random features fixed, minimum-norm fits on
    :math:`n` = 10 x each of ``config.sample_sizes`` training digits (true labels).

    Returns:
        dict: ``sizes`` :math:`(M,)` (the :math:`n`), ``error`` :math:`(S, M)` test errors.
    """
    check_instance(config, Config, "config")
    X_test, y_test = test_data
    sizes = [10 * k for k in config.sample_sizes]
    error = torch.zeros(len(config.seeds), len(sizes), dtype=torch.float64)
    for s, seed in enumerate(config.seeds):
        g = torch.Generator().manual_seed(seed)
        phi = RandomReLUFeatures(X_test[0].numel(), config.sample_width, generator=g)
        F_test = phi(X_test)
        for m, k in enumerate(config.sample_sizes):
            idx = balanced_subset(pool[1], k, generator=g)
            W = LeastSquares(phi(pool[0][idx]).double(), _one_hot(pool[1][idx])).solve(0.0)
            error[s, m] = _error(F_test @ W.float(), y_test)
    return {"sizes": torch.tensor(sizes), "error": error}
