"""Hardened pod pieces shared by the extra workloads of the model and llm blocks (gateway, vLLM, vector
store, training jobs): each is its own component with its own selector labels, so the service's own
Deployment, Service and NetworkPolicy never select its pods.
"""
from __future__ import annotations

import hashlib
import json

from .. import conventions as names
from ..plan import Target
from ..spec.base import cpu_millis, format_cpu, format_memory, memory_bytes
from .workload import LIMIT_FACTOR, RUN_AS_ID


def component_labels(t: Target, component: str, role: str) -> dict[str, str]:
    """Labels of a component object: its own name/instance (selector), part of the service, its role."""
    return {**names.common_labels(component, t.namespace, t.service.tier), names.LABEL_PART_OF: t.name,
            names.LABEL_COMPONENT: role}


def component_metadata(t: Target, component: str, role: str, name: str | None = None, **extra) -> dict:
    meta = {"name": name or component, "namespace": t.namespace, "labels": component_labels(t, component, role)}
    meta.update(extra)
    return meta


def skip_annotations(t: Target) -> dict[str, str]:
    """The spec's securityExceptions as checkov skip annotations (the same ones the service's workload gets)."""
    return {names.CHECKOV_SKIP_ANNOTATION.format(index=i): f"{e.check}={e.reason}"
            for i, e in enumerate(t.spec.securityExceptions, start=1)}


def resources(cpu: str, memory: str, extra: dict[str, int] | None = None) -> dict:
    limits = {"cpu": format_cpu(cpu_millis(str(cpu)) * LIMIT_FACTOR),
              "memory": format_memory(memory_bytes(str(memory)) * LIMIT_FACTOR)}
    requests = {"cpu": str(cpu), "memory": str(memory)}
    for key, value in (extra or {}).items():
        requests[key] = limits[key] = str(value)
    return {"requests": requests, "limits": limits}


def container_security(run_as: int = RUN_AS_ID) -> dict:
    return {"allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
            "runAsNonRoot": True, "runAsUser": run_as, "runAsGroup": run_as, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}}


def pod_security(run_as: int = RUN_AS_ID) -> dict:
    return {"runAsNonRoot": True, "runAsUser": run_as, "runAsGroup": run_as, "fsGroup": run_as,
            "seccompProfile": {"type": "RuntimeDefault"}}


def http_probe(path: str, port: str, *, period: int, failures: int, timeout: int = 2) -> dict:
    return {"httpGet": {"path": path, "port": port, "scheme": "HTTP"}, "periodSeconds": period,
            "timeoutSeconds": timeout, "failureThreshold": failures}


def pod_spec(service_account: str, containers: list[dict], volumes: list[dict], **extra) -> dict:
    spec = {"serviceAccountName": service_account, "automountServiceAccountToken": False,
            "enableServiceLinks": False, "securityContext": pod_security(), "containers": containers,
            "volumes": volumes}
    spec.update(extra)
    return spec


def service_account(t: Target, component: str, role: str) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": component_metadata(t, component, role),
            "automountServiceAccountToken": False}


def content_hash(data: object, length: int = 10) -> str:
    """A short, stable digest of a JSON-able value: part of ConfigMap names, so new content rolls the pods."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def dns_egress() -> dict:
    """DNS to the cluster resolver (kube-dns / CoreDNS in kube-system), UDP and TCP."""
    return {"to": [{"namespaceSelector": {"matchLabels": {names.LABEL_NAMESPACE_NAME: "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}


PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10")


def internet_egress(port: int) -> dict:
    """Public addresses only, on one port: core NetworkPolicy cannot match host names, so the cloud metadata
    endpoint and private ranges are cut out instead."""
    return {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES)}}],
            "ports": [{"port": port, "protocol": "TCP"}]}
