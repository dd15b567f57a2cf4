"""CI cannot pass with tests silently skipped.

Runs pytest in a subprocess on probe tests that use the shared fixtures of ``conftest.py``
(loaded as a plugin) with a prerequisite removed: an empty data root, no Chromium, no npm.
With ``CI`` set every probe must fail, and the run must exit non-zero; without it the same
probes skip (a developer without a browser can still run the rest of the suite).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import torch
from conftest import write_idx_mnist

TESTS = Path(__file__).resolve().parent
PROBES = """
def test_needs_data(mnist_root):
    pass

def test_needs_the_site(site):
    pass

def test_needs_a_browser(browser):
    pass
"""


def _run_probes(tmp_path: Path, *, ci: bool, **env: str) -> tuple[int, dict, str]:
    """Run the probe tests; return the exit code, each probe's outcome line, the log."""
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBES)
    environ = {k: v for k, v in os.environ.items() if k not in {"CI", "REGLAB_SITE"}}
    environ["PYTHONPATH"] = os.pathsep.join(
        [str(TESTS), str(TESTS.parent), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    environ.update(env)
    if ci:
        environ["CI"] = "true"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider",
         "-q", "-rA", "--rootdir", str(tmp_path), str(probe)],
        capture_output=True, text=True, cwd=tmp_path, env=environ,
    )  # fmt: skip
    outcomes = {}
    for line in result.stdout.splitlines():
        match = re.match(r"(PASSED|FAILED|ERROR|SKIPPED) .*?(test_needs_\w+)", line)
        if match:
            outcomes[match.group(2)] = line
        match = re.match(r"SKIPPED \[\d+\] .*?: (.*)", line)
        if match:  # skip lines name the file, not the test: keep the reason for all
            outcomes.setdefault("skipped", []).append(match.group(1))
    return result.returncode, outcomes, result.stdout + result.stderr


def test_missing_data_and_browser_fail_under_ci(tmp_path):
    code, outcomes, log = _run_probes(
        tmp_path, ci=True, REGLAB_DATA=str(tmp_path / "empty"), REGLAB_CHROMIUM="/nonexistent"
    )
    assert code == 1, log
    assert outcomes["test_needs_data"].startswith("ERROR"), log
    assert "no MNIST under" in outcomes["test_needs_data"], log
    assert outcomes["test_needs_the_site"].startswith("ERROR"), log
    assert "no MNIST under" in outcomes["test_needs_the_site"], log  # before any build
    assert outcomes["test_needs_a_browser"].startswith("ERROR"), log


def test_missing_npm_fails_under_ci(tmp_path):
    """Data present, npm absent from PATH: the site fixture fails before it builds."""
    images = torch.zeros(10, 28, 28, dtype=torch.uint8)
    labels = torch.arange(10, dtype=torch.uint8)
    for train in (True, False):
        write_idx_mnist(tmp_path / "data", images, labels, train=train)
    code, outcomes, log = _run_probes(
        tmp_path,
        ci=True,
        REGLAB_DATA=str(tmp_path / "data"),
        PATH=str(Path(sys.executable).parent),  # python, but no npm
    )
    assert code == 1, log
    assert outcomes["test_needs_data"].startswith("PASSED"), log
    assert outcomes["test_needs_the_site"].startswith("ERROR"), log
    assert "npm" in outcomes["test_needs_the_site"], log


def test_the_same_probes_skip_outside_ci(tmp_path):
    code, outcomes, log = _run_probes(
        tmp_path, ci=False, REGLAB_DATA=str(tmp_path / "empty"), REGLAB_CHROMIUM="/nonexistent"
    )
    assert code == 0, log
    assert "3 skipped" in log, log
    assert any("no MNIST under" in reason for reason in outcomes["skipped"]), log
    assert any("no Chromium" in reason for reason in outcomes["skipped"]), log
