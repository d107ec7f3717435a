"""The repository's secret scan (checkov's offline `secrets` framework) passes, and its baseline is explained."""
from __future__ import annotations

import json

import yaml

from tests.delivery.paths import SECURITY
from tests.tools import REPO, require_tool, run_tool


def baseline_findings() -> set[tuple[str, str, str]]:
    baseline = json.loads((SECURITY / "checkov-secrets.baseline").read_text(encoding="utf-8"))
    return {
        (entry["file"], finding["resource"], check)
        for entry in baseline["failed_checks"]
        for finding in entry["findings"]
        for check in finding["check_ids"]
    }


def test_repository_has_no_unexplained_secret():
    checkov = require_tool("checkov")
    result = run_tool([checkov, "--config-file", ".security/checkov-secrets.yaml", "-d", ".", "-o", "json"], cwd=REPO, timeout=300)
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [
        f"{check['check_id']} {check['file_path']}:{check['file_line_range'][0]}"
        for entry in reports if entry.get("check_type") == "secrets"
        for check in entry["results"]["failed_checks"]
    ]
    assert failed == [], "possible secrets committed:\n" + "\n".join(failed)
    assert result.returncode == 0, result.stderr[-2000:]


def test_every_baseline_entry_has_a_written_reason():
    with (SECURITY / "secrets-baseline-reasons.yaml").open(encoding="utf-8") as handle:
        reasons = yaml.safe_load(handle)
    explained = {(entry["file"], entry["resource"], entry["check"]) for entry in reasons}
    for entry in reasons:
        assert len(entry["reason"].strip()) >= 30, f"reason for {entry['file']} is too short to explain anything"
    assert explained == baseline_findings()
