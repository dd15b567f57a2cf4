"""Adversarial training: the linear-model check, weight images and robustness curves."""

from __future__ import annotations

import torch
from matplotlib.axes import Axes

from reglab.plotting._checks import _check_runs

__all__ = ["plot_linear_check", "plot_robustness", "show_weights"]


def plot_linear_check(closed_form: torch.Tensor, attacked: torch.Tensor, ax: Axes) -> Axes:
    """One dot per example: the loss at its FGSM example against the closed form, with the
    diagonal on which they must lie.

    Args:
        closed_form (Tensor): :math:`(N,)` per-example closed-form losses.
        attacked (Tensor): :math:`(N,)` the losses at the FGSM examples, same order.
        ax (Axes): where to draw.

    Raises:
        ValueError: the two differ in shape or are empty.
    """
    closed_form, attacked = closed_form.detach().cpu(), attacked.detach().cpu()
    if closed_form.shape != attacked.shape or closed_form.numel() == 0:
        raise ValueError(
            f"closed_form and attacked need the same non-empty shape, got "
            f"{tuple(closed_form.shape)} and {tuple(attacked.shape)}"
        )
    low = min(closed_form.min().item(), attacked.min().item())
    high = max(closed_form.max().item(), attacked.max().item())
    ax.plot([low, high], [low, high], color="0.6", lw=1, zorder=1, label="equal")
    ax.scatter(closed_form.numpy(), attacked.numpy(), s=6, alpha=0.5, zorder=2, label="example")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("closed form: softplus(−margin + ε‖w‖₁)")
    ax.set_ylabel("loss at the FGSM example")
    ax.legend(loc="upper left")
    return ax


def show_weights(weight: torch.Tensor, ax: Axes, *, vmax: float | None = None) -> Axes:
    """A 784-weight vector as a 28 x 28 image, red positive, blue negative, white zero.

    Args:
        weight (Tensor): :math:`(784,)` weights.
        ax (Axes): where to draw.
        vmax (float, optional): the colour scale :math:`[-v, v]`; default the largest
            absolute weight (pass the same value to compare panels).
    """
    weight = weight.detach().cpu().flatten()
    if weight.numel() != 784:
        raise ValueError(f"weight must hold 784 values (28 x 28), got {weight.numel()}")
    vmax = weight.abs().max().item() if vmax is None else vmax
    image = ax.imshow(
        weight.view(28, 28).numpy(), cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest"
    )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return ax


def plot_robustness(eps: list[float], accuracies: dict, ax: Axes) -> Axes:
    """Accuracy against the attack's radius: one thin line per seed, a thick line through
    the seeds' mean; colour for the training setting, solid for PGD, dashed for FGSM.

    Args:
        eps (list[float]): the radii, in increasing order (0 for clean accuracy).
        accuracies (dict): ``(setting, attack) -> (S, len(eps))`` accuracies of ``S``
            seeds; ``attack`` is ``"PGD"`` or ``"FGSM"``.
        ax (Axes): where to draw.
    """
    _check_runs(accuracies, "accuracies")
    x = torch.tensor(eps, dtype=torch.float64)
    settings = list(dict.fromkeys(setting for setting, _ in accuracies))
    for (setting, attack), values in accuracies.items():
        values = torch.as_tensor(values, dtype=torch.float64)
        if values.dim() != 2 or values.shape[1] != len(eps):
            raise ValueError(
                f"accuracies[{setting!r}, {attack!r}] must have shape (seeds, {len(eps)}), "
                f"got {tuple(values.shape)}"
            )
        color = f"C{settings.index(setting)}"
        style = "-" if attack == "PGD" else "--"
        for row in values:
            ax.plot(x, row, color=color, ls=style, lw=0.6, alpha=0.4)
        ax.plot(x, values.mean(0), color=color, ls=style, lw=2, marker="o", ms=3,
                label=f"{setting}, {attack}")  # fmt: skip
    ax.set_xlabel("ε of the attack (0: clean)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.legend()
    return ax
