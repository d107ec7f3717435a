"""The repository's secret scan (checkov's offline `secrets` framework) passes, and its baseline is explained."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.delivery.checkov_runner import checks, json_reports, run_checkov
from tests.delivery.paths import SECURITY
from tests.tools import REPO, require_tool, run_tool

# The scan reads a copy of the tracked files only, so it takes seconds; checkov walking the
# virtualenvs and caches of a working tree took minutes.
SCAN_TIMEOUT_SECONDS = 120


def baseline_findings() -> set[tuple[str, str, str]]:
    baseline = json.loads((SECURITY / "checkov-secrets.baseline").read_text(encoding="utf-8"))
    return {
        (entry["file"], finding["resource"], check)
        for entry in baseline["failed_checks"]
        for finding in entry["findings"]
        for check in finding["check_ids"]
    }


def tracked_files() -> list[str]:
    """Paths git tracks in the checkout, as they are in the working tree (deleted ones left out)."""
    try:
        listing = subprocess.run(
            ["git", "-C", str(REPO), "ls-files", "-z", "--cached"], capture_output=True, check=True, timeout=60
        )
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.fail(f"the secret scan needs a git checkout to know which files are tracked: {error}")
    names = [name for name in listing.stdout.decode("utf-8").split("\0") if name]
    return [name for name in names if (REPO / name).is_file() and not (REPO / name).is_symlink()]


@pytest.fixture(scope="module")
def tracked_copy(tmp_path_factory) -> Path:
    """The tracked files copied to a folder of their own: what CI's fresh checkout would scan,
    without virtualenvs, `.git/`, caches or anyone's untracked work in progress."""
    copy = tmp_path_factory.mktemp("tracked")
    for name in tracked_files():
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / name, target)
    return copy


def test_tracked_copy_holds_only_tracked_files(tracked_copy):
    top_level = {path.name for path in tracked_copy.iterdir()}
    assert not top_level & {".git", ".venv", ".venv-checkov", ".hypothesis", ".platformc-cache", ".pytest_cache"}
    assert (tracked_copy / ".security" / "checkov-secrets.yaml").is_file(), "the scan configuration is not tracked"


def test_secret_scan_finds_exactly_the_baselined_false_positives(tracked_copy, tmp_path):
    """Scanned without its baseline, the tracked files yield the baseline's findings and nothing else:
    a new finding is a possible secret, a baseline entry no longer found is stale and must go."""
    config = (SECURITY / "checkov-secrets.yaml").read_text(encoding="utf-8")
    unbaselined = tmp_path / "checkov-secrets.yaml"
    unbaselined.write_text("\n".join(line for line in config.splitlines() if not line.startswith("baseline:")), encoding="utf-8")
    result = run_checkov(["--config-file", str(unbaselined), "-d", ".", "-o", "json"], cwd=tracked_copy, timeout=SCAN_TIMEOUT_SECONDS)
    assert result.returncode in (0, 1), f"checkov failed to run (exit {result.returncode}): {result.stderr[-2000:]}"
    found = {
        (check["file_path"], check["resource"], check["check_id"])
        for entry in json_reports(result, "secrets")
        for check in checks(entry, "failed_checks")
    }
    expected = baseline_findings()
    assert sorted(found - expected) == [], "possible secrets committed (file, value hash, check)"
    assert sorted(expected - found) == [], "stale entries in .security/checkov-secrets.baseline"


def test_every_baseline_entry_has_a_written_reason():
    with (SECURITY / "secrets-baseline-reasons.yaml").open(encoding="utf-8") as handle:
        reasons = yaml.safe_load(handle)
    explained = {(entry["file"], entry["resource"], entry["check"]) for entry in reasons}
    for entry in reasons:
        assert len(entry["reason"].strip()) >= 30, f"reason for {entry['file']} is too short to explain anything"
    assert explained == baseline_findings()


def test_secret_scan_configuration_still_catches_a_planted_key(tmp_path):
    """Guards against a config that silently skips everything: a fake AWS key must be reported."""
    fake_key_id = "AKIA" + "Z7QX3MPL2VBN4KDA"
    fake_secret = "wJalr" + "XUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
    (tmp_path / "settings.py").write_text(
        f'AWS_ACCESS_KEY_ID = "{fake_key_id}"\nAWS_SECRET_ACCESS_KEY = "{fake_secret}"\n', encoding="utf-8"
    )
    result = run_checkov(["--config-file", ".security/checkov-secrets.yaml", "-d", str(tmp_path), "-o", "json"], timeout=SCAN_TIMEOUT_SECONDS)
    failed = [check["check_id"] for entry in json_reports(result, "secrets") for check in checks(entry, "failed_checks")]
    assert failed, "the secret scan missed a planted AWS access key"
    assert result.returncode != 0


def test_hadolint_configuration_is_valid_and_enforces_trusted_registries(tmp_path):
    hadolint = require_tool("hadolint")
    good = tmp_path / "Dockerfile.good"
    good.write_text('FROM python:3.11-slim\nUSER 65532\nCMD ["python", "-V"]\n', encoding="utf-8")
    untrusted = tmp_path / "Dockerfile.untrusted"
    untrusted.write_text('FROM quay.io/example/app:1.0\nUSER 65532\nCMD ["app"]\n', encoding="utf-8")
    config = str(SECURITY / "hadolint.yaml")
    clean = run_tool([hadolint, "--no-color", "--config", config, str(good)], timeout=60)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    flagged = run_tool([hadolint, "--no-color", "--config", config, str(untrusted)], timeout=60)
    assert flagged.returncode != 0 and "DL3026" in flagged.stdout
