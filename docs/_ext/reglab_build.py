"""What a build of the book prepares before it reads a page (conf.py holds only settings).

- **The execution key.** MyST-NB's cache matches a chapter by its code cells only, but
  the outputs also depend on the library the cells import, the installed torch and
  torchvision, the figure settings (``docs/matplotlibrc`` and the kernel's IPython
  profile), the data root and the device. :func:`execution_inputs` collects all of them
  and :func:`execution_key` hashes them; the cache lives in a folder named by the key, and
  a new key makes Sphinx re-read every chapter, so nothing stale is ever published.
- **The kernel environment.** Kernels inherit the build's environment: this checkout's
  ``reglab`` first on ``PYTHONPATH``, the IPython profile (SVG figures with stable
  bytes), the matplotlibrc.
- **MathJax, served by the site** (HTML builders only): installed from npm
  (``docs/package-lock.json``) into ``_static/mathjax``. Other builders, ``linkcheck``
  included, never need Node.

All of it runs on ``builder-inited``; importing conf.py does no work.
``python docs/_ext/reglab_build.py`` prints the key (the Pages workflow caches by it).
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
MATHJAX_FONT = "mathjax-newcm-font"


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


def _paths(app: Sphinx) -> tuple[Path, Path]:
    root = Path(app.config.reglab_root or Path(app.confdir).parent).resolve()
    return root, Path(app.outdir).parent


def prepare_execution(app: Sphinx) -> None:
    """Key the execution cache, write the kernel profile, set the kernels' environment."""
    root, build = _paths(app)
    sys.path.insert(0, str(root))  # the reglab whose source is hashed is the one imported
    inputs = current_inputs(root, Path(app.confdir))
    key = execution_key(inputs)
    app.config.reglab_execution_inputs = inputs
    app.config.reglab_execution_key = key
    caches = build / ".jupyter_cache"
    app.config.nb_execution_cache_path = str(caches / key)  # read by MyST-NB (priority 500)
    if caches.is_dir():  # caches of other keys can never match again: dead weight
        for stale in caches.iterdir():
            if stale.name != key:
                shutil.rmtree(stale, ignore_errors=True)
    logger.info(f"[reglab] execution key {key} (cache {caches / key})")

    profile = build / "ipython" / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "ipython_kernel_config.py").write_text(KERNEL_CONFIG)
    os.environ["IPYTHONDIR"] = str(profile.parent)
    os.environ["MATPLOTLIBRC"] = str(Path(app.confdir) / "matplotlibrc")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(root), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    os.environ.setdefault("TQDM_DISABLE", "1")  # progress bars are for terminals, not pages


def reread_chapters_on_a_new_key(app: Sphinx, env, added, changed, removed) -> list[str]:
    """A new key re-reads every notebook: the cache folder of the new key is empty, so
    MyST-NB executes them, and no page keeps outputs computed under the old key."""
    previous = getattr(env, "reglab_execution_key", None)
    env.reglab_execution_key = app.config.reglab_execution_key
    if previous in (None, app.config.reglab_execution_key):
        return []
    chapters = [d for d in env.found_docs if "kernelspec" in env.metadata.get(d, {})]
    logger.info(f"[reglab] execution key changed: re-reading {len(chapters)} notebook(s)")
    return chapters


def install_mathjax(app: Sphinx) -> None:
    """Install MathJax 4 and its font from npm into ``_static/mathjax`` (HTML only)."""
    if app.builder.format != "html" or not app.config.reglab_bundled_mathjax:
        return
    docs = Path(app.confdir)
    target = docs / "_static" / "mathjax"
    wanted = [target / "tex-chtml.js", target / "fonts" / MATHJAX_FONT / "chtml.js"]
    if all(p.exists() for p in wanted):
        return
    modules = docs / "node_modules"
    if not (modules / "mathjax" / "tex-chtml.js").exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(
                "The book serves MathJax itself and installs it with npm "
                "(docs/package-lock.json), but `npm` was not found. Install Node.js."
            )
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=docs, check=True)
    staging = target.with_name("mathjax.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(modules / "mathjax", staging, ignore=shutil.ignore_patterns("*.md"))
    font = modules / "@mathjax" / MATHJAX_FONT
    shutil.copytree(font / "chtml", staging / "fonts" / MATHJAX_FONT / "chtml")
    shutil.copy2(font / "chtml.js", staging / "fonts" / MATHJAX_FONT / "chtml.js")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def setup(app: Sphinx) -> dict:
    app.add_config_value("reglab_root", "", "env", str)  # default: conf.py's parent folder
    app.add_config_value("reglab_bundled_mathjax", False, "html", bool)
    # set on builder-inited; never a reason to rebuild by themselves (the key is)
    app.add_config_value("reglab_execution_key", "", "", str)
    app.add_config_value("reglab_execution_inputs", {}, "", dict)
    app.connect("builder-inited", prepare_execution, priority=400)  # before MyST-NB
    app.connect("builder-inited", install_mathjax)
    app.connect("env-get-outdated", reread_chapters_on_a_new_key)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    DOCS = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(DOCS.parent))
    print(execution_key(current_inputs(DOCS.parent, DOCS)))
