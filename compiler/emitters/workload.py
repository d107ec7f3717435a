"""ServiceAccount and Deployment: the workload with production-safe defaults."""
from __future__ import annotations

from ..plan import Target
from .. import conventions as names
from ..spec.base import cpu_millis, format_cpu, format_memory, memory_bytes
from . import serving_hooks, telemetry

RUN_AS_ID = 10001
LIMIT_FACTOR = 2


def service_account(t: Target) -> list[dict]:
    return [{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": t.metadata(),
             "automountServiceAccountToken": False}]


def _resources(t: Target) -> dict:
    res = t.spec.resources
    limits = res.limits
    cpu_limit = limits.cpu if limits and limits.cpu else format_cpu(cpu_millis(str(res.cpu)) * LIMIT_FACTOR)
    mem_limit = (limits.memory if limits and limits.memory
                 else format_memory(memory_bytes(str(res.memory)) * LIMIT_FACTOR))
    return {"requests": {"cpu": str(res.cpu), "memory": str(res.memory)},
            "limits": {"cpu": str(cpu_limit), "memory": str(mem_limit)}}


def _env(t: Target) -> list[dict]:
    plain = [{"name": k, "value": _env_text(v)} for k, v in t.spec.env.items()]
    secret = [{"name": k, "valueFrom": {"secretKeyRef": {"name": ref.secret, "key": ref.key}}}
              for k, ref in t.spec.secretEnv.items()]
    return sorted(plain + secret + serving_hooks.container_env(t) + telemetry.otel_env(t), key=lambda e: e["name"])


def _env_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _probe(path: str, *, period: int, failures: int) -> dict:
    return {"httpGet": {"path": path, "port": names.PORT_NAME, "scheme": "HTTP"},
            "periodSeconds": period, "timeoutSeconds": 2, "failureThreshold": failures}


def _container(t: Target) -> dict:
    spec = t.spec
    container = {
        "name": t.name,
        "image": spec.image,
        "imagePullPolicy": "Always",
        "ports": [{"name": names.PORT_NAME, "containerPort": spec.port, "protocol": "TCP"}],
        "resources": _resources(t),
        "livenessProbe": _probe(spec.health.liveness, period=10, failures=3),
        "readinessProbe": _probe(spec.health.readiness, period=5, failures=3),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_ID,
            "runAsGroup": RUN_AS_ID,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if spec.health.startup:
        container["startupProbe"] = _probe(spec.health.startup, period=5, failures=60)
    if spec.command:
        container["command"] = list(spec.command)
    if spec.args:
        container["args"] = list(spec.args)
    env = _env(t)
    if env:
        container["env"] = env
    return container


def _topology_spread(t: Target) -> list[dict]:
    selector = {"matchLabels": names.selector_labels(t.name)}
    return [
        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
         "labelSelector": selector},
        {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
         "labelSelector": selector},
    ]


def _skip_annotations(t: Target) -> dict[str, str]:
    return {names.CHECKOV_SKIP_ANNOTATION.format(index=i): f"{e.check}={e.reason}"
            for i, e in enumerate(t.spec.securityExceptions, start=1)}


def deployment(t: Target) -> list[dict]:
    annotations = {names.ANNOTATION_SOURCE: t.service.source, **_skip_annotations(t)}
    pod_spec = {
        "serviceAccountName": t.name,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 30,
        "securityContext": {"runAsNonRoot": True, "runAsUser": RUN_AS_ID, "runAsGroup": RUN_AS_ID,
                            "fsGroup": RUN_AS_ID, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [_container(t)],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
    }
    if t.production:
        pod_spec["topologySpreadConstraints"] = _topology_spread(t)
    spec = {
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": names.selector_labels(t.name)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        "template": {"metadata": {"labels": {**t.labels, **serving_hooks.pod_labels(t)}, "annotations": dict(annotations)}, "spec": pod_spec},
    }
    if t.spec.scaling is None:
        spec["replicas"] = t.spec.replicas
    return [{"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": t.metadata(annotations=annotations), "spec": spec}]
