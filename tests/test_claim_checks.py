"""Every sentence check is tagged as one: a hidden code cell that asserts is tagged
``[remove-cell, claim-check]``, and a ``claim-check`` cell is hidden and asserts. The
build report counts the ``claim-check`` cells (``reglab_book.claim_checks``), so a check
without the tag would go uncounted, and a glue-only cell with it would be counted."""

import sys
from pathlib import Path

import jupytext
import pytest
from conftest import MYST_NOTEBOOK_HEADER

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

from reglab_book import CLAIM_TAG, HIDDEN_TAG, count_asserts  # noqa: E402

CHAPTERS = sorted((ROOT / "docs" / "chapters").glob("*.md"))


def misfiled(path: Path) -> list[str]:
    """The cells of a MyST notebook that break the tag rule, each as a short description."""
    found = []
    for index, cell in enumerate(jupytext.read(path).cells):
        tags = cell.metadata.get("tags", [])
        where = f"cell {index} ({cell.source.splitlines()[0][:60] if cell.source else ''!r})"
        if CLAIM_TAG in tags and cell.cell_type != "code":
            found.append(f"{where}: a {cell.cell_type} cell tagged {CLAIM_TAG}")
        if cell.cell_type != "code":
            continue
        asserts = count_asserts(cell.source) > 0
        if HIDDEN_TAG in tags and asserts and CLAIM_TAG not in tags:
            found.append(f"{where}: hidden and asserts, but not tagged {CLAIM_TAG}")
        if CLAIM_TAG in tags and HIDDEN_TAG not in tags:
            found.append(f"{where}: tagged {CLAIM_TAG} but shown (no {HIDDEN_TAG})")
        if CLAIM_TAG in tags and not asserts:
            found.append(f"{where}: tagged {CLAIM_TAG} without an assert statement")
    return found


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_claim_checks_are_tagged_as_such(path):
    assert misfiled(path) == []


def test_the_rule_finds_each_kind_of_misfiled_cell(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        MYST_NOTEBOOK_HEADER + "\n# Page\n\n"
        "```{code-cell} ipython3\n:tags: [remove-cell]\n\nassert 1\n```\n\n"
        "```{code-cell} ipython3\n:tags: [remove-cell, claim-check]\n\nglue('a', 1)\n```\n\n"
        "```{code-cell} ipython3\n:tags: [claim-check]\n\nassert 2\n```\n\n"
        "```{code-cell} ipython3\n:tags: [remove-cell, claim-check]\n\nassert 3\n```\n\n"
        "```{code-cell} ipython3\n:tags: [remove-cell]\n\nglue('b', 2)\n```\n"
    )
    assert misfiled(page) == [
        "cell 1 ('assert 1'): hidden and asserts, but not tagged claim-check",
        "cell 2 (\"glue('a', 1)\"): tagged claim-check without an assert statement",
        "cell 3 ('assert 2'): tagged claim-check but shown (no remove-cell)",
    ]
