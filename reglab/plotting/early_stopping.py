"""Early stopping: spectral filter factors, weight paths and stopping rules."""

from __future__ import annotations

import math

import torch
from matplotlib.axes import Axes

from reglab.plotting._checks import _check_same_length

__all__ = ["plot_filter_factors", "plot_stopping", "plot_weight_paths"]


def plot_filter_factors(eigenvalues: torch.Tensor, gd: dict, ridge: dict, ax: Axes) -> Axes:
    """Filter factors against the eigenvalue (log scale): gradient descent solid, ridge
    dashed, one colour per pair (see :mod:`reglab.studies.early_stopping`).

    Args:
        eigenvalues (Tensor): :math:`(d,)` the x values, ascending.
        gd (dict): label -> :math:`(d,)` GD factors, e.g. ``{"tau = 10": ...}``.
        ridge (dict): label -> :math:`(d,)` ridge factors, paired with ``gd`` in order.
    """
    x = eigenvalues.detach().cpu().numpy()
    if len(gd) != len(ridge):
        raise ValueError(f"gd and ridge must hold as many curves, got {len(gd)} and {len(ridge)}")
    for name, curves in (("gd", gd), ("ridge", ridge)):
        for label, f in curves.items():
            _check_same_length(x, f, name, label)
    for (gd_label, f_gd), (ridge_label, f_ridge) in zip(gd.items(), ridge.items(), strict=True):
        (line,) = ax.plot(x, f_gd.detach().cpu().numpy(), label=gd_label)
        ax.plot(
            x, f_ridge.detach().cpu().numpy(), ls="--", color=line.get_color(), label=ridge_label
        )
    ax.set_xscale("log")
    ax.set_xlabel("eigenvalue of the hessian")
    ax.set_ylabel("filter factor")
    ax.legend(fontsize="small")
    return ax


def plot_weight_paths(
    trajectory: torch.Tensor,
    ridge_path: torch.Tensor,
    ax: Axes,
    *,
    hessian: torch.Tensor | None = None,
    optimum: torch.Tensor | None = None,
    levels: int = 6,
) -> Axes:
    r"""A 2-D gradient-descent trajectory (dots) and a ridge path (line) in weight space,
    over the loss's elliptic contours when ``hessian`` and ``optimum`` are given.

    Args:
        trajectory (Tensor): :math:`(T, 2)` iterates :math:`w_0, \dots, w_{T-1}`.
        ridge_path (Tensor): :math:`(A, 2)` ridge solutions, any order of :math:`\alpha`.
        hessian (Tensor, optional): :math:`(2, 2)` Hessian :math:`H` of the quadratic loss.
        optimum (Tensor, optional): :math:`(2,)` unregularized minimizer :math:`w^*`.
        levels (int): number of contour lines, geometrically spaced in loss up to the
            loss of the point farthest from :math:`w^*`. Default: ``6``.

    Every contour line is a whole ellipse (the grid it is computed on covers the largest
    one); the axes show the points, so the frame may crop the outer ellipses.
    """
    trajectory = trajectory.detach().cpu().double()
    ridge_path = ridge_path.detach().cpu().double()
    if trajectory.shape[-1] != 2 or ridge_path.shape[-1] != 2:
        raise ValueError("trajectory and ridge_path must be (T, 2) and (A, 2): 2-D weights")
    view = None
    if hessian is not None and optimum is not None:
        H, w_star = hessian.cpu().double(), optimum.view(2).cpu().double()
        points = torch.cat([trajectory, ridge_path, w_star.view(1, 2)])
        low, high = points.min(0).values, points.max(0).values
        pad = 0.15 * (high - low).clamp_min(1e-12)
        view = (low - pad, high + pad)  # what the axes show
        D = points - w_star
        top = (0.5 * torch.einsum("ni,ij,nj->n", D, H, D)).max().item()  # farthest point
        if top > 0 and torch.linalg.eigvalsh(H).min() > 0:
            # every contour is a whole ellipse: the grid covers the largest one, whose
            # half-widths are sqrt(2 top (H^-1)_ii), and the axes are cropped to the view
            reach = (2 * top * torch.linalg.inv(H).diagonal()).sqrt()  # (2,)
            grid_low = torch.minimum(view[0], w_star - 1.05 * reach)
            grid_high = torch.maximum(view[1], w_star + 1.05 * reach)
            u = torch.linspace(float(grid_low[0]), float(grid_high[0]), 400)
            v = torch.linspace(float(grid_low[1]), float(grid_high[1]), 400)
            U, V = torch.meshgrid(u, v, indexing="xy")
            E = torch.stack([U, V], -1).double() - w_star  # (400, 400, 2)
            excess = 0.5 * torch.einsum("...i,ij,...j->...", E, H, E)  # L(w) - L(w*)
            heights = torch.logspace(math.log10(top) - 3, math.log10(top), levels + 1)[1:]
            grid = (U.numpy(), V.numpy(), excess.numpy())
            ax.contour(*grid, levels=heights.tolist(), colors="0.75", linewidths=0.7)
    ax.plot(*ridge_path.T.numpy(), color="C1", label="ridge path")
    ax.plot(*trajectory.T.numpy(), ".", color="C0", ms=4, label="gradient descent")
    if optimum is not None:
        ax.plot(*optimum.cpu().tolist(), "k*", ms=10, label="$w^*$")
    ax.plot(0, 0, "ko", ms=4)
    if view is not None:
        ax.set_xlim(float(view[0][0]), float(view[1][0]))
        ax.set_ylim(float(view[0][1]), float(view[1][1]))
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")
    ax.legend(fontsize="small")
    return ax


def plot_stopping(
    history,
    ax: Axes,
    *,
    stops: dict | None = None,
    kept: int | None = None,
    train: bool = True,
    log: bool = True,
) -> Axes:
    """Training and validation loss per epoch of one run, with vertical lines where
    stopping rules fire and a marker on the epoch whose weights are kept.

    Args:
        history (History): a :class:`reglab.train.History` with ``val_loss``.
        stops (dict, optional): label -> stopping epoch (``None`` entries are skipped).
        kept (int, optional): the (1-based) epoch whose weights are restored.
        train (bool): draw the training loss too. Default: ``True``.
        log (bool): logarithmic loss axis. Default: ``True``.
    """
    if not len(history.epoch) or len(history.val_loss) != len(history.epoch):
        raise ValueError(
            f"history must hold val_loss for at least one epoch, got {len(history.epoch)} "
            f"epochs and {len(history.val_loss)} val_loss values"
        )
    if train:
        ax.plot(history.epoch, history.train_loss, color="C0", label="training loss")
    ax.plot(history.epoch, history.val_loss, color="C1", label="validation loss")
    for i, (label, epoch) in enumerate((stops or {}).items()):
        if epoch is not None:
            ax.axvline(epoch, color=f"C{i + 2}", ls=":", lw=1.2, label=f"{label} stops")
    if kept is not None:
        ax.plot(kept, history.val_loss[kept - 1], "o", color="C1", mfc="white", ms=7,
                label=f"kept weights (epoch {kept})")  # fmt: skip
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    ax.legend(fontsize="small")
    return ax
