"""The Kubernetes executor's calls (recorded by fake API objects) and the `retrain` action end to end."""
from __future__ import annotations

import asyncio

import pytest
from kubernetes import client
from prometheus_client import CollectorRegistry, Counter

from runtime.aiops.remediation import (AuditLog, KubernetesExecutor, PolicyError, RemediationEngine,
                                       RemediationPolicy, Target, retrain_job_name)
from runtime.aiops.schemas import AlertmanagerAlert
from runtime.aiops.sharding import ReplicaIdentity

NOW = 1_700_000_000.0


class FakeApi:
    """Records every call; answers reads from `replies` (method name -> value)."""

    def __init__(self, **replies) -> None:
        self.calls: list[tuple] = []
        self.replies = replies

    def __getattr__(self, method):
        def call(*args, **kwargs):
            self.calls.append((method, args, kwargs))
            return self.replies.get(method)
        return call


def _cronjob() -> client.V1CronJob:
    pod = client.V1PodTemplateSpec(
        metadata=client.V1ObjectMeta(labels={"app": "train"}),
        spec=client.V1PodSpec(restart_policy="Never", containers=[
            client.V1Container(name="train", image="ghcr.io/acme/train:1", args=["--trigger", "drift"])]))
    template = client.V1JobTemplateSpec(metadata=client.V1ObjectMeta(labels={"app": "train"}),
                                        spec=client.V1JobSpec(backoff_limit=1, template=pod))
    return client.V1CronJob(metadata=client.V1ObjectMeta(name="fraud-scoring-retrain", uid="u-1"),
                            spec=client.V1CronJobSpec(schedule="0 0 1 1 *", suspend=True, job_template=template))


def _hpa(max_replicas: int, deployment: str = "checkout"):
    ref = client.V2CrossVersionObjectReference(api_version="apps/v1", kind="Deployment", name=deployment)
    return client.V2HorizontalPodAutoscaler(spec=client.V2HorizontalPodAutoscalerSpec(
        scale_target_ref=ref, min_replicas=2, max_replicas=max_replicas))


def _scale(replicas: int):
    return client.V1Scale(spec=client.V1ScaleSpec(replicas=replicas))


def executor(**apis) -> KubernetesExecutor:
    filled = {name: apis.get(name, FakeApi()) for name in ("apps", "autoscaling", "batch", "custom")}
    made = KubernetesExecutor(filled)
    made._clock = lambda: NOW
    return made


def test_retrain_creates_a_job_from_the_cronjob_template():
    batch = FakeApi(read_namespaced_cron_job=_cronjob())
    result = executor(batch=batch).execute("retrain", Target(namespace="risk", name="fraud-scoring-retrain"), {})
    (read, created) = batch.calls
    assert read == ("read_namespaced_cron_job", ("fraud-scoring-retrain", "risk"), {})
    method, (namespace, job), _ = created
    assert method == "create_namespaced_job" and namespace == "risk"
    name = retrain_job_name("fraud-scoring-retrain", NOW)
    assert job["metadata"]["name"] == name and result == f"created job {name} from cronjob fraud-scoring-retrain"
    assert job["metadata"]["labels"] == {"app": "train"}
    assert job["metadata"]["annotations"] == {"cronjob.kubernetes.io/instantiate": "manual"}
    assert job["metadata"]["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "CronJob",
                                                   "name": "fraud-scoring-retrain", "uid": "u-1",
                                                   "controller": True, "blockOwnerDeletion": False}]
    assert job["spec"] == {"backoffLimit": 1, "template": {"metadata": {"labels": {"app": "train"}}, "spec": {
        "restartPolicy": "Never",
        "containers": [{"name": "train", "image": "ghcr.io/acme/train:1", "args": ["--trigger", "drift"]}]}}}


def test_retrain_job_names_are_valid_and_unique_per_minute():
    long = "a" * 70
    assert len(retrain_job_name(long, NOW)) <= 63
    assert retrain_job_name("x", NOW) != retrain_job_name("x", NOW + 60)
    assert retrain_job_name("x", NOW) == f"x-manual-{int(NOW // 60)}"


def test_scale_stays_within_the_hpa_bounds_and_never_touches_the_hpa():
    autoscaling = FakeApi(read_namespaced_horizontal_pod_autoscaler=_hpa(max_replicas=4))
    apps = FakeApi(read_namespaced_deployment_scale=_scale(3))
    made = executor(apps=apps, autoscaling=autoscaling)
    result = made.execute("scale_deployment", Target(namespace="payments", name="checkout"),
                          {"hpa": "checkout", "step": 2})
    assert result == "deployment checkout replicas 3 -> 4 (HPA checkout maxReplicas 4)"
    assert autoscaling.calls == [("read_namespaced_horizontal_pod_autoscaler", ("checkout", "payments"), {})]
    assert apps.calls[-1] == ("patch_namespaced_deployment_scale",
                              ("checkout", "payments", {"spec": {"replicas": 4}}), {})
    apps.replies["read_namespaced_deployment_scale"] = _scale(4)
    assert "already at HPA checkout maxReplicas 4" in made.execute(
        "scale_deployment", Target(namespace="payments", name="checkout"), {"hpa": "checkout"})
    assert [c[0] for c in apps.calls].count("patch_namespaced_deployment_scale") == 1


def test_scale_refuses_an_hpa_of_another_deployment_or_no_bound():
    made = executor(autoscaling=FakeApi(read_namespaced_horizontal_pod_autoscaler=_hpa(4, deployment="cart")))
    with pytest.raises(PolicyError, match="not deployment checkout"):
        made.execute("scale_deployment", Target(namespace="payments", name="checkout"), {"hpa": "checkout"})
    with pytest.raises(PolicyError, match="params.hpa or params.max_replicas"):
        made.execute("scale_deployment", Target(namespace="payments", name="checkout"), {})


def test_pause_chaos_patches_the_selected_schedules_only():
    custom = FakeApi(list_namespaced_custom_object={"items": [{"metadata": {"name": "checkout-pod-kill"}}]})
    result = executor(custom=custom).execute("pause_chaos", Target(namespace="payments", name=""),
                                             {"selector": "app.kubernetes.io/name=checkout"})
    assert custom.calls == [
        ("list_namespaced_custom_object", ("chaos-mesh.org", "v1alpha1", "payments", "schedules"),
         {"label_selector": "app.kubernetes.io/name=checkout"}),
        ("patch_namespaced_custom_object", ("chaos-mesh.org", "v1alpha1", "payments", "schedules",
                                            "checkout-pod-kill",
                                            {"metadata": {"annotations": {"experiment.chaos-mesh.org/pause": "true"}}}),
         {})]
    assert result == "paused chaos schedules ['checkout-pod-kill']"


def test_restart_and_suspend_use_one_patch_each():
    apps, custom = FakeApi(), FakeApi()
    made = executor(apps=apps, custom=custom)
    made.execute("restart_rollout", Target(namespace="payments", name="checkout"), {})
    made.execute("suspend_kustomization", Target(namespace="flux-system", name="checkout"), {})
    assert [c[0] for c in apps.calls] == ["patch_namespaced_deployment"]
    assert custom.calls == [("patch_namespaced_custom_object", ("kustomize.toolkit.fluxcd.io", "v1", "flux-system",
                                                                "kustomizations", "checkout",
                                                                {"spec": {"suspend": True}}), {})]


POLICY = {"dry_run": False, "allowlist": [{"action": "retrain", "namespace": "risk", "name": "fraud-scoring-retrain"}],
          "rules": [{"name": "retrain", "match": {"alertname": "ModelDriftHigh", "policy": "retrain-model"},
                     "action": "retrain", "target": {"namespace": "{team}", "name": "{cronjob}"}}]}


def _engine(tmp_path, policy: dict, batch: FakeApi):
    counter = Counter("aiops_remediation_decisions_total", "d", ("action", "outcome"), registry=CollectorRegistry())
    return RemediationEngine(RemediationPolicy.model_validate(policy), ReplicaIdentity(0, 1),
                             AuditLog(tmp_path / "audit.jsonl"), counter, executor_factory=lambda: executor(batch=batch),
                             clock=lambda: NOW)


def _drift(cronjob: str) -> AlertmanagerAlert:
    return AlertmanagerAlert(status="firing", fingerprint="f", labels={
        "alertname": "ModelDriftHigh", "policy": "retrain-model", "team": "risk", "cronjob": cronjob})


def test_drift_alert_starts_one_retrain_job_through_the_engine(tmp_path):
    batch = FakeApi(read_namespaced_cron_job=_cronjob())
    engine = _engine(tmp_path, POLICY, batch)
    decision = asyncio.run(engine.handle_alert(_drift("fraud-scoring-retrain")))
    assert decision["outcome"] == "executed" and decision["action"] == "retrain"
    assert [c[0] for c in batch.calls] == ["read_namespaced_cron_job", "create_namespaced_job"]
    again = asyncio.run(engine.handle_alert(_drift("fraud-scoring-retrain")))
    assert again["outcome"] == "cooldown" and len(batch.calls) == 2


def test_retrain_outside_the_allowlist_or_in_dry_run_creates_nothing(tmp_path):
    batch = FakeApi(read_namespaced_cron_job=_cronjob())
    denied = asyncio.run(_engine(tmp_path, POLICY, batch).handle_alert(_drift("payments-export")))
    assert denied["outcome"] == "denied" and batch.calls == []
    dry = asyncio.run(_engine(tmp_path, {**POLICY, "dry_run": True}, batch).handle_alert(
        _drift("fraud-scoring-retrain")))
    assert dry["outcome"] == "dry_run" and batch.calls == []
