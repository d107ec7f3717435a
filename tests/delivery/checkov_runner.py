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
from pathlib import Path

import pytest

from tests.tools import REPO, require_tool

TIMEOUT_SECONDS = 300


def run_checkov(arguments: list[str], cwd: Path = REPO, timeout: int = TIMEOUT_SECONDS) -> subprocess.CompletedProcess:
    checkov = require_tool("checkov")
    environment = {**os.environ, "CHECKOV_PARALLELIZATION_TYPE": "none"}
    process = subprocess.Popen(
        [checkov, *arguments], cwd=cwd, env=environment, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"checkov {' '.join(arguments)} did not finish within {timeout} s")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def all_reports(result: subprocess.CompletedProcess) -> list[dict]:
    """Every report in `checkov -o json` output.

    checkov prints one report (a dict) for one framework and a list of them for several; when it
    found nothing to scan, it prints a bare summary without `check_type` or `results`.
    """
    assert result.stdout.strip(), f"checkov printed nothing: {result.stderr[-2000:]}"
    try:
        parsed = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov did not print JSON: {result.stdout[:500]!r} {result.stderr[-1000:]}")
    entries = parsed if isinstance(parsed, list) else [parsed]
    return [entry for entry in entries if isinstance(entry, dict)]


def json_reports(result: subprocess.CompletedProcess, check_type: str) -> list[dict]:
    """The reports of one framework; a framework that scanned nothing has none."""
    return [entry for entry in all_reports(result) if entry.get("check_type") == check_type]


def checks(report: dict, outcome: str) -> list[dict]:
    """The `failed_checks`/`passed_checks`/`skipped_checks` of a report (empty when it has no results)."""
    return (report.get("results") or {}).get(outcome) or []


def kubernetes_report(folder: Path, timeout: int = TIMEOUT_SECONDS) -> dict:
    """checkov's report on the Kubernetes manifests in `folder`."""
    result = run_checkov(["--framework", "kubernetes", "--skip-download", "-o", "json", "-d", str(folder)],
                         timeout=timeout)
    reports = json_reports(result, "kubernetes")
    assert len(reports) == 1, f"checkov scanned no Kubernetes manifests: {result.stderr[-2000:]}"
    return reports[0]
