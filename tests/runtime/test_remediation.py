"""Remediation engine: allowlist, dry-run default, cooldowns, hourly cap, audit log, metrics, one replica."""
from __future__ import annotations

import asyncio
import json

import pytest
from prometheus_client import CollectorRegistry, Counter

from runtime.aiops.remediation import AuditLog, RemediationEngine, RemediationPolicy, load_policy, PolicyError
from runtime.aiops.schemas import AlertmanagerAlert
from runtime.aiops.sharding import ReplicaIdentity


class RecordingExecutor:
    def __init__(self, fail: bool = False) -> None:
        self.calls = []
        self.fail = fail

    def execute(self, action, target, params):
        self.calls.append((action, target.namespace, target.name, params))
        if self.fail:
            raise RuntimeError("api server said no")
        return f"did {action}"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


POLICY = {
    "dry_run": False,
    "max_actions_per_hour": 3,
    "default_cooldown_seconds": 600,
    "allowlist": [{"action": "scale_deployment", "namespace": "shop", "name": "checkout"},
                  {"action": "restart_rollout", "namespace": "shop", "name": "cart"},
                  {"action": "pause_chaos", "namespace": "shop", "name": ""},
                  {"action": "suspend_kustomization", "namespace": "flux-system", "name": "shop"}],
    "rules": [
        {"name": "latency", "match": {"alertname": "Latency"}, "action": "scale_deployment",
         "target": {"namespace": "{namespace}", "name": "{deployment}"}, "params": {"step": 1}},
        {"name": "errors", "match": {"alertname": "Errors"}, "action": "restart_rollout",
         "target": {"namespace": "shop", "name": "cart"}, "cooldown_seconds": 60},
        {"name": "burn", "match": {"alertname": "Burn"}, "action": "pause_chaos",
         "target": {"namespace": "shop"}, "params": {"chaos_requires_above": 0.5}},
        {"name": "bad-deploy", "match": {"alertname": "BadDeploy"}, "action": "suspend_kustomization",
         "target": {"namespace": "flux-system", "name": "shop"}},
    ],
}


def make_engine(tmp_path, policy=None, replica=ReplicaIdentity(0, 1), executor=None):
    registry = CollectorRegistry()
    counter = Counter("aiops_remediation_decisions_total", "d", ("action", "outcome"), registry=registry)
    executor = executor or RecordingExecutor()
    built = []

    def factory():
        built.append(True)
        return executor

    engine = RemediationEngine(RemediationPolicy.model_validate(policy or POLICY), replica,
                               AuditLog(tmp_path / "audit.jsonl"), counter, executor_factory=factory,
                               clock=Clock())
    return engine, executor, registry, built


def alert(name, status="firing", **labels):
    return AlertmanagerAlert(status=status, labels={"alertname": name, **labels}, fingerprint=f"fp-{name}")


def decide(engine, item):
    return asyncio.run(engine.handle_alert(item))


def count(registry, action, outcome):
    return registry.get_sample_value("aiops_remediation_decisions_total", {"action": action, "outcome": outcome}) or 0


def test_executes_allowed_action_and_audits_it(tmp_path):
    engine, executor, registry, _ = make_engine(tmp_path)
    decision = decide(engine, alert("Latency", namespace="shop", deployment="checkout"))
    assert decision["outcome"] == "executed"
    assert executor.calls == [("scale_deployment", "shop", "checkout", {"step": 1})]
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert lines[0]["outcome"] == "executed" and lines[0]["target"] == {"namespace": "shop", "name": "checkout"}
    assert count(registry, "scale_deployment", "executed") == 1


def test_never_acts_outside_the_allowlist(tmp_path):
    engine, executor, registry, built = make_engine(tmp_path)
    decision = decide(engine, alert("Latency", namespace="prod", deployment="payments"))
    assert decision["outcome"] == "denied" and "allowlist" in decision["reason"]
    assert executor.calls == [] and built == []
    assert count(registry, "scale_deployment", "denied") == 1


def test_dry_run_is_the_default_and_never_executes(tmp_path):
    policy = {key: value for key, value in POLICY.items() if key != "dry_run"}
    engine, executor, registry, built = make_engine(tmp_path, policy)
    assert engine.policy.dry_run is True
    decision = decide(engine, alert("Errors"))
    assert decision["outcome"] == "dry_run" and "would run restart_rollout" in decision["reason"]
    assert executor.calls == [] and built == [], "the real executor must not even be constructed in dry-run"
    assert count(registry, "restart_rollout", "dry_run") == 1


def test_cooldown_then_allowed_again(tmp_path):
    engine, executor, registry, _ = make_engine(tmp_path)
    assert decide(engine, alert("Errors"))["outcome"] == "executed"
    engine._clock.now += 30
    assert decide(engine, alert("Errors"))["outcome"] == "cooldown"
    engine._clock.now += 31
    assert decide(engine, alert("Errors"))["outcome"] == "executed"
    assert len(executor.calls) == 2 and count(registry, "restart_rollout", "cooldown") == 1


def test_hourly_cap(tmp_path):
    engine, executor, registry, _ = make_engine(tmp_path)
    outcomes = []
    for _ in range(5):
        outcomes.append(decide(engine, alert("Errors"))["outcome"])
        engine._clock.now += 61
    assert outcomes == ["executed", "executed", "executed", "capped", "capped"]
    engine._clock.now += 3600
    assert decide(engine, alert("Errors"))["outcome"] == "executed"


def test_failure_is_recorded(tmp_path):
    engine, _, registry, _ = make_engine(tmp_path, executor=RecordingExecutor(fail=True))
    decision = decide(engine, alert("BadDeploy"))
    assert decision["outcome"] == "failed" and "api server said no" in decision["reason"]
    assert count(registry, "suspend_kustomization", "failed") == 1


def test_pause_chaos_only_when_error_budget_is_low(tmp_path):
    engine, executor, _, _ = make_engine(tmp_path)
    high = AlertmanagerAlert(status="firing", labels={"alertname": "Burn"},
                             annotations={"error_budget_remaining": "0.8"})
    assert decide(engine, high)["outcome"] == "denied"
    unknown = AlertmanagerAlert(status="firing", labels={"alertname": "Burn"})
    assert "unknown" in decide(engine, unknown)["reason"]
    low = AlertmanagerAlert(status="firing", labels={"alertname": "Burn"},
                            annotations={"error_budget_remaining": "0.2"})
    assert decide(engine, low)["outcome"] == "executed"
    assert executor.calls == [("pause_chaos", "shop", "", {"chaos_requires_above": 0.5})]


def test_resolved_and_unmatched_alerts_do_nothing(tmp_path):
    engine, executor, _, _ = make_engine(tmp_path)
    assert decide(engine, alert("Errors", status="resolved")) is None
    assert decide(engine, alert("SomethingElse")) is None
    assert executor.calls == []


def test_missing_placeholder_label_is_denied(tmp_path):
    engine, executor, _, _ = make_engine(tmp_path)
    decision = decide(engine, alert("Latency", namespace="shop"))
    assert decision["outcome"] == "denied" and "deployment" in decision["reason"]


def test_exactly_one_replica_acts_on_an_alert(tmp_path):
    outcomes = []
    for ordinal in range(3):
        engine, executor, _, _ = make_engine(tmp_path / str(ordinal), replica=ReplicaIdentity(ordinal, 3))
        outcomes.append(decide(engine, alert("Errors"))["outcome"])
    assert sorted(outcomes) == ["delegated", "delegated", "executed"]


def test_policy_file_errors_are_clear(tmp_path):
    bad = tmp_path / "policy.yaml"
    bad.write_text("rules:\n  - name: x\n    match: {a: b}\n    action: delete_namespace\n    target: {namespace: x}\n")
    with pytest.raises(PolicyError, match="rules.0.action"):
        load_policy(bad)
    assert load_policy(None).dry_run is True


def test_alerts_endpoint_runs_the_engine(tmp_path):
    import yaml
    from fastapi.testclient import TestClient

    from runtime.app import create_app
    from runtime.config import RuntimeConfig
    from tests.runtime.conftest import AUTH

    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump({**POLICY, "dry_run": True}))
    config = RuntimeConfig.model_validate({"server": {"state_dir": str(tmp_path)},
                                           "aiops": {"remediation": {"policy_file": str(policy)}}})
    built = []
    app = create_app("aiops", config, executor_factory=lambda: built.append(1))
    webhook = {"version": "4", "status": "firing", "receiver": "runtime",
               "alerts": [{"status": "firing", "labels": {"alertname": "Errors", "service": "cart"},
                           "annotations": {}, "fingerprint": "abc"}]}
    with TestClient(app) as client:
        body = client.post("/alerts", json=webhook, headers=AUTH).json()
        metrics = client.get("/metrics").text
    assert body["alerts"][0]["decision"]["outcome"] == "dry_run"
    assert 'aiops_remediation_decisions_total{action="restart_rollout",outcome="dry_run"} 1.0' in metrics
    assert built == []
    assert (tmp_path / "audit.jsonl").read_text().count("\n") == 1
