"""The AIOps runtime in the platform layer: its objects in every environment, RBAC that allows exactly what the
runtime's own executor calls, and a config and policy the runtime itself loads and acts on."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from compiler import conventions as names
from compiler.emitters import aiops_policy
from compiler.emitters.platform_aiops import CONFIG_DIR, HEADLESS, STATE_DIR, TOKEN_DIR
from compiler.emitters.platform_alerting import alertmanager_config
from compiler.emitters.platform_charts import prometheus_url
from compiler.spec.config import PlatformConfig
from runtime.aiops.remediation import KubernetesExecutor, Target, load_policy
from runtime.aiops.sharding import ReplicaIdentity
from runtime.config import load_config
from tests.tools import require_tool, run_tool

KINDS = {"Namespace": 1, "ServiceAccount": 1, "ConfigMap": 1, "StatefulSet": 1, "Service": 2, "ServiceMonitor": 1,
         "NetworkPolicy": 1, "PodDisruptionBudget": 1}


def _folder(env: str) -> str:
    return f"{names.platform_dir(env)}/{names.AIOPS_DIR}"


@pytest.fixture(scope="module")
def aiops(project, output) -> dict[str, list[dict]]:
    kubectl = require_tool("kubectl")
    built = {}
    for env in project.environments:
        result = run_tool([kubectl, "kustomize", str(output / _folder(env.name))])
        assert result.returncode == 0, result.stderr
        built[env.name] = [d for d in yaml.safe_load_all(result.stdout) if d]
    return built


def _one(docs: list[dict], kind: str, name: str = names.AIOPS_SERVICE) -> dict:
    (found,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _data(docs: list[dict], key: str) -> str:
    (config,) = [d for d in docs if d["kind"] == "ConfigMap"]
    return config["data"][key]


def _written(tmp_path: Path, docs: list[dict], key: str) -> Path:
    path = tmp_path / key
    path.write_text(_data(docs, key), encoding="utf-8")
    return path


def test_every_environment_runs_the_runtime_where_alertmanager_posts(aiops, project, documents):
    cfg = project.config.spec
    home = cfg.platform.alerting.aiops.namespace
    webhook = next(r for r in alertmanager_config(project.config)["receivers"] if r["name"] == names.AIOPS_SERVICE)
    assert webhook["webhook_configs"][0]["url"] == f"http://aiops.{home}.svc:8080/alerts"
    for env, docs in aiops.items():
        for kind, count in KINDS.items():
            assert [d["kind"] for d in docs].count(kind) == count, (env, kind)
        assert {d["metadata"].get("namespace", home) for d in docs if d["kind"] not in ("Role", "RoleBinding")} \
            == {home}
        service = _one(docs, "Service")["spec"]
        assert service["ports"] == [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}]
        assert _one(docs, "Service", HEADLESS)["spec"]["clusterIP"] == "None"
        sts = _one(docs, "StatefulSet")
        replicas = cfg.platform.sizing(env).replicas
        assert sts["spec"]["replicas"] == replicas and sts["spec"]["serviceName"] == HEADLESS
        pod = sts["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        variables = {e["name"]: e for e in container["env"]}
        assert variables[names.AIOPS_REPLICA_COUNT_ENV]["value"] == str(replicas)
        assert variables[names.AIOPS_REPLICA_ORDINAL_ENV]["valueFrom"]["fieldRef"]["fieldPath"] == \
            f"metadata.labels['{names.POD_INDEX_LABEL}']"
        assert container["args"][:1] == ["aiops"] and container["image"] == cfg.platform.aiops.image
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert {p: container[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe")} == \
            {"livenessProbe": "/healthz", "readinessProbe": "/readyz"}
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert not mounts[STATE_DIR].get("readOnly") and not mounts["/tmp"].get("readOnly")
        assert [c["metadata"]["name"] for c in sts["spec"]["volumeClaimTemplates"]] == ["state"]
        token = next(v for v in pod["volumes"] if v["name"] == "token")["secret"]
        assert token["secretName"] == cfg.platform.alerting.aiops.tokenSecret.secret
        monitor = _one(docs, "ServiceMonitor")["spec"]
        assert monitor["selector"]["matchLabels"].items() <= _one(docs, "Service")["metadata"]["labels"].items()
        assert not monitor["selector"]["matchLabels"].items() <= \
            _one(docs, "Service", HEADLESS)["metadata"]["labels"].items(), "each pod is scraped once"
        flux = documents[f"{names.cluster_dir(env)}/{names.AIOPS_DIR}.yaml"]
        assert flux["spec"]["path"].endswith(_folder(env))
        assert names.PLATFORM_KUSTOMIZATION in [d["name"] for d in flux["spec"]["dependsOn"]]
        assert f"{names.AIOPS_DIR}.yaml" in documents[f"{names.cluster_dir(env)}/kustomization.yaml"]["resources"]
        assert names.AIOPS_DIR not in documents[f"{names.platform_dir(env)}/kustomization.yaml"]["resources"]


EXPECTED_ROLES = {
    "flux-system": [{"apiGroups": ["kustomize.toolkit.fluxcd.io"], "resources": ["kustomizations"],
                     "verbs": ["patch"], "resourceNames": ["assistant", "checkout", "fraud-scoring"]}],
    "payments": [{"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "patch"],
                  "resourceNames": ["checkout"]},
                 {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": ["get"],
                  "resourceNames": ["checkout"]}],
    "risk": [{"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "patch"],
              "resourceNames": ["fraud-scoring"]},
             {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": ["get"],
              "resourceNames": ["fraud-scoring"]},
             {"apiGroups": ["batch"], "resources": ["cronjobs"], "verbs": ["get"],
              "resourceNames": ["fraud-scoring-retrain"]},
             {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]},
             {"apiGroups": ["chaos-mesh.org"], "resources": ["schedules"], "verbs": ["list"]},
             {"apiGroups": ["chaos-mesh.org"], "resources": ["schedules"], "verbs": ["patch"],
              "resourceNames": ["fraud-scoring-fail-a-pod"]}],
}


def _roles(docs: list[dict]) -> dict[str, list[dict]]:
    return {d["metadata"]["namespace"]: d["rules"] for d in docs if d["kind"] == "Role"}


def test_prod_rbac_is_exactly_what_the_allowlisted_actions_need(aiops, project):
    docs = aiops["prod"]
    assert _roles(docs) == EXPECTED_ROLES
    assert not [d for d in docs if d["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    home = project.config.spec.platform.alerting.aiops.namespace
    bindings = [d for d in docs if d["kind"] == "RoleBinding"]
    assert sorted(b["metadata"]["namespace"] for b in bindings) == sorted(EXPECTED_ROLES)
    for binding in bindings:
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                      "name": aiops_policy.ROLE_NAME}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "aiops", "namespace": home}]
    assert _one(docs, "ServiceAccount")["automountServiceAccountToken"] is False


class RecordingApi:
    def __init__(self, owner: "Calls", **replies) -> None:
        self.owner, self.replies = owner, replies

    def __getattr__(self, method):
        def call(*args, **kwargs):
            self.owner.made.append((method, args))
            return self.replies.get(method)
        return call


@dataclasses.dataclass
class Calls:
    made: list = dataclasses.field(default_factory=list)


def _request(method: str, args: tuple) -> tuple[str, str, str, str, str | None]:
    """(namespace, group, resource, verb, name) of one kubernetes-client call, as the API server authorises it."""
    table = {
        "read_namespaced_horizontal_pod_autoscaler": ("autoscaling", "horizontalpodautoscalers", "get"),
        "read_namespaced_deployment_scale": ("apps", "deployments/scale", "get"),
        "patch_namespaced_deployment_scale": ("apps", "deployments/scale", "patch"),
        "patch_namespaced_deployment": ("apps", "deployments", "patch"),
        "read_namespaced_cron_job": ("batch", "cronjobs", "get"),
    }
    if method in table:
        return (args[1], *table[method], args[0])
    if method == "create_namespaced_job":
        return (args[0], "batch", "jobs", "create", None)
    if method == "list_namespaced_custom_object":
        return (args[2], args[0], args[3], "list", None)
    if method == "patch_namespaced_custom_object":
        return (args[2], args[0], args[3], "patch", args[4])
    raise AssertionError(f"unexpected API call {method}")


def _allowed(roles: dict[str, list[dict]], request: tuple) -> bool:
    namespace, group, resource, verb, name = request
    return any(group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"]
               and ("resourceNames" not in r or name in r["resourceNames"]) for r in roles.get(namespace, []))


def test_every_call_the_runtime_makes_for_its_rules_is_allowed_and_every_grant_is_used(aiops, documents, tmp_path):
    for env, docs in aiops.items():
        roles = _roles(docs)
        policy = load_policy(_written(tmp_path, docs, names.AIOPS_POLICY_KEY))
        schedules = [d for path, d in documents.items() if d.get("kind") == "Schedule" and f"/overlays/{env}/" in path]
        calls = Calls()
        used = set()
        for rule in policy.rules:
            target = Target(namespace=rule.target.namespace, name=rule.target.name)
            ref = client.V2CrossVersionObjectReference(kind="Deployment", name=target.name)
            hpa = client.V2HorizontalPodAutoscaler(spec=client.V2HorizontalPodAutoscalerSpec(
                scale_target_ref=ref, max_replicas=10))
            template = client.V1JobTemplateSpec(spec=client.V1JobSpec(template=client.V1PodTemplateSpec()))
            cronjob = client.V1CronJob(metadata=client.V1ObjectMeta(name=target.name, uid="u"),
                                       spec=client.V1CronJobSpec(schedule="@yearly", job_template=template))
            listed = {"items": [s for s in schedules if s["metadata"]["namespace"] == target.namespace]}
            apis = {"apps": RecordingApi(calls, read_namespaced_deployment_scale=client.V1Scale(
                        spec=client.V1ScaleSpec(replicas=1))),
                    "autoscaling": RecordingApi(calls, read_namespaced_horizontal_pod_autoscaler=hpa),
                    "batch": RecordingApi(calls, read_namespaced_cron_job=cronjob),
                    "custom": RecordingApi(calls, list_namespaced_custom_object=listed)}
            KubernetesExecutor(apis).execute(rule.action, target, dict(rule.params))
        for method, args in calls.made:
            request = _request(method, args)
            assert _allowed(roles, request), f"{env}: {request} is not granted"
            used.add(request)
        for namespace, rules in roles.items():
            for r in rules:
                names_ = r.get("resourceNames", [None])
                for verb in r["verbs"]:
                    for name in names_:
                        assert (namespace, r["apiGroups"][0], r["resources"][0], verb, name) in used, \
                            f"{env}: {namespace} grants {verb} {r['resources'][0]} {name} that no rule uses"


def _alerts_by_service(documents: dict, env: str) -> set[tuple[str, str]]:
    found = set()
    for path, doc in documents.items():
        if doc.get("kind") == "PrometheusRule" and f"/overlays/{env}/" in path:
            for group in doc["spec"]["groups"]:
                found |= {(r["alert"], r["labels"][names.SLO_LABEL_SERVICE]) for r in group["rules"] if "alert" in r}
    return found


def test_policy_loads_with_the_runtimes_loader_and_maps_generated_alerts(aiops, documents, tmp_path):
    expected_actions = {names.ALERT_BURN_PAGE: "scale_deployment", names.ALERT_CHAOS_BUDGET_LOW: "pause_chaos",
                        names.ALERT_BUDGET_EXHAUSTED: "suspend_kustomization", names.ALERT_MODEL_DRIFT: "retrain"}
    for env, docs in aiops.items():
        policy = load_policy(_written(tmp_path, docs, names.AIOPS_POLICY_KEY))
        assert policy.dry_run is True, "the example platform config opts no environment in"
        alerts = _alerts_by_service(documents, env)
        mapped = {rule.match["alertname"] for rule in policy.rules}
        assert mapped <= set(expected_actions) and (env != "prod" or mapped == set(expected_actions)), env
        for rule in policy.rules:
            assert (rule.match["alertname"], rule.match[names.SLO_LABEL_SERVICE]) in alerts, rule.name
            assert rule.action == expected_actions[rule.match["alertname"]]
            assert policy.allows(rule.action, rule.target), rule.name
        assert len(policy.allowlist) == len(policy.rules)
    retrain = next(r for r in load_policy(_written(tmp_path, aiops["prod"], names.AIOPS_POLICY_KEY)).rules
                   if r.action == "retrain")
    assert retrain.target.name == names.retrain_name("fraud-scoring") and retrain.target.namespace == "risk"


def test_an_environment_opts_in_to_acting(project):
    data = project.config.model_dump(mode="json")
    data["spec"]["platform"]["aiops"]["remediateIn"] = ["prod"]
    opted = dataclasses.replace(project, config=PlatformConfig.model_validate(data))
    assert {env.name: aiops_policy.policy(opted, env.name)["dry_run"] for env in project.environments} == \
        {"dev": True, "staging": True, "prod": False}


def test_config_loads_with_the_runtimes_model_and_points_at_the_platform(aiops, project, tmp_path):
    for env, docs in aiops.items():
        config = load_config(_written(tmp_path, docs, names.AIOPS_CONFIG_KEY))
        settings = config.aiops
        assert settings.prometheus.url == prometheus_url(project.config.spec.monitoringNamespace)
        assert settings.scheduler.enabled and settings.scheduler.series
        keys = [f"{s.service}/{s.metric}" for s in settings.scheduler.series]
        assert len(set(s.metric for s in settings.scheduler.series)) == len(keys), "one model per metric name"
        assert str(settings.remediation.policy_file) == f"{CONFIG_DIR}/{names.AIOPS_POLICY_KEY}"
        assert str(config.server.api_token_file).startswith(TOKEN_DIR)
        assert str(config.server.state_dir) == STATE_DIR
        replicas = project.config.spec.platform.sizing(env).replicas
        last = ReplicaIdentity.resolve(None, None, {names.AIOPS_REPLICA_COUNT_ENV: str(replicas),
                                                    names.AIOPS_REPLICA_ORDINAL_ENV: str(replicas - 1)})
        assert (last.ordinal, last.count) == (replicas - 1, replicas)
        owned = [sum(ReplicaIdentity(i, replicas).owns(k) for i in range(replicas)) for k in keys]
        assert owned == [1] * len(keys), "every live series is scored by exactly one replica"


def test_the_runtime_started_with_the_generated_files_decides_in_dry_run(aiops, tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from runtime.aiops.app import create_aiops_app

    monkeypatch.setenv("RUNTIME_API_TOKEN", "t0ken")
    docs = aiops["prod"]
    config = load_config(_written(tmp_path, docs, names.AIOPS_CONFIG_KEY))
    aiops_settings = config.aiops.model_copy(update={
        "scheduler": config.aiops.scheduler.model_copy(update={"enabled": False}),
        "remediation": config.aiops.remediation.model_copy(update={
            "policy_file": _written(tmp_path, docs, names.AIOPS_POLICY_KEY), "audit_log": tmp_path / "audit.jsonl"})})
    local = config.model_copy(update={"aiops": aiops_settings, "server": config.server.model_copy(
        update={"state_dir": tmp_path / "state", "api_token_file": None})})
    alert = {"status": "firing", "fingerprint": "f1", "annotations": {},
             "labels": {"alertname": names.ALERT_BURN_PAGE, "service": "checkout", "slo": "availability",
                        "team": "payments", "severity": "page"}}

    def refuse():
        raise AssertionError("dry-run never builds the executor")

    with TestClient(create_aiops_app(local, executor_factory=refuse)) as app:
        response = app.post("/alerts", json={"version": "4", "alerts": [alert]},
                            headers={"authorization": "Bearer t0ken"})
    assert response.status_code == 200, response.text
    decision = response.json()["alerts"][0]["decision"]
    assert (decision["outcome"], decision["action"]) == ("dry_run", "scale_deployment")
    assert decision["target"] == {"namespace": "payments", "name": "checkout"}


def test_opting_in_an_unknown_environment_is_a_clear_error(project):
    from pydantic import ValidationError

    data = project.config.model_dump(mode="json")
    data["spec"]["platform"]["aiops"]["remediateIn"] = ["qa"]
    with pytest.raises(ValidationError, match="remediateIn names unknown environment 'qa'; known: dev, staging, prod"):
        PlatformConfig.model_validate(data)
