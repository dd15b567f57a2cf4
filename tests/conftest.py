"""Shared fixtures: a tiny MNIST written in IDX format, and the real data root when present."""

from __future__ import annotations

import importlib.util
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from reglab import environment
from reglab.data import data_root

MNIST_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def write_idx_mnist(root: Path, images: torch.Tensor, labels: torch.Tensor, train: bool) -> None:
    """Write uint8 ``images`` (N, 28, 28) and ``labels`` (N,) as torchvision's raw MNIST files."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    image_file, label_file = MNIST_FILES[train]
    n = images.shape[0]
    # IDX header: magic number (0x0803 for 3-D uint8, 0x0801 for 1-D), then big-endian sizes
    (raw / image_file).write_bytes(
        struct.pack(">IIII", 0x0803, n, 28, 28) + images.numpy().tobytes()
    )
    (raw / label_file).write_bytes(struct.pack(">II", 0x0801, n) + labels.numpy().tobytes())


@pytest.fixture
def tiny_mnist(tmp_path) -> tuple[Path, torch.Tensor, torch.Tensor]:
    """A data root with 20 random training and 10 test 'digits': (root, images, labels)."""
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (20, 28, 28), dtype=torch.uint8, generator=g)
    labels = torch.arange(20, dtype=torch.uint8) % 10
    write_idx_mnist(tmp_path, images, labels, train=True)
    write_idx_mnist(tmp_path, images[:10], labels[:10], train=False)
    return tmp_path, images, labels


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The configured data root (``$REGLAB_DATA``); skips when it holds no MNIST."""
    root = data_root()
    if not (root / "MNIST" / "raw" / MNIST_FILES[True][0]).exists():
        pytest.skip(f"no MNIST under {root}; set REGLAB_DATA to run this test")
    return root


DOCS = Path(__file__).resolve().parents[1] / "docs"


def load_script(name: str):
    """Import ``scripts/<name>.py`` (the scripts folder is not a package)."""
    spec = importlib.util.spec_from_file_location(name, DOCS.parent / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def site(tmp_path_factory, mnist_root) -> Path:
    """The whole book, built strictly into a temporary folder (shared by the docs tests).

    ``REGLAB_SITE`` may point at an already built site to test instead.
    """
    if environment.get("REGLAB_SITE"):
        return environment.path("REGLAB_SITE", "")
    out = tmp_path_factory.mktemp("html")
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-n",
        "-b",
        "html",
        str(DOCS),
        str(out),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=DOCS.parent)
    assert result.returncode == 0, (
        f"strict docs build failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
    )
    assert "WARNING" not in result.stderr.replace("[IPKernelApp] WARNING", "")
    return out
