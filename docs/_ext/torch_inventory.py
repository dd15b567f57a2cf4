"""Offline intersphinx inventories for PyTorch and torchvision.

Writes ``docs/_inventories/torch.inv`` and ``docs/_inventories/torchvision.inv`` (Sphinx
inventory format 2, what ``sphobjinv`` writes too) from the public names of the
*installed* packages, pointing at the URL patterns of their published documentation:

- ``https://docs.pytorch.org/docs/stable/generated/<name>.html`` for functions, classes
  and their methods (``torch.nn.Dropout``, ``torch.nn.functional.dropout``,
  ``torch.Tensor.add``), except the objects documented on a page of their own
  (:data:`PAGES`: ``torch.Tensor`` on ``tensors.html``, ``torch.device`` on
  ``tensor_attributes.html``, ...);
- ``https://docs.pytorch.org/vision/stable/generated/<name>.html`` for torchvision.

Only names that import are listed: an inventory line is a public object of the torch
this book is built with. Usage (from the repository root)::

    python docs/_ext/torch_inventory.py            # write both inventories
    python docs/_ext/torch_inventory.py --check    # exit 1 if they are out of date

and in ``conf.py``::

    intersphinx_mapping = {
        "torch": ("https://docs.pytorch.org/docs/stable/", "_inventories/torch.inv"),
        "torchvision": ("https://docs.pytorch.org/vision/stable/", "_inventories/torchvision.inv"),
    }
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import warnings
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "_inventories"

#: Namespaces whose public names the documentation lists on ``generated/`` pages.
TORCH_NAMESPACES = [
    "torch", "torch.nn", "torch.nn.functional", "torch.nn.init", "torch.nn.utils",
    "torch.nn.utils.parametrize", "torch.optim", "torch.optim.lr_scheduler",
    "torch.optim.swa_utils", "torch.linalg", "torch.fft", "torch.special", "torch.func",
    "torch.autograd", "torch.autograd.functional", "torch.distributions", "torch.random",
    "torch.utils.data", "torch.testing", "torch.distributed",
]  # fmt: skip
TORCHVISION_NAMESPACES = [
    "torchvision.datasets", "torchvision.transforms", "torchvision.transforms.v2",
    "torchvision.transforms.functional", "torchvision.transforms.v2.functional",
    "torchvision.models", "torchvision.utils", "torchvision.io", "torchvision.ops",
]  # fmt: skip
#: Objects documented on a page of their own (anchor = the name), not under generated/.
PAGES = {
    "torch.Tensor": "tensors.html",
    "torch.dtype": "tensor_attributes.html",
    "torch.device": "tensor_attributes.html",
    "torch.layout": "tensor_attributes.html",
    "torch.memory_format": "tensor_attributes.html",
    "torch.random": "random.html",
    "torch.utils.data": "data.html",
    "torch.testing": "testing.html",
    "torch.distributed": "distributed.html",
    "torch.distributions": "distributions.html",
    "torch.autograd.Function": "autograd.html",
    "torch.optim.Optimizer": "optim.html",
}
#: Modules with a page of their own.
MODULE_PAGES = {
    "torch": "torch.html", "torch.nn": "nn.html", "torch.nn.functional": "nn.functional.html",
    "torch.nn.init": "nn.init.html", "torch.optim": "optim.html", "torch.linalg": "linalg.html",
    "torch.fft": "fft.html", "torch.special": "special.html", "torch.func": "func.html",
    "torch.autograd": "autograd.html", "torch.random": "random.html",
    "torch.utils.data": "data.html", "torch.testing": "testing.html",
    "torch.distributed": "distributed.html", "torch.distributions": "distributions.html",
    "torchvision.datasets": "datasets.html", "torchvision.transforms": "transforms.html",
    "torchvision.transforms.v2": "transforms.html", "torchvision.models": "models.html",
    "torchvision.utils": "utils.html", "torchvision.io": "io.html", "torchvision.ops": "ops.html",
}  # fmt: skip


def _public(module) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return sorted(n for n in names if not n.startswith("_"))


def _is_module(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def _role(obj) -> str | None:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if callable(obj):
        return "function"
    return None


def entries(namespaces: list[str]) -> dict[str, tuple[str, str]]:
    """``{name: (role, uri)}`` of the public objects of ``namespaces`` and of the methods of
    the classes among them (``torch.Tensor.add`` included). A URI ending in ``$`` ends in
    the name (Sphinx expands a trailing ``$`` only)."""
    found: dict[str, tuple[str, str]] = {}
    for space in namespaces:
        module = importlib.import_module(space)
        found[space] = ("module", MODULE_PAGES.get(space, f"generated/{space}.html"))
        for attr in _public(module):
            try:
                obj = getattr(module, attr)
            except AttributeError:
                continue
            role = _role(obj)
            if inspect.ismodule(obj) or role is None:
                continue
            name = f"{space}.{attr}"
            found.setdefault(name, (role, f"generated/{name}.html"))
            if role == "class":
                # torch.Tensor's methods live on its C base: list what it inherits too
                members = dir(obj) if name == "torch.Tensor" else vars(obj)
                for member in members:
                    value = getattr(obj, member, None)
                    if not member.startswith("_") and callable(value):
                        method = f"{name}.{member}"
                        found.setdefault(method, ("method", f"generated/{method}.html"))
    for prefix, page in PAGES.items():
        if prefix.split(".")[0] != namespaces[0].split(".")[0]:
            continue  # another package's page
        is_module = importlib.util.find_spec(prefix.split(".")[0]) and _is_module(prefix)
        for name, (role, _) in list(found.items()):
            inside = is_module and name.startswith(prefix + ".")  # a module's members
            if role != "module" and (name == prefix or inside):
                found[name] = (role, f"{page}#$")
        if prefix not in found:
            try:
                obj = importlib.import_module(prefix)
                found[prefix] = ("module", f"{page}#module-$")
            except ImportError:
                parent, attr = prefix.rsplit(".", 1)
                obj = getattr(importlib.import_module(parent), attr)
                found[prefix] = (_role(obj) or "data", f"{page}#$")
    return found


def inventory(project: str, version: str, found: dict[str, tuple[str, str]]) -> bytes:
    """Sphinx's inventory format 2: four header lines, then zlib-compressed entries."""
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    lines = "".join(f"{name} py:{role} 1 {uri} -\n" for name, (role, uri) in sorted(found.items()))
    return header.encode() + zlib.compress(lines.encode(), 9)


def build() -> dict[str, bytes]:
    import torch
    import torchvision

    warnings.simplefilter("ignore")  # deprecated names still import: they are listed

    version = torch.__version__.split("+")[0]
    vision = torchvision.__version__.split("+")[0]
    return {
        "torch.inv": inventory("PyTorch", version, entries(TORCH_NAMESPACES)),
        "torchvision.inv": inventory("Torchvision", vision, entries(TORCHVISION_NAMESPACES)),
    }


def main(argv: list[str]) -> int:
    stale = []
    for name, data in build().items():
        path = OUT / name
        if "--check" in argv:
            if not path.exists() or path.read_bytes() != data:
                stale.append(name)
            continue
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        names = zlib.decompress(data.split(b"zlib.\n", 1)[1]).count(b"\n")
        print(f"wrote {path} ({names} names)")
    if stale:
        print(f"out of date: {', '.join(stale)} (run python docs/_ext/torch_inventory.py)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
