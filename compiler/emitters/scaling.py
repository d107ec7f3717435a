"""HorizontalPodAutoscaler (autoscaling/v2) and PodDisruptionBudget."""
from __future__ import annotations

from .. import conventions as names
from ..plan import Target


def _resource_metric(resource: str, utilization: int) -> dict:
    return {"type": "Resource",
            "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": utilization}}}


def _requests_metric(per_pod: float) -> dict:
    """Per-pod request rate, served by prometheus-adapter (see emitters/adapter.py)."""
    value = f"{int(per_pod)}" if float(per_pod).is_integer() else f"{round(per_pod * 1000)}m"
    return {"type": "Pods", "pods": {"metric": {"name": names.HPA_REQUESTS_METRIC},
                                     "target": {"type": "AverageValue", "averageValue": value}}}


def hpa(t: Target) -> list[dict]:
    scaling = t.spec.scaling
    if scaling is None:
        return []
    metrics = [_resource_metric("cpu", scaling.targetCPUUtilization)]
    if scaling.targetMemoryUtilization:
        metrics.append(_resource_metric("memory", scaling.targetMemoryUtilization))
    if scaling.requestsPerSecond:
        metrics.append(_requests_metric(scaling.requestsPerSecond))
    behavior = {
        "scaleDown": {"stabilizationWindowSeconds": scaling.scaleDown.stabilizationWindowSeconds,
                      "selectPolicy": "Max",
                      "policies": [{"type": "Percent", "value": scaling.scaleDown.maxPercentPerMinute,
                                    "periodSeconds": 60}]},
        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15},
                                 {"type": "Pods", "value": 4, "periodSeconds": 15}]},
    }
    return [{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": t.metadata(),
             "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": t.name},
                      "minReplicas": scaling.minReplicas, "maxReplicas": scaling.maxReplicas,
                      "metrics": metrics, "behavior": behavior}}]


def pod_disruption_budget(t: Target) -> list[dict]:
    """Only with more than one replica: a budget over a single pod would block every node drain."""
    if t.replicas <= 1:
        return []
    return [{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": t.metadata(),
             "spec": {"maxUnavailable": 1, "selector": {"matchLabels": names.selector_labels(t.name)}}}]
