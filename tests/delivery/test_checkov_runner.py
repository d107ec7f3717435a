"""Reading checkov's JSON output in its different shapes."""
from __future__ import annotations

import json
import subprocess

import pytest

from tests.delivery.checkov_runner import all_reports, checks, json_reports

FAILED = {"check_id": "CKV_SECRET_2", "file_path": "/settings.py", "resource": "abc"}
SECRETS = {"check_type": "secrets", "results": {"failed_checks": [FAILED]}, "summary": {"failed": 1}}
TERRAFORM = {"check_type": "terraform", "results": {"passed_checks": [], "failed_checks": []}}
# What checkov prints when a framework found nothing to report: a summary without `results`.
BARE_SUMMARY = {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0, "resource_count": 0}


def output(value) -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess(["checkov"], 0, json.dumps(value), "")


@pytest.mark.parametrize(
    ("printed", "expected_failed"),
    [
        (SECRETS, [FAILED]),
        ([TERRAFORM, SECRETS], [FAILED]),
        (BARE_SUMMARY, []),
        ([TERRAFORM, BARE_SUMMARY], []),
        ({"check_type": "secrets", "summary": {"failed": 0}}, []),
        ({"check_type": "secrets", "results": {}}, []),
    ],
    ids=["one-report", "list-of-reports", "bare-summary", "list-with-summary", "report-without-results", "empty-results"],
)
def test_failed_checks_are_read_from_every_output_shape(printed, expected_failed):
    failed = [check for report in json_reports(output(printed), "secrets") for check in checks(report, "failed_checks")]
    assert failed == expected_failed


def test_reports_of_other_frameworks_are_left_out():
    assert [report["check_type"] for report in json_reports(output([TERRAFORM, SECRETS]), "terraform")] == ["terraform"]
    assert len(all_reports(output([TERRAFORM, SECRETS, BARE_SUMMARY]))) == 3


def test_output_that_is_not_json_fails_with_what_checkov_said():
    garbled = subprocess.CompletedProcess(["checkov"], 2, "Traceback (most recent call last)", "boom")
    with pytest.raises(pytest.fail.Exception, match="did not print JSON"):
        all_reports(garbled)
