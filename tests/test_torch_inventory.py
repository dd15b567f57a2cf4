"""The offline intersphinx inventories of PyTorch and torchvision (docs/_inventories, made
by docs/_ext/torch_inventory.py from the installed packages' public names) are current,
load in Sphinx, and send the book's torch names to their pages in PyTorch's documentation."""

import posixpath
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INVENTORIES = ROOT / "docs" / "_inventories"
TORCH = "https://docs.pytorch.org/docs/stable/"
VISION = "https://docs.pytorch.org/vision/stable/"


def _load(name: str, base: str) -> dict:
    from sphinx.util.inventory import InventoryFile

    with (INVENTORIES / name).open("rb") as f:
        inventory = InventoryFile.load(f, base, posixpath.join)
    data = getattr(inventory, "data", inventory)
    return {
        (role, key): getattr(entry, "uri", None) or entry[2]
        for role, entries in data.items()
        for key, entry in entries.items()
    }


@pytest.mark.slow
def test_the_inventories_are_those_of_the_installed_torch():
    script = ROOT / "docs" / "_ext" / "torch_inventory.py"
    result = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("role", "name", "uri"),
    [
        ("py:class", "torch.nn.Dropout", f"{TORCH}generated/torch.nn.Dropout.html"),
        ("py:class", "torch.Tensor", f"{TORCH}tensors.html#torch.Tensor"),
        ("py:method", "torch.Tensor.add", f"{TORCH}generated/torch.Tensor.add.html"),
        ("py:class", "torch.device", f"{TORCH}tensor_attributes.html#torch.device"),
        (
            "py:function",
            "torch.nn.functional.dropout",
            f"{TORCH}generated/torch.nn.functional.dropout.html",
        ),
        ("py:function", "torch.random.fork_rng", f"{TORCH}random.html#torch.random.fork_rng"),
        (
            "py:class",
            "torch.utils.data.DataLoader",
            f"{TORCH}data.html#torch.utils.data.DataLoader",
        ),
    ],
)
def test_torch_names_point_at_their_pages(role, name, uri):
    assert _load("torch.inv", TORCH)[role, name] == uri


def test_torchvision_names_point_at_their_pages():
    found = _load("torchvision.inv", VISION)
    name = "torchvision.transforms.v2.RandomAffine"
    assert found["py:class", name] == f"{VISION}generated/{name}.html"
    assert found["py:class", "torchvision.datasets.MNIST"].endswith(
        "torchvision.datasets.MNIST.html"
    )
    assert not any(key.startswith("torch.") for _, key in found)  # torch's names: torch.inv


def test_the_build_silences_no_torch_reference():
    """``nitpick_ignore_regex`` leaves torch names to the inventories: a torch reference
    that does not resolve fails the nitpicky build instead of turning into plain text."""
    import ast
    import re

    tree = ast.parse((ROOT / "docs" / "conf.py").read_text())
    (ignored,) = [
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and getattr(node.targets[0], "id", "") == ("nitpick_ignore_regex")
    ]
    names = ["torch.Tensor", "Tensor", "nn.Module", "Module", "torch.nn.functional.dropout",
             "torchvision.datasets.MNIST", "device", "Optimizer"]  # fmt: skip
    for role, pattern in ignored:
        for name in names:
            assert not re.fullmatch(pattern, name), (role, pattern, name)


def test_short_torch_names_have_full_names_in_the_inventory():
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    from reglab_book import TORCH_ALIASES

    entries = {**_load("torch.inv", TORCH), **_load("torchvision.inv", VISION)}
    names = {key for _, key in entries}
    assert set(TORCH_ALIASES.values()) <= names
