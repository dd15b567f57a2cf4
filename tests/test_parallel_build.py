"""Chapters execute in parallel (``sphinx-build -j N``) and print what a serial build prints.

A tiny project with two chapters that compute and print numbers to full precision is
built twice, serially and with ``-j 2``: the kernels of the parallel build ran in two
different processes (each chapter's kernel logs its parent process), every kernel ran on
one thread, and the chapters' pages are identical.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from conftest import MYST_NOTEBOOK_HEADER
from test_build import BIB, CONF, _build, _data_root

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "_ext"))

import reglab_build

ROOT = Path(__file__).resolve().parents[1]

INDEX = """# Tiny

```{toctree}
one
two
```
"""
CHAPTER = (
    MYST_NOTEBOOK_HEADER
    + """
# Chapter {name}

```{{code-cell}}
import os

import torch

with open(os.environ["TINY_LOG"], "a") as log:
    log.write(f"{name} {{os.getppid()}}\\n")  # the process that started this kernel
g = torch.Generator().manual_seed({seed})
X = torch.randn(256, 64, generator=g)  # (N, D)
W = torch.randn(64, 64, generator=g) / 8
y_hat = torch.tanh(X @ W) @ W  # (N, D): matrix products, summed in some thread order
print("threads", torch.get_num_threads())
print([f"{{v:.17g}}" for v in y_hat.sum(dim=0)[:6].tolist()])
```
"""
)


def _tiny(path: Path) -> Path:
    docs = path / "docs"
    docs.mkdir(parents=True)
    pages = {"conf.py": CONF, "index.md": INDEX, "refs.bib": BIB,
             "matplotlibrc": "font.size: 10\n",
             "one.md": CHAPTER.format(name="one", seed=1),
             "two.md": CHAPTER.format(name="two", seed=2)}  # fmt: skip
    for name, text in pages.items():
        (docs / name).write_text(text)
    return docs


def _article(html: str) -> str:
    """The page's article (the chapter's body), without the sidebars around it."""
    return re.search(r"<article[\s\S]*?</article>", html).group(0)


@pytest.mark.slow
def test_parallel_and_serial_builds_print_the_same_numbers(tmp_path):
    data = _data_root(tmp_path / "data", 20)
    pages, parents = {}, {}
    for mode, args in {"serial": (), "parallel": ("-j", "2")}.items():
        docs = _tiny(tmp_path / mode)
        result, out = _build(docs, data, *args)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        processes = 2 if mode == "parallel" else 1
        assert f"(2 notebooks) in {processes} process(es)" in result.stdout, result.stdout
        log = dict(line.split() for line in (docs / "log").read_text().splitlines())
        assert sorted(log) == ["one", "two"]  # each chapter executed once
        parents[mode] = set(log.values())
        pages[mode] = {name: _article((out / f"{name}.html").read_text()) for name in log}
    assert len(parents["serial"]) == 1, "a serial build starts every kernel itself"
    assert len(parents["parallel"]) == 2, "the chapters did not execute in two processes"
    for name in ("one", "two"):
        assert "threads 1" in pages["serial"][name]
        assert re.search(r"\d\.\d{10,}", pages["serial"][name])  # the numbers are there
        assert pages["parallel"][name] == pages["serial"][name], name


def test_the_executing_pages_are_dealt_over_the_first_chunks():
    from sphinx.util.parallel import make_chunks

    docs = ["api", *(f"gallery/e{i:02d}" for i in range(14)), "build-report",
            *(f"chapters/c{i:02d}" for i in range(13)), "index", "references"]  # fmt: skip
    heavy = {d for d in docs if d.startswith("chapters/")}
    for nproc in (2, 3, 4):
        order = reglab_build.balanced_order(docs, heavy, nproc)
        assert sorted(order) == sorted(docs)
        chunks = make_chunks(order, nproc)
        assert [len(c) for c in chunks] == [len(c) for c in make_chunks(docs, nproc)]
        counts = [sum(d in heavy for d in chunk) for chunk in chunks]
        # the chunks that start at once share the chapters evenly
        assert max(counts[:nproc]) - min(counts[:nproc]) <= 1, counts
        assert sum(counts[:nproc]) == min(len(heavy), sum(map(len, chunks[:nproc])))


def test_a_costly_page_starts_first_and_the_others_balance_its_cost():
    from sphinx.util.parallel import make_chunks

    docs = ["api", *(f"gallery/e{i:02d}" for i in range(14)), "build-report",
            *(f"chapters/c{i:02d}" for i in range(13)), "index", "references"]  # fmt: skip
    heavy = {d for d in docs if d.startswith("chapters/")}
    cost = {"chapters/c12": 3}  # the last in sorted order, three times the others
    for nproc in (2, 3):
        order = reglab_build.balanced_order(docs, heavy, nproc, cost)
        assert sorted(order) == sorted(docs)
        chunks = make_chunks(order, nproc)
        assert chunks[0][0] == "chapters/c12"  # started at once, not last
        loads = [sum(cost.get(d, 1) for d in c if d in heavy) for c in chunks[:nproc]]
        assert max(loads) - min(loads) <= 1, loads  # balanced by cost, not by count
        for chunk in chunks:  # each chunk runs its chapters before its other pages
            kinds = [d in heavy for d in chunk]
            assert kinds == sorted(kinds, reverse=True)


def test_a_list_shorter_than_the_processes_keeps_its_documents():
    assert reglab_build.balanced_order(["a", "b"], {"b"}, 4) == ["b", "a"]
    assert reglab_build.balanced_order([], set(), 2) == []


def test_every_chapter_has_its_execution_time_in_the_config():
    """A chapter missing from ``reglab_page_cost`` would count as 1 s and unbalance the
    parallel build; the dealing of the book's chapters leaves the processes within the
    cost of its lightest chapter of each other."""
    from conftest import _page_cost
    from sphinx.util.parallel import make_chunks

    cost = _page_cost()
    chapters = {f"chapters/{p.stem}" for p in (ROOT / "docs" / "chapters").glob("*.md")}
    assert set(cost) == chapters
    assert all(isinstance(v, int | float) and v > 0 for v in cost.values())
    docs = sorted(chapters | {"index", "api"} | {f"gallery/e{i:02d}" for i in range(14)})
    order = reglab_build.balanced_order(docs, chapters, 2, cost)
    loads = [sum(cost.get(d, 0) for d in chunk) for chunk in make_chunks(order, 2)[:2]]
    assert sum(loads) == sum(cost.values())
    assert max(loads) - min(loads) <= min(cost.values()) + max(cost.values()) / 10, loads
