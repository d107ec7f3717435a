"""Running checkov from the tests without leaving processes behind.

checkov forks worker processes by default; when a run is cut short (a timeout on a busy machine)
those workers outlive it. The tests therefore run checkov single-process, in its own process
group, and kill the whole group if it overruns.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from tests.tools import REPO, require_tool

TIMEOUT_SECONDS = 300


def run_checkov(arguments: list[str]) -> subprocess.CompletedProcess:
    checkov = require_tool("checkov")
    environment = {**os.environ, "CHECKOV_PARALLELIZATION_TYPE": "none"}
    process = subprocess.Popen(
        [checkov, *arguments], cwd=REPO, env=environment, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"checkov {' '.join(arguments)} did not finish within {TIMEOUT_SECONDS} s")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def json_reports(result: subprocess.CompletedProcess, check_type: str) -> list[dict]:
    """The reports of one framework from `checkov -o json` output (a dict or a list of them)."""
    assert result.stdout.strip(), f"checkov printed nothing: {result.stderr[-2000:]}"
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    return [entry for entry in reports if entry.get("check_type") == check_type]
