"""The AIOps runtime in every environment: `generated/platform/<env>/aiops/`, reconciled by its own Flux
Kustomization `aiops` once the platform (the ServiceMonitor CRD) and the team namespaces it acts in exist.

One StatefulSet runs the runtime image in its `aiops` role. Replicas follow the environment's sizing; each pod
learns its ordinal from the StatefulSet's pod-index label and the count from the spec, which is how the runtime
shards live scoring and picks the one replica that remediates a target. Alertmanager posts every alert to the
Service `aiops` (see platform_alerting.py) with the bearer token of `alerting.aiops.tokenSecret`; the runtime
reads the same Secret name and key from its own namespace.

The pod mounts its ServiceAccount token because remediation calls the Kubernetes API; that one checkov check
(CKV_K8S_38) is skipped on the StatefulSet with the reason. The RBAC is in aiops_policy.py.
"""
from __future__ import annotations

import yaml

from .. import conventions as names
from ..project import Project
from . import pods
from .aiops_policy import acted_in, policy, rbac
from .platform_charts import prometheus_url

STATE_DIR = "/var/lib/runtime"
CONFIG_DIR = "/etc/aiops/config"
TOKEN_DIR = "/etc/aiops/token"
TOKEN_FILE = "token"
HEADLESS = f"{names.AIOPS_SERVICE}-headless"
ROLE = "aiops"
SCRAPE_LABEL = "platform.acme.dev/scrape"
API_SERVER_PORTS = (443, 6443)
"""Core NetworkPolicy cannot name the API server; its Service port and the usual endpoint port are allowed."""
TOKEN_MOUNT_REASON = ("CKV_K8S_38=the AIOps runtime remediates through the Kubernetes API with this "
                      "ServiceAccount; its Roles allow only the allowlisted actions")
SCHEDULER = {"enabled": True, "interval_seconds": 30, "lookback_seconds": 900, "step_seconds": 30,
             "auto_train": True, "train_lookback_seconds": 7 * 86400}


def labels(component: str = ROLE) -> dict[str, str]:
    return {**names.selector_labels(names.AIOPS_SERVICE), names.LABEL_PART_OF: names.PLATFORM_DIR,
            names.LABEL_MANAGED_BY: names.MANAGED_BY, names.LABEL_COMPONENT: component}


def _meta(project: Project, name: str = names.AIOPS_SERVICE, component: str = ROLE, **extra) -> dict:
    return {"name": name, "namespace": namespace(project), "labels": labels(component), **extra}


def namespace(project: Project) -> str:
    return project.config.spec.platform.alerting.aiops.namespace


def _slo_queries(project: Project, env: str) -> dict[str, dict[str, str]]:
    """Per service, the SLO series the runtime scores live and ranks in root-cause analysis. The runtime keeps
    one model per metric name, so names carry the service."""
    queries: dict[str, dict[str, str]] = {}
    for service in project.services:
        for slo in service.envs[env].slos:
            sel = (f'{{{names.SLO_LABEL_SERVICE}="{service.name}",{names.SLO_LABEL_SLO}="{slo.name}",'
                   f'{names.SLO_LABEL_ENV}="{env}"}}')
            queries.setdefault(service.name, {}).update({
                f"{service.name}-{slo.name}-error-ratio": f"sum({names.slo_error_ratio('5m')}{sel})",
                f"{service.name}-{slo.name}-requests": f"sum({names.SLO_TOTAL_RATE5M}{sel})"})
    return queries


def runtime_config(project: Project, env: str) -> dict:
    """The runtime's config file (runtime/config.py RuntimeConfig)."""
    queries = _slo_queries(project, env)
    series = [{"metric": metric, "service": service, "query": query}
              for service, metrics in sorted(queries.items()) for metric, query in sorted(metrics.items())]
    return {
        "server": {"state_dir": STATE_DIR, "api_token_file": f"{TOKEN_DIR}/{TOKEN_FILE}", "log_level": "INFO"},
        "aiops": {
            "prometheus": {"url": prometheus_url(project.config.spec.monitoringNamespace), "timeout_seconds": 10},
            "scheduler": {**SCHEDULER, "enabled": bool(series), "series": series},
            "rca": {"services": {service: {"metrics": metrics} for service, metrics in sorted(queries.items())}},
            "remediation": {"policy_file": f"{CONFIG_DIR}/{names.AIOPS_POLICY_KEY}",
                            "audit_log": f"{STATE_DIR}/audit.jsonl", "rca_on_alert": True},
        },
    }


def config_map(project: Project, env: str) -> dict:
    """Config and policy in one immutable ConfigMap named by its content: a change rolls the pods."""
    data = {names.AIOPS_CONFIG_KEY: yaml.safe_dump(runtime_config(project, env), sort_keys=True, width=120),
            names.AIOPS_POLICY_KEY: yaml.safe_dump(policy(project, env), sort_keys=True, width=120)}
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _meta(project, f"{names.AIOPS_SERVICE}-{pods.content_hash(data)}"),
            "data": data, "immutable": True}


def _namespace(project: Project) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace(project), "labels": {
        names.LABEL_MANAGED_BY: names.MANAGED_BY, names.LABEL_PART_OF: names.PLATFORM_DIR,
        names.LABEL_POD_SECURITY: "restricted", names.LABEL_POD_SECURITY_VERSION: "latest"}}}


def _container(project: Project, replicas: int) -> dict:
    settings = project.config.spec.platform.aiops
    env = [{"name": "RUNTIME_STATE_DIR", "value": STATE_DIR},
           {"name": names.AIOPS_REPLICA_COUNT_ENV, "value": str(replicas)},
           {"name": names.AIOPS_REPLICA_ORDINAL_ENV,
            "valueFrom": {"fieldRef": {"fieldPath": f"metadata.labels['{names.POD_INDEX_LABEL}']"}}}]
    mounts = [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
              {"name": "token", "mountPath": TOKEN_DIR, "readOnly": True},
              {"name": "state", "mountPath": STATE_DIR}, {"name": "tmp", "mountPath": "/tmp"}]
    return {
        "name": "runtime", "image": settings.image, "imagePullPolicy": "Always",
        "args": [ROLE, "--port", str(names.AIOPS_PORT), "--config", f"{CONFIG_DIR}/{names.AIOPS_CONFIG_KEY}"],
        "ports": [{"name": names.PORT_NAME, "containerPort": names.AIOPS_PORT, "protocol": "TCP"}],
        "env": env, "resources": pods.resources(settings.cpu, settings.memory),
        "startupProbe": pods.http_probe("/healthz", names.PORT_NAME, period=5, failures=24),
        "livenessProbe": pods.http_probe("/healthz", names.PORT_NAME, period=10, failures=3),
        "readinessProbe": pods.http_probe("/readyz", names.PORT_NAME, period=5, failures=3),
        "securityContext": pods.container_security(), "volumeMounts": mounts,
    }


def statefulset(project: Project, env: str, config: dict) -> dict:
    platform = project.config.spec.platform
    replicas = platform.sizing(env).replicas
    token = platform.alerting.aiops.tokenSecret
    volumes = [{"name": "config", "configMap": {"name": config["metadata"]["name"]}},
               {"name": "token", "secret": {"secretName": token.secret,
                                            "items": [{"key": token.key, "path": TOKEN_FILE}]}},
               {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    pod = pods.pod_spec(names.AIOPS_SERVICE, [_container(project, replicas)], volumes,
                        automountServiceAccountToken=True, terminationGracePeriodSeconds=30)
    claim = {"metadata": {"name": "state"},
             "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": platform.storageClass,
                      "resources": {"requests": {"storage": str(platform.aiops.storage)}}}}
    annotations = {names.ANNOTATION_SOURCE: "specs/platform-config.yaml",
                   names.CHECKOV_SKIP_ANNOTATION.format(index=1): TOKEN_MOUNT_REASON}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": _meta(project, annotations=annotations),
            "spec": {"replicas": replicas, "serviceName": HEADLESS, "podManagementPolicy": "Parallel",
                     "revisionHistoryLimit": 5, "selector": {"matchLabels": names.selector_labels(names.AIOPS_SERVICE)},
                     "updateStrategy": {"type": "RollingUpdate"},
                     "template": {"metadata": {"labels": labels()}, "spec": pod},
                     "volumeClaimTemplates": [claim]}}


def _service(project: Project, name: str, headless: bool) -> dict:
    spec = {"selector": names.selector_labels(names.AIOPS_SERVICE),
            "ports": [{"name": names.PORT_NAME, "port": names.AIOPS_PORT, "targetPort": names.PORT_NAME,
                       "protocol": "TCP"}]}
    meta = _meta(project, name, "aiops-peers" if headless else ROLE)
    if headless:
        spec.update(clusterIP="None", publishNotReadyAddresses=True)
    else:
        spec["type"] = "ClusterIP"
        meta["labels"][SCRAPE_LABEL] = "true"
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def _service_monitor(project: Project) -> dict:
    """Selects the regular Service only: through both Services every pod would be scraped twice."""
    return {"apiVersion": names.MONITORING_API, "kind": "ServiceMonitor", "metadata": _meta(project),
            "spec": {"selector": {"matchLabels": {**names.selector_labels(names.AIOPS_SERVICE), SCRAPE_LABEL: "true"}},
                     "namespaceSelector": {"matchNames": [namespace(project)]},
                     "endpoints": [{"port": names.PORT_NAME, "path": "/metrics", "interval": "30s",
                                    "scheme": "http"}]}}


def _network_policy(project: Project) -> dict:
    """In: Alertmanager and Prometheus from the monitoring namespace. Out: DNS, Prometheus, the API server."""
    monitoring = {"namespaceSelector": {"matchLabels": {
        names.LABEL_NAMESPACE_NAME: project.config.spec.monitoringNamespace}}}
    api_server = {"ports": [{"port": port, "protocol": "TCP"} for port in API_SERVER_PORTS]}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta(project),
            "spec": {"podSelector": {"matchLabels": names.selector_labels(names.AIOPS_SERVICE)},
                     "policyTypes": ["Ingress", "Egress"],
                     "ingress": [{"from": [monitoring], "ports": [{"port": names.AIOPS_PORT, "protocol": "TCP"}]}],
                     "egress": [pods.dns_egress(),
                                {"to": [monitoring], "ports": [{"port": 9090, "protocol": "TCP"}]}, api_server]}}


def _pdb(project: Project) -> dict:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(project),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": names.selector_labels(names.AIOPS_SERVICE)}}}


def aiops_objects(project: Project, env: str) -> list[dict]:
    config = config_map(project, env)
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(project),
               "automountServiceAccountToken": False}
    return [_namespace(project), account, config, statefulset(project, env, config),
            _service(project, names.AIOPS_SERVICE, headless=False), _service(project, HEADLESS, headless=True),
            _service_monitor(project), _network_policy(project), _pdb(project),
            *rbac(project, env, labels())]


def flux_dependencies(project: Project, env: str) -> list[str]:
    """The platform (CRDs, Prometheus) and the Kustomizations creating the team namespaces the Roles live in."""
    teams = {service.team for service in project.services}
    return [names.PLATFORM_KUSTOMIZATION, *(names.team_kustomization(ns) for ns in acted_in(project, env)
                                            if ns in teams)]
