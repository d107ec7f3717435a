"""Service and NetworkPolicy: how traffic reaches the pods, and from where only."""
from __future__ import annotations

from .. import conventions as names
from ..plan import Target
from . import serving_hooks


def service(t: Target) -> list[dict]:
    if serving_hooks.canary_owns_service(t):
        return []
    return [{"apiVersion": "v1", "kind": "Service", "metadata": t.metadata(),
             "spec": {"type": "ClusterIP", "selector": names.selector_labels(t.name),
                      "ports": [{"name": names.PORT_NAME, "port": t.spec.port,
                                 "targetPort": names.PORT_NAME, "protocol": "TCP"}]}}]


def network_policy(t: Target) -> list[dict]:
    """Ingress to the service port from the same namespace and the monitoring namespace; nothing else."""
    monitoring = {"namespaceSelector": {"matchLabels": {
        names.LABEL_NAMESPACE_NAME: t.config.spec.monitoringNamespace}}}
    return [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": t.metadata(),
             "spec": {"podSelector": {"matchLabels": names.selector_labels(t.name)},
                      "policyTypes": ["Ingress"],
                      "ingress": [{"from": [{"podSelector": {}}, monitoring],
                                   "ports": [{"port": t.spec.port, "protocol": "TCP"}]}]}}]
