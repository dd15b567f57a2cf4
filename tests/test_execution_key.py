"""The execution key counts reglab's code, not its prose (docs/_ext/reglab_build.py).

A docstring typo or a reworded comment changes no chapter's output, so it must not
re-execute the book; a change to the code must. The exception: a page that prints a
module's source (``inspect.getsource``) shows its comments and docstrings, so every byte
of such a module counts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import reglab_build  # noqa: E402

MODULE = '''"""A module docstring."""

import torch


def scale(x, factor=2.0):
    r"""Multiply ``x`` by ``factor``.

    .. math:: y = f x
    """
    y = x * factor  # y = f x
    return y


class Box:
    """A class docstring."""

    def size(self):
        """A method docstring."""
        return 1
'''


@pytest.mark.parametrize(
    "old, new",
    [
        ("Multiply ``x`` by", "Multiplies ``x`` by"),  # a function's docstring
        ('"""A module docstring."""', '"""A module docstring, reworded."""'),
        ('"""A class docstring."""', '"""Another."""'),
        ('"""A method docstring."""', "# no docstring now"),
        ("# y = f x", "# y = factor * x"),  # a comment
        ("    return y\n", "\n    return y\n"),  # a blank line
        ("x * factor", "x*factor"),  # formatting
    ],
)
def test_prose_and_layout_leave_the_digest(old, new):
    assert old in MODULE
    edited = MODULE.replace(old, new)
    assert reglab_build.code_digest(edited) == reglab_build.code_digest(MODULE)


@pytest.mark.parametrize(
    "old, new",
    [
        ("factor=2.0", "factor=3.0"),  # a default
        ("x * factor", "x / factor"),  # an operator
        ("return 1", "return 2"),
        ("import torch", "import torch as th"),
        ("def size", "def length"),
        # a string that is not a docstring is code
        ("    y = x * factor", '    "not a docstring"\n    y = x * factor'),
    ],
)
def test_code_changes_the_digest(old, new):
    assert old in MODULE
    edited = MODULE.replace(old, new)
    assert reglab_build.code_digest(edited) != reglab_build.code_digest(MODULE)


def test_a_module_that_is_only_a_docstring_has_a_digest():
    assert reglab_build.code_digest('"""Only words."""\n') == reglab_build.code_digest("")


@pytest.fixture
def package(tmp_path) -> Path:
    copy = tmp_path / "reglab"
    shutil.copytree(ROOT / "reglab", copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def _key(package: Path, shown=()) -> str:
    inputs = reglab_build.execution_inputs(
        package=package,
        matplotlibrc=ROOT / "docs" / "matplotlibrc",
        data_root=package.parent / "no-data",
        device="cpu",
        shown=shown,
    )
    return reglab_build.execution_key(inputs)


def test_a_docstring_typo_in_reglab_keeps_the_key_and_a_code_change_does_not(package):
    before = _key(package)
    paired = package / "stats" / "paired.py"
    text = paired.read_text()
    assert text.startswith('r"""')
    paired.write_text(text.replace('"""', '"""Typo fixd. ', 1))  # the module docstring
    paired.write_text(paired.read_text() + "\n# a new comment\n")
    assert _key(package) == before
    paired.write_text(paired.read_text() + "\nEDITED = True\n")
    assert _key(package) != before


def test_a_module_a_page_prints_counts_every_byte(package):
    shown = ["nn/dropout.py"]
    before = _key(package, shown)
    dropout = package / "nn" / "dropout.py"
    dropout.write_text(dropout.read_text() + "\n# a new comment\n")
    assert _key(package, shown) != before
    assert _key(package) == _key(package, [])  # the same edit, unshown: no new key


CELLS = """---
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A page

```{code-cell} ipython3
import inspect

from reglab.nn import dropout as dropout_module
from reglab.train import mc_dropout_logits
from reglab.stats import paired_difference
```

```{code-cell} ipython3
%time x = 1
print(inspect.getsource(dropout_module._apply_mask))
print(inspect.getsource(mc_dropout_logits))
```
"""


def test_shown_modules_follow_the_imports_to_the_defining_file(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(CELLS)
    shown = reglab_build.shown_modules([page], ROOT / "reglab")
    # mc_dropout_logits is imported from reglab.train; its source lives in a submodule
    (defining,) = shown - {"nn/dropout.py"}
    assert "nn/dropout.py" in shown and defining.startswith("train/")
    import reglab.train

    assert (ROOT / "reglab" / defining).read_text().count("def mc_dropout_logits(") == 1
    assert reglab.train.mc_dropout_logits.__module__ == "reglab." + defining[:-3].replace("/", ".")


def test_an_unresolved_source_counts_every_reglab_import_of_its_cell(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        CELLS.replace(
            "print(inspect.getsource(dropout_module._apply_mask))\n"
            "print(inspect.getsource(mc_dropout_logits))\n",
            "from reglab.nn import init\n\n"
            "for fill in init.INITIALIZERS.values():\n"
            "    print(inspect.getsource(fill))\n",
        )
    )
    assert reglab_build.shown_modules([page], ROOT / "reglab") == {"nn/init.py"}


def test_a_page_without_getsource_shows_nothing(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(CELLS.replace("inspect.getsource", "len"))
    assert reglab_build.shown_modules([page], ROOT / "reglab") == set()


def test_the_books_pages_that_print_library_source_are_found():
    documents = reglab_build.documents(ROOT, ROOT / "docs")
    shown = reglab_build.shown_modules(documents, ROOT / "reglab")
    for path in documents:
        if "getsource(" in path.read_text():  # every page that prints source shows a module
            assert reglab_build.shown_modules([path], ROOT / "reglab"), path.name
    package = ROOT / "reglab"  # not a copy elsewhere in the checkout (mutmut's mutants/)
    assert shown <= {p.relative_to(package).as_posix() for p in package.rglob("*.py")}


# -- a rebuild with nothing to do imports no torch ---------------------------------------------


def test_memo_keeps_a_value_while_its_probe_reads_the_same(tmp_path):
    cache = tmp_path / "memo.json"
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    assert reglab_build._memo(cache, {"a": 1}, compute) == 1
    assert reglab_build._memo(cache, {"a": 1}, compute) == 1  # kept
    assert reglab_build._memo(cache, {"a": 2}, compute) == 2  # the probe changed
    cache.write_text("{torn")
    assert reglab_build._memo(cache, {"a": 2}, compute) == 3  # unreadable: computed again
    assert reglab_build._memo(None, {"a": 2}, compute) == 4  # no cache: always computed


def test_the_device_is_asked_again_when_its_probe_changes(tmp_path, monkeypatch):
    cache = tmp_path / "device.json"
    monkeypatch.setenv("REGLAB_DEVICE", "cpu")
    assert reglab_build.kernel_device(cache) == "cpu"
    saved = json.loads(cache.read_text())
    saved["value"] = "a device only the cache knows"
    cache.write_text(json.dumps(saved))
    assert reglab_build.kernel_device(cache) == "a device only the cache knows"
    monkeypatch.setenv("REGLAB_DEVICE", "cpu:0")  # another reading: torch is asked
    assert reglab_build.kernel_device(cache) == "cpu:0"


def test_a_warm_key_equals_the_cold_one_and_imports_no_torch(tmp_path, mnist_root):
    build = tmp_path / "_build"
    script = (
        "import sys, json; from pathlib import Path\n"
        f"sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'docs' / '_ext')!r}]\n"
        "import reglab_build as rb\n"
        f"root, build = Path({str(ROOT)!r}), Path({str(build)!r})\n"
        "key = rb.execution_key(rb.current_inputs(root, root / 'docs', build))\n"
        "print(json.dumps([key, 'torch' in sys.modules]))\n"
    )
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", script], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(2)
    ]
    cold = reglab_build.execution_key(reglab_build.current_inputs(ROOT, ROOT / "docs"))
    assert runs[0] == [cold, True]  # the first build asks torch and reads the data
    assert runs[1] == [cold, False]  # the next one: the same key, no torch


def test_the_execution_cache_exists_before_parallel_readers_start(tmp_path):
    # two readers creating jupyter-cache's database at once fail ("table settings already
    # exists"); the build creates it first, in the main process
    from jupyter_cache import get_cache

    db = reglab_build.create_execution_cache(tmp_path / "cache")
    assert db.is_file()
    tables = sorted(get_cache(str(tmp_path / "cache")).db.dialect.get_table_names(
        get_cache(str(tmp_path / "cache")).db.connect()
    ))  # fmt: skip
    assert "settings" in tables
    assert reglab_build.create_execution_cache(tmp_path / "cache") == db  # idempotent
