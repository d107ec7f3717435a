"""The runtime image's Dockerfile passes hadolint (project config) and checkov's dockerfile checks."""
from __future__ import annotations

import json

import pytest

from tests.runtime.servers import REPO
from tests.tools import require_tool, run_tool

pytestmark = pytest.mark.tools


def test_hadolint_clean():
    hadolint = require_tool("hadolint")
    result = run_tool([hadolint, "--config", str(REPO / ".security" / "hadolint.yaml"), str(REPO / "Dockerfile")])
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_dockerfile_no_failed_check():
    checkov = require_tool("checkov")
    result = run_tool([checkov, "--framework", "dockerfile", "--skip-download", "-o", "json", "--quiet",
                       "-f", str(REPO / "Dockerfile")], timeout=300)
    report = json.loads(result.stdout)
    summary = report["summary"] if isinstance(report, dict) else report[0]["summary"]
    assert summary["failed"] == 0 and summary["passed"] > 0, result.stdout[-2000:]


def test_image_runs_as_non_root_with_healthcheck():
    text = (REPO / "Dockerfile").read_text()
    users = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert users and users[-1] == "10001:10001"
    assert "HEALTHCHECK" in text and 'ENTRYPOINT ["python", "-m", "runtime"]' in text
    bases = [line.split()[1] for line in text.splitlines() if line.startswith("FROM ")]
    assert all(":" in base and "latest" not in base for base in bases)
