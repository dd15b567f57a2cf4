"""What a chapter shows runs on its own: no visible cell uses a name that only a hidden
(``remove-cell``) cell defines. Hidden cells check and glue; a reader who runs the code
the page shows, or copies it, never meets a NameError for a name the page hid."""

import ast
import builtins
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "docs" / "chapters").glob("*.md"))


def _source(cell) -> str:
    # IPython magics and shell escapes are not Python
    lines = cell.source.splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith(("%", "!")))


def _defined_and_used(source: str) -> tuple[set[str], set[str]]:
    defined, used = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            (defined if isinstance(node.ctx, ast.Store | ast.Del) else used).add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            defined.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            defined.add(node.name)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
    return defined, used


def hidden_only_names(path: Path) -> list[str]:
    """Names a visible cell uses that no visible cell (before or in it) defines, but a
    hidden cell does."""
    notebook = jupytext.read(path)
    visible, hidden, missing = set(dir(builtins)), set(), set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        defined, used = _defined_and_used(_source(cell))
        if "remove-cell" in cell.metadata.get("tags", []):
            hidden |= defined
        else:
            missing |= used - defined - visible
            visible |= defined
    return sorted(missing & hidden)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_visible_cells_use_no_name_only_a_hidden_cell_defines(path):
    assert hidden_only_names(path) == [], (
        f"{path.name}: visible cells use names defined only in hidden cells"
    )


def test_the_check_finds_a_hidden_definition(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n"
        "    format_name: myst\nkernelspec:\n  display_name: Python 3\n"
        "  language: python\n  name: python3\n---\n\n"
        "```{code-cell} ipython3\n:tags: [remove-cell]\n\nthreshold = 3\n```\n\n"
        "```{code-cell} ipython3\nx = 1\nprint(x + threshold)\n```\n"
    )
    assert hidden_only_names(page) == ["threshold"]
