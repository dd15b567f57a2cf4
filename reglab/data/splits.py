r"""Validation splits: choose hyperparameters on data carved from the training set.

The test set is touched once, for the final numbers; everything the book selects (a
penalty strength, a dropout probability, a stopping epoch) is selected on a validation
split drawn here, class-balanced and disjoint from what the model trains on.
"""

from __future__ import annotations

import torch

from reglab._checks import check_positive_int
from reglab.data.mnist import balanced_subset

__all__ = ["draw_train_val", "train_val_indices", "train_val_split"]


def train_val_indices(
    y: torch.Tensor,
    *,
    val_fraction: float | None = None,
    val_per_class: int | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Disjoint, class-balanced training and validation indices into ``y``.

    Each class :math:`k` with :math:`n_k` samples gives
    :math:`\mathrm{round}(f \cdot n_k)` samples (``val_fraction`` :math:`f`) or exactly
    ``val_per_class`` samples to validation; the rest stay in training.

    Args:
        y (Tensor): :math:`(N,)` integer class labels.
        val_fraction (float, optional): fraction of each class held out, in (0, 1).
        val_per_class (int, optional): samples held out per class, ``>= 1``. Give
            exactly one of ``val_fraction`` and ``val_per_class``.
        generator (torch.Generator, optional): makes the draw reproducible.

    Returns:
        (Tensor, Tensor): training and validation indices, each shuffled.

    Raises:
        ValueError: neither or both sizes given, a size outside its range, or a class
            that would be left with no training (or no validation) sample.
    """
    if (val_fraction is None) == (val_per_class is None):
        raise ValueError("give exactly one of val_fraction and val_per_class")
    if val_fraction is not None and not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if val_per_class is not None:
        check_positive_int(val_per_class, "val_per_class")
    if y.ndim != 1 or len(y) == 0:
        raise ValueError(f"y must be a non-empty 1-D tensor of labels, got shape {tuple(y.shape)}")
    train_idx, val_idx = [], []
    for c in torch.unique(y).tolist():
        members = torch.nonzero(y == c).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        n_val = round(val_fraction * len(members)) if val_fraction is not None else val_per_class
        if not 1 <= n_val < len(members):
            raise ValueError(
                f"class {c} has {len(members)} samples: cannot hold out {n_val} for "
                "validation and keep at least one for training"
            )
        val_idx.append(members[:n_val])
        train_idx.append(members[n_val:])
    train_idx, val_idx = torch.cat(train_idx), torch.cat(val_idx)
    train_idx = train_idx[torch.randperm(len(train_idx), generator=generator)]
    val_idx = val_idx[torch.randperm(len(val_idx), generator=generator)]
    return train_idx, val_idx


def train_val_split(
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    val_fraction: float | None = None,
    val_per_class: int | None = None,
    generator: torch.Generator | None = None,
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    r"""Split ``(X, y)`` into class-balanced, disjoint training and validation sets.

    Args:
        X (Tensor): :math:`(N, *)` inputs.
        y (Tensor): :math:`(N,)` integer labels.
        val_fraction (float, optional): fraction of each class held out, in (0, 1).
        val_per_class (int, optional): samples held out per class, ``>= 1``.
        generator (torch.Generator, optional): makes the draw reproducible.

    Returns:
        ((X_train, y_train), (X_val, y_val)).

    Example::

        >>> g = torch.Generator().manual_seed(0)
        >>> (X_train, y_train), (X_val, y_val) = train_val_split(X, y, val_per_class=50,
        ...                                                      generator=g)
    """
    if len(X) != len(y):
        raise ValueError(f"X and y differ in length: {len(X)} != {len(y)}")
    train_idx, val_idx = train_val_indices(
        y, val_fraction=val_fraction, val_per_class=val_per_class, generator=generator
    )
    return (X[train_idx], y[train_idx]), (X[val_idx], y[val_idx])


def draw_train_val(
    y: torch.Tensor,
    per_class: int,
    val_per_class: int,
    *,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One seed's data: ``per_class`` training and ``val_per_class`` validation samples of
    every class, drawn without replacement from the pool ``y``, disjoint.

    In a paired comparison a seed draws the data, the initial weights and the batch order.
    Drawing the subset per seed puts data sampling into the seed-to-seed spread, so an
    interval over seeds covers a new draw of the training set, not only a new
    initialization. Every setting trained with the same seed sees the same subset.

    .. math::
        \mathcal D_s = \{\text{per\_class} + \text{val\_per\_class}
        \text{ samples of each class of the pool, drawn with seed } s\}

    Args:
        y (Tensor): :math:`(N,)` integer labels of the pool.
        per_class (int): training samples per class, ``>= 1``.
        val_per_class (int): validation samples per class, ``>= 1``.
        generator (torch.Generator): the seed's stream; advanced by the draw.

    Returns:
        (Tensor, Tensor): training and validation indices into ``y``, each shuffled.

    Raises:
        TypeError: ``generator`` is not a ``torch.Generator``.
        ValueError: a size is not a positive integer, or a class of the pool has fewer
            than ``per_class + val_per_class`` samples.

    Example::

        >>> g = torch.Generator().manual_seed(3)            # seed 3
        >>> train_idx, val_idx = draw_train_val(y_pool, 50, 100, generator=g)
        >>> model = mlp(generator=g)                        # then the weights, the order
    """
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator (the seed's stream), got "
            f"{type(generator).__name__}"
        )
    check_positive_int(per_class, "per_class")
    check_positive_int(val_per_class, "val_per_class")
    pool = balanced_subset(y, per_class + val_per_class, generator=generator)
    train_idx, val_idx = train_val_indices(
        y[pool], val_per_class=val_per_class, generator=generator
    )
    return pool[train_idx], pool[val_idx]
