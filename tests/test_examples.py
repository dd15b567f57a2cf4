"""Smoke-run every gallery script in examples/ with tiny settings (REGLAB_QUICK=1)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def test_there_are_examples():
    assert EXAMPLES


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_and_writes_its_figures(script, tmp_path, mnist_root):
    env = {**os.environ, "REGLAB_QUICK": "1", "REGLAB_OUTPUT": str(tmp_path), "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert list(tmp_path.rglob("*.png")), f"{script.name} wrote no figure"
    first = script.read_text().splitlines()
    assert first[0] == '"""' and set(first[1]) == set(first[3]) == {"="}, "no RST title"
