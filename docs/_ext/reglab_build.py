"""What a build of the book prepares before it reads a page (conf.py holds only settings).

- **The execution key.** MyST-NB's cache matches a chapter by its code cells only, but
  the outputs also depend on the library the cells import, the installed torch and
  torchvision, the figure settings (``docs/matplotlibrc`` and the kernel's IPython
  profile), the data root and the device. :func:`execution_inputs` collects all of them
  and :func:`execution_key` hashes them; the cache lives in a folder named by the key
  (``nb_execution_cache_path``, an ``env`` setting: a new key makes Sphinx re-read every
  page, so nothing stale is ever published).
- **The chapters' kernel.** A kernelspec of its own, written into the build folder: this
  checkout's ``reglab`` first on ``PYTHONPATH``, the IPython profile (SVG figures with
  stable bytes), the matplotlibrc, in the kernelspec's ``env``. The build's own
  environment is left alone (but for ``JUPYTER_PATH``; see :func:`write_kernelspec`).
- **MathJax for the build** (HTML builders only): installed from npm
  (``docs/package-lock.json``) into ``docs/node_modules``, where ``reglab_math`` runs it
  on Node to typeset the math into the pages. Other builders, ``linkcheck`` included,
  never need Node.

Configuration is changed on ``config-inited`` (Sphinx's event for it, before the
environment compares the configuration with the previous build's); the kernelspec and
MathJax, which need the build folder or the builder, on ``builder-inited``. Importing
conf.py does no work. ``python docs/_ext/reglab_build.py`` prints the key (the Pages
workflow caches by it).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: The chapters' kernels read this IPython profile: SVG figures, cropped, with no
#: creation date (two builds write the same bytes); matplotlibrc does the styling.
KERNEL_CONFIG = """\
c.InlineBackend.figure_formats = {'svg'}
c.InlineBackend.rc = {}
c.InlineBackend.print_figure_kwargs = {'bbox_inches': 'tight', 'metadata': {'Date': None}}
"""
#: Installed distributions whose version can change a chapter's numbers or figures.
PACKAGES = ("torch", "torchvision", "numpy", "scipy", "matplotlib")
#: The chapters' kernel: ``python3`` in their metadata (what Colab and readers run) is
#: aliased to this kernelspec, which the build writes (``nb_kernel_rgx_aliases``).
KERNEL_NAME = "reglab-book"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def data_fingerprint(root: Path) -> dict[str, list | None]:
    """``[size, sizes in the IDX header]`` of each MNIST file under ``root`` (``None`` when
    absent; the error's text in place of the sizes when the file is corrupt).

    The header holds the number of images and their size, so a 5,000-image root and full
    MNIST differ; hashing the whole 47 MB would add nothing a header and a size miss.
    """
    from reglab.data.mnist import MNIST_FILES, DatasetCorruptError, read_idx_header

    raw = Path(root) / "MNIST" / "raw"
    fingerprint: dict[str, list | None] = {}
    for name, ndim in (file for files in MNIST_FILES.values() for file in files):
        path = raw / name
        if not path.is_file():
            fingerprint[name] = None
            continue
        try:
            sizes: list | str = list(read_idx_header(path, ndim))
        except DatasetCorruptError as problem:
            sizes = f"corrupt: {problem}"
        fingerprint[name] = [path.stat().st_size, sizes]
    return fingerprint


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def execution_inputs(
    *,
    package: Path,
    matplotlibrc: Path,
    data_root: Path,
    device: str,
    kernel_config: str = KERNEL_CONFIG,
) -> dict:
    """Everything besides a chapter's own cells that its outputs depend on.

    Args:
        package: the ``reglab`` package folder the kernels import (its ``*.py`` are hashed).
        matplotlibrc: the figure style the kernels load.
        data_root: the folder holding ``MNIST/raw`` (see :func:`data_fingerprint`).
        device: the device the chapters run on (``reglab.train.default_device()``).
        kernel_config: the IPython profile the kernels load.
    """
    sources = {
        path.relative_to(package).as_posix(): _sha256(path.read_bytes())
        for path in sorted(Path(package).rglob("*.py"))
    }
    return {
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
        "reglab": sources,
        "matplotlibrc": _sha256(Path(matplotlibrc).read_bytes()),
        "kernel_config": _sha256(kernel_config.encode()),
        "data": data_fingerprint(data_root),
        "device": device,
    }


def execution_key(inputs: dict) -> str:
    """A short, stable hash of :func:`execution_inputs`."""
    return _sha256(json.dumps(inputs, sort_keys=True).encode())[:16]


def current_inputs(root: Path, docs: Path) -> dict:
    """:func:`execution_inputs` of this checkout, as the chapters' kernels will see it."""
    from reglab.data import data_root
    from reglab.train import default_device

    return execution_inputs(
        package=root / "reglab",
        matplotlibrc=docs / "matplotlibrc",
        data_root=data_root(),
        device=str(default_device()),
    )


# -- Sphinx hooks ---------------------------------------------------------------------


def _paths(app: Sphinx, config) -> tuple[Path, Path]:
    root = Path(config.reglab_root or Path(app.confdir).parent).resolve()
    return root, Path(app.outdir).parent


def key_the_execution_cache(app: Sphinx, config) -> None:
    """``config-inited``: the execution key, the cache folder of that key for MyST-NB
    (``nb_execution_cache_path``, read on ``builder-inited``), and the alias that runs
    the chapters in :data:`KERNEL_NAME`."""
    root, build = _paths(app, config)
    sys.path.insert(0, str(root))  # the reglab whose source is hashed is the one imported
    inputs = current_inputs(root, Path(app.confdir))
    key = execution_key(inputs)
    config.reglab_execution_inputs = inputs
    config.reglab_execution_key = key
    caches = build / ".jupyter_cache"
    config.nb_execution_cache_path = str(caches / key)
    config.nb_kernel_rgx_aliases = {"python3": KERNEL_NAME, **config.nb_kernel_rgx_aliases}
    logger.info(f"[reglab] execution key {key} (cache {caches / key})")


def kernel_environment(root: Path, docs: Path, build: Path) -> dict[str, str]:
    """The variables the chapters' kernel starts with (beside the build's own)."""
    return {
        "IPYTHONDIR": str(build / "ipython"),  # profile_default/ipython_kernel_config.py
        "MATPLOTLIBRC": str(docs / "matplotlibrc"),
        "PYTHONPATH": os.pathsep.join([str(root), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", "0"),
        "TQDM_DISABLE": "1",  # progress bars are for terminals, not pages
    }


def write_kernelspec(app: Sphinx) -> None:
    """``builder-inited``: write the chapters' kernelspec and IPython profile into the
    build folder, drop the caches of other keys.

    The kernel gets its environment from the kernelspec's ``env`` (jupyter_client merges
    it into the environment of the kernel it starts), not from ``os.environ``. Finding
    the kernelspec does take one variable: MyST-NB executes through jupyter-cache and
    nbclient, which start ``AsyncKernelManager(kernel_name=...)`` with the default
    ``KernelSpecManager`` and accept no other (MyST-NB passes no ``kernel_manager_class``
    nor ``KernelSpecManager``); that manager searches ``jupyter_path("kernels")``, where
    the only folder a build may add is ``$JUPYTER_PATH``. So the build folder's
    ``jupyter`` is prepended to ``JUPYTER_PATH``, and nothing else is set.
    """
    root, build = _paths(app, app.config)
    caches = build / ".jupyter_cache"
    if caches.is_dir():  # caches of other keys can never match again: dead weight
        for stale in caches.iterdir():
            if stale.name != app.config.reglab_execution_key:
                shutil.rmtree(stale, ignore_errors=True)
    profile = build / "ipython" / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "ipython_kernel_config.py").write_text(KERNEL_CONFIG)
    jupyter = build / "jupyter"
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (reglab book)",
        "language": "python",
        "env": kernel_environment(root, Path(app.confdir), build),
    }
    (jupyter / "kernels" / KERNEL_NAME).mkdir(parents=True, exist_ok=True)
    (jupyter / "kernels" / KERNEL_NAME / "kernel.json").write_text(json.dumps(spec, indent=1))
    paths = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    if str(jupyter) not in paths:
        os.environ["JUPYTER_PATH"] = os.pathsep.join([str(jupyter), *paths])


def npm_install(docs: Path) -> Path:
    """``docs/node_modules``, installed from ``docs/package-lock.json`` when MathJax is missing."""
    modules = docs / "node_modules"
    if not (modules / "mathjax" / "package.json").exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(
                "The book typesets its math with MathJax from npm at build time "
                "(docs/package-lock.json), but `npm` was not found. Install Node.js."
            )
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=docs, check=True)
    return modules


def install_mathjax(app: Sphinx) -> None:
    """Install MathJax 4 and its font from npm (HTML only), for ``reglab_math`` to run.

    Done on ``builder-inited`` so that a missing Node.js fails the build at once, not after
    every chapter has executed. Nothing is copied into ``_static``: the pages load no
    MathJax.
    """
    if app.builder.format != "html" or not app.config.reglab_bundled_mathjax:
        return
    npm_install(Path(app.confdir))
    # earlier builds copied MathJax (5 MB) into _static: never publish it again
    for stale in (
        Path(app.confdir) / "_static" / "mathjax",
        Path(app.outdir) / "_static" / "mathjax",
    ):
        shutil.rmtree(stale, ignore_errors=True)


def setup(app: Sphinx) -> dict:
    app.add_config_value("reglab_root", "", "env", str)  # default: conf.py's parent folder
    app.add_config_value("reglab_bundled_mathjax", False, "html", bool)
    # set on config-inited; never a reason to rebuild by themselves (the cache path is)
    app.add_config_value("reglab_execution_key", "", "", str)
    app.add_config_value("reglab_execution_inputs", {}, "", dict)
    app.connect("config-inited", key_the_execution_cache)
    app.connect("builder-inited", write_kernelspec)
    app.connect("builder-inited", install_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    DOCS = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(DOCS.parent))
    print(execution_key(current_inputs(DOCS.parent, DOCS)))
