r"""MNIST, loaded with torchvision's own loader from a configurable data root.

The data root is read from the environment variable ``REGLAB_DATA``; without it the
book uses a per-user cache folder (``$XDG_CACHE_HOME/reglab`` or ``~/.cache/reglab``).
torchvision downloads MNIST into that root when it is missing and the machine is
online. Offline, point ``REGLAB_DATA`` at a folder that already holds ``MNIST/raw``.
"""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path

import torch
from torchvision import datasets
from torchvision.transforms.v2 import functional as TF

from reglab import environment
from reglab._checks import check_positive_int

__all__ = [
    "MNIST_FILES",
    "MNIST_MEAN",
    "MNIST_STD",
    "DatasetCorruptError",
    "DatasetNotFoundError",
    "balanced_subset",
    "data_root",
    "load_mnist",
    "mnist_tensors",
    "read_idx_header",
]

#: Per-pixel mean and standard deviation of the full MNIST training split (pixels in [0, 1]).
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


class DatasetNotFoundError(FileNotFoundError):
    """The dataset is not under the data root and could not be downloaded."""


class DatasetCorruptError(RuntimeError):
    """A dataset file is under the data root but is truncated or not the expected format."""


#: torchvision's raw MNIST files (under ``<root>/MNIST/raw``) of each split, ``True`` for
#: the training split: ``(file name, number of dimensions)`` for the images and the labels.
MNIST_FILES = {
    True: (("train-images-idx3-ubyte", 3), ("train-labels-idx1-ubyte", 1)),
    False: (("t10k-images-idx3-ubyte", 3), ("t10k-labels-idx1-ubyte", 1)),
}


def read_idx_header(path: str | os.PathLike, ndim: int) -> tuple[int, ...]:
    r"""The sizes in the header of the uint8 IDX file at ``path``, checked against its length.

    An IDX file is two zero bytes, the type code ``0x08`` (uint8), the number of dimensions,
    one big-endian uint32 per dimension, then the values, one byte each:

    .. math:: \text{file size} = 4 + 4\,\text{ndim} + \prod_i d_i .

    Args:
        path (path): the file, e.g. ``<root>/MNIST/raw/train-images-idx3-ubyte``.
        ndim (int): the number of dimensions the file must have (see ``MNIST_FILES``).

    Returns:
        tuple[int, ...]: the sizes :math:`(d_1, \dots, d_{ndim})`, e.g. ``(N, 28, 28)``.

    Raises:
        DatasetCorruptError: the file is shorter than its header, its header is not that of
            a uint8 IDX file with ``ndim`` dimensions, or its size is not the one the header
            implies (a partial download); the message says which.

    Example::

        >>> read_idx_header(data_root() / "MNIST" / "raw" / "t10k-labels-idx1-ubyte", 1)
        (10000,)
    """
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as f:
        header = f.read(4 + 4 * ndim)
    if len(header) < 4 + 4 * ndim:
        raise DatasetCorruptError(f"it has {size} bytes, fewer than the {4 + 4 * ndim}-byte header")
    if header[:3] != b"\x00\x00\x08" or header[3] != ndim:
        raise DatasetCorruptError(
            f"its header {header[:4].hex()} is not that of a uint8 IDX file with {ndim} "
            f"dimension{'s' if ndim > 1 else ''} (0000080{ndim})"
        )
    dims = struct.unpack(f">{ndim}I", header[4:])  # big-endian uint32 sizes
    expected = 4 + 4 * ndim + math.prod(dims)  # header + one byte per value
    if size != expected:
        raise DatasetCorruptError(
            f"it has {size} bytes; its header {dims} needs {expected} (a partial download?)"
        )
    return dims


def data_root() -> Path:
    """Return the folder datasets are read from (and downloaded into).

    ``$REGLAB_DATA`` when set, else ``$XDG_CACHE_HOME/reglab`` (``~/.cache/reglab``).
    """
    return environment.data_root()  # one rule, readable without torch (the docs build)


def load_mnist(
    train: bool = True,
    transform=None,
    *,
    root: str | os.PathLike | None = None,
    download: bool = True,
) -> datasets.MNIST:
    r"""Load MNIST through :class:`torchvision.datasets.MNIST`.

    Args:
        train (bool): the training split if ``True`` (default), else the 10,000-image test split.
        transform (callable, optional): applied to each PIL image, e.g. a
            ``torchvision.transforms.v2`` pipeline. Default: ``None``.
        root (path, optional): the data root. Default: :func:`data_root`.
        download (bool): let torchvision download the files when they are missing.
            Default: ``True``. Files already present are never downloaded again.

    Raises:
        DatasetNotFoundError: the files are not under ``root`` and the download failed
            (or was not allowed). The message names the folder, the missing files, and
            how to fix it.
        DatasetCorruptError: a file of the split is there but truncated or not an IDX file
            of the right kind; the message names the file and what is wrong with it.

    Example::

        >>> train_set = load_mnist(train=True)
        >>> X, y = train_set[0]          # a PIL image and its label
        >>> len(train_set)               # whatever the data root holds: print it
    """
    root = Path(root).expanduser() if root is not None else data_root()
    raw = root / "MNIST" / "raw"
    if not isinstance(train, bool):
        raise TypeError(f"train must be a bool (True: training split), got {train!r}")
    split = "train" if train else "test"
    fix = (
        f"To fix it, either\n"
        f"  * set the environment variable REGLAB_DATA to a folder that holds MNIST/raw "
        f"(e.g. `export REGLAB_DATA=/path/to/data`), or\n"
        f"  * connect to the internet so torchvision can download MNIST into {root}."
    )
    present = [(raw / name, ndim) for name, ndim in MNIST_FILES[train] if (raw / name).is_file()]
    for path, ndim in present:  # a file that is there but broken is not "missing"
        try:
            read_idx_header(path, ndim)
        except DatasetCorruptError as problem:
            raise DatasetCorruptError(
                f"MNIST ({split} split): {path} is corrupt: {problem}.\nDelete it (torchvision "
                f"then downloads it again when online) or replace it with a complete copy."
            ) from None
    try:
        return datasets.MNIST(root, train=train, transform=transform, download=download)
    except (RuntimeError, OSError) as err:  # torchvision raises RuntimeError on both failures
        missing = [
            name
            for names in MNIST_FILES.values()
            for name, _ in names
            if not (raw / name).is_file()
        ]
        if not missing:  # every file is there and its header checked out: not a download issue
            raise DatasetCorruptError(
                f"MNIST ({split} split) under {raw} could not be read: {err}"
            ) from err
        what = (
            "was not found" if len(missing) == 4 else f"is incomplete: {', '.join(missing)} missing"
        )
        how = "the download failed" if download else "download=False"
        raise DatasetNotFoundError(
            f"MNIST ({split} split) {what} in {raw} and {how} ({err}).\n{fix}"
        ) from err


def mnist_tensors(
    train: bool = True,
    *,
    root: str | os.PathLike | None = None,
    download: bool = True,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Return a whole MNIST split as two in-memory tensors, with no per-sample decoding.

    Pixels are scaled to [0, 1] exactly as ``v2.ToDtype(torch.float32, scale=True)`` does.

    Args:
        train (bool): training split (default) or test split.
        root, download: as in :func:`load_mnist`.
        dtype (torch.dtype): dtype of ``X``, a floating-point one. Default: ``torch.float32``.

    Raises:
        TypeError: ``dtype`` is not floating point (an integer dtype would hold the values
            scaled to its own range, up to 9.2e18 for ``int64``, not [0, 1]).

    Shape:
        - X: :math:`(N, 1, 28, 28)`, values in [0, 1]
        - y: :math:`(N,)`, ``torch.int64`` class labels 0..9

    Example::

        >>> X, y = mnist_tensors(train=False)
        >>> X.shape
        torch.Size([10000, 1, 28, 28])
    """
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"dtype must be a floating-point torch.dtype (pixels are scaled to [0, 1]), got {dtype}"
        )
    dataset = load_mnist(train, root=root, download=download)
    # The same function v2.ToDtype(dtype, scale=True) calls, on the whole uint8 batch at once.
    X = TF.to_dtype(dataset.data.unsqueeze(1), dtype, scale=True)  # (N, 1, 28, 28)
    y = dataset.targets.clone()  # (N,)
    return X, y


def balanced_subset(
    y: torch.Tensor, n_per_class: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Indices of a random subset with exactly ``n_per_class`` samples of every class.

    Args:
        y (Tensor): :math:`(N,)` integer labels.
        n_per_class (int): samples drawn (without replacement) from each class.
        generator (torch.Generator, optional): makes the draw reproducible.

    Returns:
        Tensor: :math:`(K \cdot n\_per\_class,)` indices into ``y``, shuffled.

    Raises:
        ValueError: ``n_per_class`` is not positive, a class has fewer samples, or ``y`` is
            empty, not 1-D, or not integer labels.

    Example::

        >>> X, y = mnist_tensors(train=True)
        >>> idx = balanced_subset(y, 100, generator=torch.Generator().manual_seed(0))
        >>> X_small, y_small = X[idx], y[idx]          # 1,000 digits, 100 of each
    """
    check_positive_int(n_per_class, "n_per_class")
    if y.dim() != 1:
        raise ValueError(f"y must be a 1-D tensor of labels, got shape {tuple(y.shape)}")
    if y.dtype.is_floating_point or y.dtype.is_complex:
        raise ValueError(f"y must hold integer class labels, got {y.dtype}")
    if len(y) == 0:
        raise ValueError("y is empty: no class to draw from")
    chosen = []
    for c in torch.unique(y).tolist():
        members = torch.nonzero(y == c).flatten()
        if len(members) < n_per_class:
            raise ValueError(
                f"class {c} has {len(members)} samples, fewer than n_per_class={n_per_class}"
            )
        chosen.append(members[torch.randperm(len(members), generator=generator)[:n_per_class]])
    idx = torch.cat(chosen)
    return idx[torch.randperm(len(idx), generator=generator)]
