"""reglab's layout: which package may import which, read from the source with ``ast``.

The packages are layered like PyTorch's: ``studies`` (each chapter's experiment) on top of
``train``, which uses ``nn``, ``optim``, ``data`` and ``stats``; the bottom (``_checks``,
``environment``) imports nothing of reglab. Nothing imports ``studies`` or ``plotting``
(figures) but themselves, and only ``plotting`` imports matplotlib. Every package's
docstring states its line of :data:`ALLOWED` ("May import", "Imported by"), checked here.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: package -> the packages of reglab it may import (its own modules always).
ALLOWED: dict[str, set[str]] = {
    "_checks": set(),
    "environment": set(),
    "stats": {"_checks"},
    "nn": {"_checks"},
    "data": {"_checks", "environment"},
    "optim": {"_checks", "nn"},
    "inspection": {"_checks", "stats"},
    "train": {"_checks", "environment", "nn", "optim", "data", "stats"},
    "studies": {"_checks", "environment", "nn", "optim", "data", "train", "stats", "inspection"},
    "plotting": {"_checks", "stats", "inspection"},
    "__init__": set(),  # `import reglab` stays cheap: it imports nothing
}
#: Only these packages may import matplotlib (the numerical ones never do).
MATPLOTLIB = {"plotting"}


def _package(path: Path, root: Path) -> str:
    """``reglab/train/loop.py`` -> ``train``; ``reglab/_checks.py`` -> ``_checks``."""
    parts = path.relative_to(root).with_suffix("").parts
    return parts[0]


def _imported(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of every module a file imports, function bodies included;
    relative imports resolved, ``from reglab import x`` read as ``reglab.x``."""
    module = [root.name, *path.relative_to(root).with_suffix("").parts]
    if module[-1] == "__init__":
        module = module[:-1]
        package = module
    else:
        package = module[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            name = ".".join([*base, *([node.module] if node.module else [])])
            found.append((node.lineno, name))
            found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
    return found


def layout_violations(root: Path, allowed=ALLOWED, matplotlib=MATPLOTLIB) -> list[str]:
    """Every import under the package folder ``root`` that breaks ``allowed`` (or
    ``matplotlib``), as ``file:line: message``; a module of no known package is one too."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        where = path.relative_to(root.parent)
        package = _package(path, root)
        if package not in allowed:
            problems.append(f"{where}: package {package!r} is not in the layout table")
            continue
        for line, name in _imported(path, root):
            parts = name.split(".")
            if parts[0] == "matplotlib" and package not in matplotlib:
                problems.append(f"{where}:{line}: {package} imports matplotlib")
            if parts[0] != root.name or len(parts) < 2 or parts[1] == package:
                continue
            target = parts[1]
            if target not in allowed:  # `from reglab import __version__`, say
                if (root / target).is_dir() or (root / f"{target}.py").exists():
                    problems.append(f"{where}:{line}: {package} imports unknown {target}")
                continue
            if target not in allowed[package]:
                problems.append(f"{where}:{line}: {package} imports {target} ({name})")
    return problems


def test_reglab_follows_the_layout():
    assert layout_violations(ROOT / "reglab") == []


def test_every_package_of_reglab_is_in_the_table():
    packages = {p.stem for p in (ROOT / "reglab").iterdir() if p.suffix == ".py" or p.is_dir()}
    packages.discard("__pycache__")
    assert packages == set(ALLOWED)


def _fake_package(root: Path, files: dict[str, str]) -> Path:
    package = root / "reglab"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


def test_the_checker_catches_wrong_imports(tmp_path):
    package = _fake_package(
        tmp_path,
        {
            "__init__.py": "",
            "_checks.py": "",
            "nn/__init__.py": "from reglab.nn.dropout import mask_of\n",
            "nn/dropout.py": "from reglab import _checks\n\ndef f():\n    import reglab.train\n",
            "stats/__init__.py": "from ..plotting import seeds\n",
            "optim/step.py": "import matplotlib.pyplot as plt\nfrom reglab.nn import init\n",
            "plotting/seeds.py": "import matplotlib\nfrom reglab.studies import together\n",
            "extra/__init__.py": "",
        },
    )
    problems = layout_violations(package)
    assert problems == [
        "reglab/extra/__init__.py: package 'extra' is not in the layout table",
        "reglab/nn/dropout.py:4: nn imports train (reglab.train)",
        "reglab/optim/step.py:1: optim imports matplotlib",
        "reglab/plotting/seeds.py:2: plotting imports studies (reglab.studies)",
        "reglab/plotting/seeds.py:2: plotting imports studies (reglab.studies.together)",
        "reglab/stats/__init__.py:1: stats imports plotting (reglab.plotting)",
        "reglab/stats/__init__.py:1: stats imports plotting (reglab.plotting.seeds)",
    ]


def _listed(docstring: str, label: str) -> set[str]:
    match = re.search(rf"^{label}: (.*?)\.$", docstring, flags=re.M | re.S)
    assert match, f"no line {label!r}"
    text = " ".join(match.group(1).split())
    return set() if text == "nothing of reglab" else set(re.findall(r"``reglab\.(\w+)``", text))


def test_every_package_says_what_lives_there_and_who_may_import_it():
    """The docstring of each package: a summary, then "May import: ..." and "Imported
    by: ..." lines that agree with ALLOWED (so the docs and this test never drift)."""
    for init in sorted((ROOT / "reglab").glob("*/__init__.py")):
        package = init.parent.name
        docstring = ast.get_docstring(ast.parse(init.read_text()))
        assert docstring and len(docstring.split("\n\n")[0]) > 40, f"{package}: no summary"
        assert _listed(docstring, "May import") == ALLOWED[package], package
        importers = {p for p, targets in ALLOWED.items() if package in targets}
        importers -= {"__init__"}
        assert _listed(docstring, "Imported by") == importers, package


def test_mutation_testing_names_files_that_exist():
    mutmut = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    for name in [*mutmut["only_mutate"], *mutmut["pytest_add_cli_args_test_selection"]]:
        assert (ROOT / name).is_file(), name
