"""Every REGLAB_* variable is read through reglab.environment and listed in the README."""

import re
from pathlib import Path

import pytest

from reglab import environment

ROOT = Path(__file__).resolve().parents[1]


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


def _project_files():
    for folder in ("reglab", "examples", "tests", "benchmarks", "scripts", "docs"):
        for path in (ROOT / folder).rglob("*.py"):
            if "_build" not in path.parts and "node_modules" not in path.parts:
                yield path


def test_every_variable_is_read_in_one_place_and_documented():
    used = set()
    for path in _project_files():
        text = path.read_text()
        used |= set(re.findall(r"\bREGLAB_[A-Z_]+\b", text))
        if path.name not in ("environment.py", "test_environment.py"):
            direct = re.findall(r"(?:environ(?:\.get)?|getenv)\(\s*[\"'](REGLAB_\w+)", text)
            direct += re.findall(r"environ\[\s*[\"'](REGLAB_\w+)", text)
            assert not direct, f"{path.relative_to(ROOT)} reads {direct} directly"
    assert used - {"REGLAB_DAT"} <= set(environment.VARIABLES)
    readme = (ROOT / "README.md").read_text()
    for name in environment.VARIABLES:
        assert f"| `{name}` |" in readme, f"README's table lacks {name}"
