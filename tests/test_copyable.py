"""Cells tagged ``copyable`` run on their own, with nothing but torch and torchvision.

Each marked cell of each chapter runs in a fresh interpreter (``python -I -S``) whose only
third-party packages are torch, torchvision and what they depend on (their installed
distributions, found through their metadata): no ``reglab``, no matplotlib, no names from
earlier cells. The page shows these cells with a "Copy-ready" badge
(``docs/_ext/reglab_notebooks.py``); the docs test below checks that the built pages do.
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import jupytext
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "docs" / "chapters").glob("*.md"))
TAG = "copyable"
# The topics whose snippets a reader copies into a project: each has at least one.
EXPECTED = {
    "initialization",
    "augmentation",
    "penalties",
    "dropout",
    "batchnorm",
    "inputs_targets",
    "early_stopping",
    "adversarial",
}


def copyable_cells() -> list[tuple[str, int, str]]:
    """(chapter, index among code cells, source) of every cell tagged ``copyable``."""
    cells = []
    for path in CHAPTERS:
        code = [c for c in jupytext.read(path).cells if c.cell_type == "code"]
        cells += [
            (path.stem, i, c.source)
            for i, c in enumerate(code)
            if TAG in c.metadata.get("tags", [])
        ]
    return cells


CELLS = copyable_cells()


def dependency_closure(*names: str) -> list[metadata.Distribution]:
    """The installed distributions ``names`` need, transitively (markers evaluated)."""
    found: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:  # an optional platform dependency
            continue
        found[name] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(found.values())


@pytest.fixture(scope="session")
def torch_only(tmp_path_factory) -> Path:
    """A folder that holds torch, torchvision and their dependencies (symlinks), nothing else."""
    view = tmp_path_factory.mktemp("torch-only")
    for dist in dependency_closure("torch", "torchvision"):
        for top in {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}:
            target = view / top
            if not target.exists():
                target.symlink_to(Path(dist.locate_file(top)).resolve())
    return view


def run_alone(source: str, view: Path, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``source`` as a script in a fresh interpreter that sees only ``view``: isolated
    mode (no PYTHONPATH, no user site, no current folder) and no site-packages at all."""
    script = cwd / "snippet.py"
    script.write_text(source)
    boot = "import runpy, sys; sys.path.append(sys.argv[1]); runpy.run_path(sys.argv[2])"
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", boot, str(view), str(script)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
    )


def test_every_topic_marks_the_cells_a_reader_copies():
    assert {chapter for chapter, _, _ in CELLS} >= EXPECTED


@pytest.mark.parametrize("chapter, index, source", CELLS, ids=[f"{c}-cell{i}" for c, i, _ in CELLS])
def test_copyable_cell_runs_alone_with_only_torch_and_torchvision(
    chapter, index, source, torch_only, tmp_path
):
    assert not re.search(r"^\s*(from|import)\s+reglab\b", source, re.M), "imports reglab"
    result = run_alone(source, torch_only, tmp_path)
    assert result.returncode == 0, f"{chapter}, code cell {index}:\n{result.stderr[-3000:]}"


@pytest.mark.parametrize(
    "source, error",
    [
        ("import reglab", "No module named 'reglab'"),
        ("import matplotlib", "No module named 'matplotlib'"),
        ("import torch\nprint(X_train[:1])", "name 'X_train' is not defined"),
    ],
)
def test_the_fresh_interpreter_has_nothing_else(source, error, torch_only, tmp_path):
    """Mutants of a snippet: the harness must reject them (and accept torch itself)."""
    result = run_alone(source, torch_only, tmp_path)
    assert result.returncode != 0 and error in result.stderr
    ok = run_alone(
        "import torch, torchvision\nprint(torch.ones(2).sum().item())", torch_only, tmp_path
    )
    assert ok.returncode == 0 and ok.stdout.strip() == "2.0", ok.stderr


@pytest.mark.docs
def test_pages_show_the_badge_on_exactly_the_copyable_cells(site):
    for chapter in sorted({c for c, _, _ in CELLS} | {p.stem for p in CHAPTERS}):
        html = (site / "chapters" / f"{chapter}.html").read_text(encoding="utf-8")
        marked = len(re.findall(r'class="[^"]*\btag_copyable\b', html))
        badges = len(re.findall(r'<p class="reglab-copyable">', html))
        assert marked == badges == sum(c == chapter for c, _, _ in CELLS), chapter
