"""Replica sharding, config loading, CLI errors and the light `import runtime`."""
from __future__ import annotations

import subprocess
import sys

import pytest

from runtime.aiops.sharding import ReplicaIdentity, owner_of
from runtime.config import ConfigError, load_config
from tests.runtime.servers import REPO


def test_every_key_has_exactly_one_owner_and_spread_is_even():
    keys = [f"svc/metric-{i}" for i in range(3000)]
    owners = [owner_of(key, 3) for key in keys]
    for key in keys[:50]:
        assert sum(ReplicaIdentity(o, 3).owns(key) for o in range(3)) == 1
    shares = [owners.count(i) / len(keys) for i in range(3)]
    assert all(0.28 < share < 0.39 for share in shares), shares


def test_growing_replicas_moves_only_keys_to_the_new_one():
    keys = [f"k{i}" for i in range(2000)]
    before = {key: owner_of(key, 3) for key in keys}
    after = {key: owner_of(key, 4) for key in keys}
    moved = [key for key in keys if before[key] != after[key]]
    assert all(after[key] == 3 for key in moved)
    assert 0.15 < len(moved) / len(keys) < 0.35


def test_identity_from_env_and_statefulset_hostname():
    assert ReplicaIdentity.resolve(None, None, {}) == ReplicaIdentity(0, 1)
    assert ReplicaIdentity.resolve(None, None, {"RUNTIME_REPLICA_COUNT": "3", "HOSTNAME": "aiops-2"}) == \
        ReplicaIdentity(2, 3)
    assert ReplicaIdentity.resolve(None, None, {"RUNTIME_REPLICA_COUNT": "3", "RUNTIME_REPLICA_ORDINAL": "1",
                                                "HOSTNAME": "aiops-2"}) == ReplicaIdentity(1, 3)
    with pytest.raises(ValueError, match="not below"):
        ReplicaIdentity.resolve(5, 2, {})


def test_config_file_errors_name_the_field(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("server:\n  max_body_bytes: -1\naiops:\n  scheduler:\n    interval_seconds: x\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "server.max_body_bytes" in str(error.value) and "aiops.scheduler.interval_seconds" in str(error.value)
    path.write_text("llm: [1, 2")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)
    json_path = tmp_path / "config.json"
    json_path.write_text('{"llm": {"upstream": {"url": "ftp://x"}}}')
    with pytest.raises(ConfigError, match="llm.upstream.url"):
        load_config(json_path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_cli_reports_bad_config_without_traceback(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("unknown_section: {}\n")
    result = subprocess.run([sys.executable, "-m", "runtime", "aiops", "--config", str(path)],
                            capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2
    assert "unknown_section" in result.stderr and "Traceback" not in result.stderr
    bad_role = subprocess.run([sys.executable, "-m", "runtime", "nope"], capture_output=True, text=True,
                              cwd=REPO, timeout=60)
    assert bad_role.returncode == 2 and "invalid choice" in bad_role.stderr


def test_import_runtime_stays_light():
    code = ("import sys, runtime, runtime.config, runtime.app; "
            "print(sorted(m for m in ('fastapi', 'sklearn', 'kubernetes', 'numpy', 'uvicorn') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_aiops_app_does_not_import_kubernetes(tmp_path):
    code = ("import sys; from runtime.app import create_app; from runtime.config import RuntimeConfig; "
            f"create_app('aiops', RuntimeConfig.model_validate({{'server': {{'state_dir': {str(tmp_path)!r}}}}})); "
            "print('kubernetes' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


def test_only_one_worker_holds_the_scheduler_lock(tmp_path):
    from runtime.aiops.scheduler import WorkerLock

    first, second = WorkerLock(tmp_path / "scheduler.lock"), WorkerLock(tmp_path / "scheduler.lock")
    assert first.try_acquire() and first.try_acquire()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()
