"""What a build of the book prepares before it reads a page (conf.py holds only settings).

- **The execution key.** MyST-NB's cache matches a chapter by its code cells only, but
  the outputs also depend on the library the cells import, the installed torch and
  torchvision, the figure settings (``docs/matplotlibrc`` and the kernel's IPython
  profile), the data root and the device. :func:`execution_inputs` collects all of them
  and :func:`execution_key` hashes them; the cache lives in a folder named by the key
  (``nb_execution_cache_path``, an ``env`` setting: a new key makes Sphinx re-read every
  page, so nothing stale is ever published). The library counts by its code
  (:func:`code_digest`: a docstring or comment changes no output, so it re-executes
  nothing), except the modules whose source a page prints (``inspect.getsource``; found
  by :func:`shown_modules`): every byte of those counts.
- **The chapters' kernel.** A kernelspec of its own, written into the build folder: this
  checkout's ``reglab`` first on ``PYTHONPATH``, the IPython profile (SVG figures with
  stable bytes), the matplotlibrc, and one thread (:data:`KERNEL_THREADS`), in the
  kernelspec's ``env``. The build's own environment is left alone (but for
  ``JUPYTER_PATH``; see :func:`write_kernelspec`).
- **Chapters in parallel.** MyST-NB executes a notebook while Sphinx reads it, so
  ``sphinx-build -j N`` (Sphinx's parallel read: N forked processes, each reading a chunk
  of the changed documents) executes up to N chapters at once, each in its one-thread
  kernel; a serial build runs the same kernels, so both give the same numbers. Sphinx cuts
  the list into consecutive chunks: :func:`balance_parallel_read` reorders it so that the
  executing pages are dealt over the chunks that run first, and records how many
  processes read this build (``reglab_read_processes``, for the Build report).
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

import ast
import hashlib
import importlib
import inspect
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterable
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
#: Threads of each chapter's kernel, serial or parallel build alike: small models run
#: fastest on one, parallel chapters do not fight over cores, and thread count changes
#: rounding (so it is part of the execution key).
KERNEL_THREADS = 1
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


def code_digest(source: str) -> str:
    """What a module does, not what it says: the sha256 of its syntax tree without
    docstrings. Comments, blank lines and formatting never reach the tree, so editing them
    keeps the digest; any change to the code (a name, a constant, an operator) changes it.
    """
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                if isinstance(first.value.value, str):  # a def needs a body; a module not
                    node.body = node.body[1:] or (
                        [] if isinstance(node, ast.Module) else [ast.Pass()]
                    )
    return _sha256(ast.dump(tree).encode())


def _code_cells(path: Path) -> list[str]:
    """The code cells of a MyST notebook (``.md``) or of a gallery script (``.py``: one)."""
    if path.suffix == ".py":
        return [path.read_text(encoding="utf-8")]
    import jupytext

    notebook = jupytext.read(path)
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def _parse(cell: str) -> ast.Module:
    """A code cell as Python: IPython's ``%magic`` and ``!shell`` lines left out."""
    lines = [line for line in cell.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])


def _reglab_imports(tree: ast.AST) -> dict[str, str]:
    """``{local name: dotted path}`` of the reglab modules and objects ``tree`` imports."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "reglab":
            found.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "reglab":
                    found[a.asname or a.name.split(".")[0]] = a.name if a.asname else "reglab"
    return found


def _shown_expression(call: ast.Call) -> list[str] | None:
    """``["batchnorm", "batch_norm"]`` for ``inspect.getsource(batchnorm.batch_norm)``."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in {"getsource", "getsourcelines", "getsourcefile", "getfile"} or not call.args:
        return None
    chain, node = [], call.args[0]
    while isinstance(node, ast.Attribute):
        chain.insert(0, node.attr)
        node = node.value
    return [node.id, *chain] if isinstance(node, ast.Name) else []


def _resolve(dotted: str, attributes: list[str]):
    """The object at ``dotted`` (a module, or an attribute of one), then ``attributes``."""
    module, _, rest = dotted, "", []
    while True:
        try:
            obj = importlib.import_module(module)
            break
        except ModuleNotFoundError:
            module, _, last = module.rpartition(".")
            rest.insert(0, last)
            if not module:
                raise
    for name in [*rest, *attributes]:
        if not hasattr(obj, name):
            break
        obj = getattr(obj, name)
    return obj


def shown_modules(documents: Iterable[Path], package: Path) -> set[str]:
    """The files of ``package`` (relative paths) whose source a document prints.

    A chapter that prints library code (``inspect.getsource(batchnorm.batch_norm)``) shows
    its comments and docstring too. The object is resolved through the chapter's imports
    (``from reglab.nn import batchnorm``) to the file defining it; where the expression
    does not start at an imported name (a loop variable), every reglab name imported in
    that cell counts, or in the whole document when the cell imports none.
    """
    package = Path(package).resolve()
    shown: set[str] = set()
    for path in documents:
        text = Path(path).read_text(encoding="utf-8")
        if "getsource" not in text and "getfile" not in text:
            continue
        trees = [_parse(cell) for cell in _code_cells(Path(path))]
        everywhere = {k: v for tree in trees for k, v in _reglab_imports(tree).items()}
        for tree in trees:
            calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
            for expression in filter(lambda e: e is not None, map(_shown_expression, calls)):
                if expression and expression[0] in everywhere:
                    targets = [(everywhere[expression[0]], expression[1:])]
                else:
                    here = _reglab_imports(tree) or everywhere
                    targets = [(dotted, []) for dotted in here.values()]
                for dotted, attributes in targets:
                    obj = _resolve(dotted, attributes)
                    source = inspect.getsourcefile(obj if inspect.ismodule(obj) else
                                                   inspect.getmodule(obj) or obj)  # fmt: skip
                    if source and Path(source).resolve().is_relative_to(package):
                        shown.add(Path(source).resolve().relative_to(package).as_posix())
    return shown


def execution_inputs(
    *,
    package: Path,
    matplotlibrc: Path,
    data_root: Path,
    device: str,
    data_cache: Path | None = None,
    kernel_config: str = KERNEL_CONFIG,
    shown: Iterable[str] = (),
) -> dict:
    """Everything besides a chapter's own cells that its outputs depend on.

    Args:
        package: the ``reglab`` package folder the kernels import (the code of its
            ``*.py`` is hashed: :func:`code_digest`).
        matplotlibrc: the figure style the kernels load.
        data_root: the folder holding ``MNIST/raw`` (see :func:`data_fingerprint`).
        device: the device the chapters run on (``reglab.train.default_device()``).
        data_cache: a JSON file keeping the data fingerprint while no file of the data
            root's ``MNIST/raw`` changed in size or time (reading the headers imports
            reglab's MNIST reader, and so torch). Default: none, always read.
        kernel_config: the IPython profile the kernels load.
        shown: files of ``package`` whose source a page prints (:func:`shown_modules`):
            every byte of these is hashed, comments and docstrings included.
    """
    shown = sorted(set(shown))
    sources = {}
    for path in sorted(Path(package).rglob("*.py")):
        name = path.relative_to(package).as_posix()
        text = path.read_bytes()
        sources[name] = _sha256(text) if name in shown else code_digest(text.decode())
    return {
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
        "reglab": sources,
        "reglab_shown": shown,
        "matplotlibrc": _sha256(Path(matplotlibrc).read_bytes()),
        "kernel_config": _sha256(kernel_config.encode()),
        "data": _memo(data_cache, _stat_probe(data_root), lambda: data_fingerprint(data_root)),
        "device": device,
        "threads": KERNEL_THREADS,
    }


def execution_key(inputs: dict) -> str:
    """A short, stable hash of :func:`execution_inputs`."""
    return _sha256(json.dumps(inputs, sort_keys=True).encode())[:16]


def device_probe() -> dict:
    """What the chapters' device depends on, read without importing torch: the
    ``REGLAB_DEVICE`` override, ``CUDA_VISIBLE_DEVICES``, the NVIDIA device files and the
    installed torch."""
    from reglab import environment

    return {
        "REGLAB_DEVICE": environment.get("REGLAB_DEVICE") or "",
        "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "gpus": sorted(p.name for p in Path("/dev").glob("nvidia[0-9]*")),
        "torch": _version("torch"),
    }


def _memo(cache: Path | None, probe: dict, compute):
    """``compute()``, kept in the JSON file ``cache`` beside ``probe`` and taken from it
    while ``probe`` reads the same (no cache: always computed)."""
    if cache is not None and cache.is_file():
        try:
            saved = json.loads(cache.read_text())
        except ValueError:  # a torn write: compute again
            saved = {}
        if isinstance(saved, dict) and saved.get("probe") == probe and "value" in saved:
            return saved["value"]
    value = compute()
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"probe": probe, "value": value}, indent=1))
    return value


def _stat_probe(root: Path) -> dict:
    """Name, size and modification time of every file under ``root/MNIST/raw``."""
    raw = Path(root) / "MNIST" / "raw"
    files = sorted(raw.iterdir()) if raw.is_dir() else []
    return {
        "root": str(Path(root).resolve()),
        "files": [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in files if p.is_file()],
    }


def kernel_device(cache: Path | None = None) -> str:
    """``reglab.train.default_device()`` as the chapters' kernels will find it.

    Asking torch costs an ``import torch`` (seconds), most of a rebuild that has nothing
    to do. The answer is therefore kept in ``cache`` (a JSON file in the build folder)
    beside :func:`device_probe`'s reading, and torch is asked again only when that
    reading changes (another torch, a GPU added or hidden, ``REGLAB_DEVICE`` set).
    """

    def ask_torch() -> str:
        from reglab.train import default_device

        return str(default_device())

    return _memo(cache, device_probe(), ask_torch)


def cached_shown_modules(root: Path, docs: Path, cache: Path | None = None) -> list[str]:
    """:func:`shown_modules` of this checkout, kept in ``cache`` while no document and no
    file of ``reglab/`` changed (resolving the printed objects imports reglab, and so
    torch)."""
    package = root / "reglab"
    files = [*documents(root, docs), *sorted(package.rglob("*.py"))]
    probe = {"files": _sha256(b"".join(
        str(p).encode() + b"\0" + _sha256(p.read_bytes()).encode()
        for p in files
    ))}  # fmt: skip
    return _memo(cache, probe, lambda: sorted(shown_modules(documents(root, docs), package)))


def current_inputs(root: Path, docs: Path, build: Path | None = None) -> dict:
    """:func:`execution_inputs` of this checkout, as the chapters' kernels will see it.

    With a ``build`` folder, the device and the printed modules are read through their
    caches there (:func:`kernel_device`, :func:`cached_shown_modules`), so that a rebuild
    with nothing to do imports no torch.
    """
    from reglab.environment import data_root

    return execution_inputs(
        package=root / "reglab",
        matplotlibrc=docs / "matplotlibrc",
        data_root=data_root(),
        data_cache=None if build is None else build / "reglab-data.json",
        device=kernel_device(None if build is None else build / "reglab-device.json"),
        shown=cached_shown_modules(
            root, docs, None if build is None else build / "reglab-shown.json"
        ),
    )


def documents(root: Path, docs: Path) -> list[Path]:
    """The executed sources: the book's MyST notebooks and the gallery's scripts."""
    skip = {"_build", "node_modules", "_static"}
    pages = [p for p in docs.rglob("*.md") if not skip & set(p.relative_to(docs).parts)]
    return sorted([*pages, *(root / "examples").glob("*.py")])


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
    inputs = current_inputs(root, Path(app.confdir), build)
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
        # one thread for torch's intra-op pool (OpenMP), MKL and OpenBLAS alike
        "OMP_NUM_THREADS": str(KERNEL_THREADS),
        "MKL_NUM_THREADS": str(KERNEL_THREADS),
        "OPENBLAS_NUM_THREADS": str(KERNEL_THREADS),
        "PYTHONPATH": os.pathsep.join([str(root), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", "0"),
        "TQDM_DISABLE": "1",  # progress bars are for terminals, not pages
    }


def create_execution_cache(path: Path) -> Path:
    """Create jupyter-cache's database at ``path`` now, in the main process.

    jupyter-cache creates its SQLite database on first use: it checks whether the file
    exists, then creates the tables. In a parallel read (``-j``) two processes can both
    find it missing, and the second fails with "table settings already exists". Creating
    it before the readers fork leaves them nothing to race for. Returns the database file.
    """
    from jupyter_cache import get_cache
    from jupyter_cache.cache.db import DB_NAME

    get_cache(str(path)).db  # noqa: B018 (the property creates the database)
    return Path(path) / DB_NAME


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
    if app.config.nb_execution_mode == "cache":
        create_execution_cache(Path(app.config.nb_execution_cache_path))
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


def executes(env, docname: str) -> bool:
    """Whether MyST-NB reads ``docname`` as a notebook (and so executes it, or takes its
    outputs from the cache): MyST-NB's own test, its notebook reader for the file."""
    from myst_nb.core.read import create_nb_reader

    path = env.doc2path(docname)
    text = Path(path).read_text(encoding="utf-8")
    return create_nb_reader(str(path), env.myst_config, env.mystnb_config, text) is not None


def balanced_order(
    docnames: list[str], heavy: set[str], nproc: int, cost: dict[str, float] | None = None
) -> list[str]:
    """``docnames`` reordered for Sphinx's parallel read: the ``heavy`` ones dealt over the
    chunks that start first (one per process), the others filling the rest.

    Sphinx cuts the list into consecutive chunks (``make_chunks``) and starts the first
    ``nproc`` at once, a later one when one ends. In sorted order, the chapters fall into
    one or two chunks and run one after the other. The heavy pages are dealt longest
    first (``cost``: relative execution time, 1 when not given) to the chunk with the
    least cost so far, then evened out by swaps between the most and the least loaded
    (:func:`_even_out`), and each chunk runs its heavy pages first: a page that takes three
    times as long as the others starts at once instead of last.
    """
    from sphinx.util.parallel import make_chunks

    cost = cost or {}
    sizes = [len(chunk) for chunk in make_chunks(docnames, nproc)]
    chunks: list[list[str]] = [[] for _ in sizes]
    first, later = range(min(nproc, len(sizes))), range(nproc, len(sizes))
    by_cost = sorted((d for d in docnames if d in heavy), key=lambda d: -cost.get(d, 1))
    for name in by_cost:
        open_first = [i for i in first if len(chunks[i]) < sizes[i]]
        target = min(open_first or [i for i in later if len(chunks[i]) < sizes[i]],
                     key=lambda i: sum(cost.get(d, 1) for d in chunks[i]))  # fmt: skip
        chunks[target].append(name)
    _even_out([chunks[i] for i in first], [sizes[i] for i in first], cost)
    light = iter(d for d in docnames if d not in heavy)
    for i, size in enumerate(sizes):
        chunks[i].extend(next(light) for _ in range(size - len(chunks[i])))
    return [name for chunk in chunks for name in chunk]


def _even_out(chunks: list[list[str]], sizes: list[int], cost: dict[str, float]) -> None:
    """Swap or move pages between the most and the least loaded of ``chunks`` (in place)
    while that lowers the larger load: longest-first dealing leaves up to the cost of a
    page between two processes (279 s against 241 s of the book's chapters); this brings
    it to the best a single swap can do. Each chunk keeps at most its ``size`` pages, its
    heavy pages longest first."""

    def load(chunk):
        return sum(cost.get(d, 1) for d in chunk)

    while len(chunks) > 1:
        high = max(chunks, key=load)
        low = min(chunks, key=load)
        gap = load(high) - load(low)
        best, move = 0.0, None
        for a in high:
            for b in [None, *low]:
                delta = cost.get(a, 1) - (cost.get(b, 1) if b is not None else 0)
                fits = b is not None or len(low) < sizes[chunks.index(low)]
                if fits and 0 < delta < gap and min(delta, gap - delta) > best:
                    best, move = min(delta, gap - delta), (a, b)
        if move is None:
            break
        a, b = move
        high.remove(a)
        low.append(a)
        if b is not None:
            low.remove(b)
            high.append(b)
    for chunk in chunks:
        chunk.sort(key=lambda d: -cost.get(d, 1))


def balance_parallel_read(app: Sphinx, env, docnames: list[str]) -> None:
    """``env-before-read-docs``: reorder the documents to read (in place, as the event
    allows) so that parallel processes share the executing pages; record how many
    processes read them (``reglab_read_processes``: 1 for a serial read, 0 when nothing
    was read)."""
    from sphinx.util.parallel import parallel_available

    safe = all(ext.parallel_read_safe for ext in app.extensions.values())
    processes = app.parallel if parallel_available and app.parallel > 1 and safe else 1
    app.config.reglab_read_processes = processes if docnames else 0
    app.config.reglab_read_notebooks = sum(executes(env, d) for d in docnames)
    if processes > 1:
        heavy = {d for d in docnames if executes(env, d)}
        cost = app.config.reglab_page_cost
        docnames[:] = balanced_order(list(docnames), heavy, processes, cost)
    if docnames:
        logger.info(
            f"[reglab] reading {len(docnames)} pages ({app.config.reglab_read_notebooks} "
            f"notebooks) in {processes} process(es), {KERNEL_THREADS} thread per kernel"
        )


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
    # relative execution time of pages that take longer than a chapter (default 1), so a
    # parallel read starts them first; never a reason to re-read
    app.add_config_value("reglab_page_cost", {}, "", dict)
    # set on config-inited; never a reason to rebuild by themselves (the cache path is)
    app.add_config_value("reglab_execution_key", "", "", str)
    app.add_config_value("reglab_execution_inputs", {}, "", dict)
    # set on env-before-read-docs: processes that read (and executed) this build's pages
    app.add_config_value("reglab_read_processes", 0, "", int)
    app.add_config_value("reglab_read_notebooks", 0, "", int)
    app.connect("config-inited", key_the_execution_cache)
    app.connect("builder-inited", write_kernelspec)
    app.connect("builder-inited", install_mathjax)
    app.connect("env-before-read-docs", balance_parallel_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    DOCS = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(DOCS.parent))
    print(execution_key(current_inputs(DOCS.parent, DOCS)))
