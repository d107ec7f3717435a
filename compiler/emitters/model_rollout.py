"""Metric-driven rollout of a model-serving service: a Flagger Canary whose analysis runs MetricTemplates
built from the service's SLOs and `model.rollout.rollbackOn`.

A new model version changes the pod template (its version label), Flagger starts a canary, and a canary
whose 5xx ratio or p99 latency stays above the limits for `threshold` checks is rolled back.
Flagger owns the Service named after the Deployment (it points it at `<service>-primary`), so the service's
own Service is not emitted then (see network.service), and the NetworkPolicy and PodDisruptionBudget are
repeated for the primary pods, whose name label Flagger suffixes with `-primary`.
"""
from __future__ import annotations

from .. import conventions as names
from ..plan import Target
from ..spec.model import canary_limits
from .serving_hooks import canary_owns_service, flagger_service_labels

ERROR_RATIO = "error-ratio"
LATENCY_P99 = "latency-p99"
PRIMARY_SUFFIX = "-primary"
CANARY_PODS = 'namespace="{{ namespace }}", pod=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"'
"""The canary Deployment's pods (`<target>-<replicaset hash>-<id>`), not the primary's."""
PROGRESS_DEADLINE_SECONDS = 600


def has_canary(t: Target) -> bool:
    return canary_owns_service(t)


def _prometheus_address(t: Target) -> str:
    return f"http://prometheus-operated.{t.config.spec.monitoringNamespace}.svc:9090"


def template_queries() -> dict[str, str]:
    """Flagger query templates; {{ namespace }}, {{ target }} and {{ interval }} are filled in by Flagger."""
    requests, duration = names.HTTP_REQUESTS_TOTAL, names.HTTP_REQUEST_DURATION
    return {
        ERROR_RATIO: (f'100 * (sum(rate({requests}{{{CANARY_PODS}, code=~"5.."}}[{{{{ interval }}}}])) or on() vector(0))\n'
                      f"/\nsum(rate({requests}{{{CANARY_PODS}}}[{{{{ interval }}}}]))"),
        LATENCY_P99: (f"histogram_quantile(0.99,\n  sum by (le) (rate({duration}_bucket{{{CANARY_PODS}}}"
                      f"[{{{{ interval }}}}])))"),
    }


def _template_name(t: Target, metric: str) -> str:
    return f"{t.name}-{metric}"


def metric_templates(t: Target) -> list[dict]:
    if not has_canary(t):
        return []
    limits = canary_limits(t.spec)
    queries = template_queries()
    return [{"apiVersion": names.FLAGGER_API, "kind": "MetricTemplate",
             "metadata": t.metadata(_template_name(t, metric)),
             "spec": {"provider": {"type": "prometheus", "address": _prometheus_address(t)},
                      "query": queries[metric]}}
            for metric in (ERROR_RATIO, LATENCY_P99) if limits.get(metric) is not None]


def canary(t: Target) -> list[dict]:
    if not has_canary(t):
        return []
    rollout = t.spec.model.rollout
    limits = canary_limits(t.spec)
    metrics = [{"name": metric, "interval": rollout.interval,
                "templateRef": {"name": _template_name(t, metric), "namespace": t.namespace},
                "thresholdRange": {"max": limits[metric]}}
               for metric in (ERROR_RATIO, LATENCY_P99) if limits.get(metric) is not None]
    analysis: dict = {"interval": rollout.interval, "threshold": rollout.threshold, "metrics": metrics}
    provider = rollout.provider or t.config.spec.platform.meshProvider
    if provider == "kubernetes":
        analysis["iterations"] = -(-rollout.maxWeight // rollout.stepWeight)
    else:
        analysis.update(stepWeight=rollout.stepWeight, maxWeight=rollout.maxWeight)
    spec = {"provider": provider, "progressDeadlineSeconds": PROGRESS_DEADLINE_SECONDS,
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": t.name},
            "service": {"port": t.spec.port, "targetPort": names.PORT_NAME, "portName": names.PORT_NAME,
                        "primary": {"labels": flagger_service_labels(t)},
                        "canary": {"labels": flagger_service_labels(t)}},
            "analysis": analysis}
    if t.spec.scaling is not None:
        spec["autoscalerRef"] = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "name": t.name}
    return [{"apiVersion": names.FLAGGER_API, "kind": "Canary", "metadata": t.metadata(), "spec": spec}]


def _primary_selector(t: Target) -> dict[str, str]:
    return {**names.selector_labels(t.name), names.LABEL_NAME: t.name + PRIMARY_SUFFIX}


def primary_guards(t: Target) -> list[dict]:
    """The service's NetworkPolicy and PDB for the primary pods Flagger runs."""
    if not has_canary(t):
        return []
    from .network import network_policy
    from .scaling import pod_disruption_budget
    docs = []
    for doc in network_policy(t) + pod_disruption_budget(t):
        copy = {**doc, "metadata": {**doc["metadata"], "name": t.name + PRIMARY_SUFFIX}}
        key = "podSelector" if doc["kind"] == "NetworkPolicy" else "selector"
        copy["spec"] = {**doc["spec"], key: {"matchLabels": _primary_selector(t)}}
        docs.append(copy)
    return docs
