"""Every REGLAB_* variable is read through the table of the place that reads it (the
library's reglab.environment, the docs build's docs/_ext/reglab_settings.py, the tests'
conftest.py) and listed in the README."""

import re
import sys
from pathlib import Path

import pytest
from conftest import TEST_VARIABLES

from reglab import environment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
from reglab_settings import BUILD_VARIABLES  # noqa: E402

#: Each table, and the folders whose files may read its variables.
TABLES = {
    "library": (environment.VARIABLES, ("reglab", "examples", "docs", "tests", "benchmarks")),
    "docs build": (BUILD_VARIABLES, ("docs", "tests")),
    "tests": (TEST_VARIABLES, ("tests",)),
}
TABLE_FILES = ("environment.py", "reglab_settings.py", "conftest.py", "test_environment.py")


def test_get_flag_and_path_read_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("REGLAB_QUICK", "1")
    monkeypatch.setenv("REGLAB_OUTPUT", str(tmp_path))
    monkeypatch.setenv("REGLAB_DEVICE", "")
    assert environment.flag("REGLAB_QUICK") is True
    assert environment.path("REGLAB_OUTPUT", "elsewhere") == tmp_path
    assert environment.get("REGLAB_DEVICE", "cpu") == "cpu"  # empty reads as unset
    monkeypatch.setenv("REGLAB_QUICK", "0")
    assert environment.flag("REGLAB_QUICK") is False
    monkeypatch.delenv("REGLAB_QUICK")
    assert environment.flag("REGLAB_QUICK") is False
    monkeypatch.delenv("REGLAB_OUTPUT")
    assert environment.path("REGLAB_OUTPUT", "~/x") == Path("~/x").expanduser()


def test_unknown_names_and_bad_flags_are_clear_errors(monkeypatch):
    with pytest.raises(KeyError, match="REGLAB_DAT is not a reglab environment variable"):
        environment.get("REGLAB_DAT")
    monkeypatch.setenv("REGLAB_QUICK", "yes")
    with pytest.raises(ValueError, match="REGLAB_QUICK must be 0 or 1, got 'yes'"):
        environment.flag("REGLAB_QUICK")


def test_the_library_reads_no_build_or_test_setting(monkeypatch):
    """The installed library knows only its own variables: a test or build setting read
    through it is an error, and none is named anywhere in reglab/ (whose source the book's
    execution key hashes, so adding one never re-executes the chapters)."""
    monkeypatch.setenv("REGLAB_SITE", "/somewhere")
    with pytest.raises(KeyError, match="REGLAB_SITE is not a reglab environment variable"):
        environment.get("REGLAB_SITE")
    others = set(BUILD_VARIABLES) | set(TEST_VARIABLES)
    for path in (ROOT / "reglab").rglob("*.py"):
        named = others & set(re.findall(r"\bREGLAB_[A-Z_]+\b", path.read_text()))
        assert not named, f"{path.relative_to(ROOT)} names {sorted(named)}"


def test_the_tables_are_disjoint():
    names = [name for table, _ in TABLES.values() for name in table]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def _project_files():
    for folder in ("reglab", "examples", "tests", "benchmarks", "scripts", "docs"):
        for path in (ROOT / folder).rglob("*.py"):
            if "_build" not in path.parts and "node_modules" not in path.parts:
                yield path


def test_every_variable_is_read_in_one_place_and_documented():
    used: dict[str, set[str]] = {}
    for path in _project_files():
        text = path.read_text()
        folder = path.relative_to(ROOT).parts[0]
        for name in re.findall(r"\bREGLAB_[A-Z_]+\b", text):
            used.setdefault(name, set()).add(folder)
        if path.name not in TABLE_FILES:
            direct = re.findall(r"(?:environ(?:\.get)?|getenv)\(\s*[\"'](REGLAB_\w+)", text)
            direct += re.findall(r"environ\[\s*[\"'](REGLAB_\w+)", text)
            assert not direct, f"{path.relative_to(ROOT)} reads {direct} directly"
    used.pop("REGLAB_DAT", None)  # the misspelling tested above
    used.pop("REGLAB_EXAMPLE", None)  # Variables' docstring example
    known = {name: (kind, folders) for kind, (table, folders) in TABLES.items() for name in table}
    assert set(used) <= set(known), sorted(set(used) - set(known))
    for name, folders in used.items():
        kind, allowed = known[name]
        assert folders <= set(allowed), f"{name} ({kind} setting) is named in {sorted(folders)}"
    readme = (ROOT / "README.md").read_text()
    for name in known:
        assert f"| `{name}` |" in readme, f"README's table lacks {name}"
