"""The `llm.slos` (time to first token, request latency) through the same SLO machinery as `spec.slos`:
the same recording rules, burn-rate alerts, budget series and policy alerts, over the gateway's histograms.
"""
from __future__ import annotations

import dataclasses

from .. import conventions as names
from ..plan import Target
from ..spec.slo import SLO
from . import pods
from .llm import ROLE, gateway_name
from .slo import rule_groups


def gateway_slos(t: Target) -> list[SLO]:
    llm = t.spec.llm
    if llm is None:
        return []
    selector = f'{{job="{gateway_name(t)}",namespace="{t.namespace}"}}'
    return [slo.as_slo(selector) for slo in llm.slos]


def prometheus_rule(t: Target) -> list[dict]:
    slos = gateway_slos(t)
    if t.env is None or not slos:
        return []
    gateway_target = dataclasses.replace(t, spec=t.spec.model_copy(update={"slos": slos}))
    metadata = pods.component_metadata(t, gateway_name(t), ROLE, name=f"{t.name}-llm-slos")
    metadata["labels"].update(names.PROMETHEUS_RULE_LABELS)
    return [{"apiVersion": names.MONITORING_API, "kind": "PrometheusRule", "metadata": metadata,
             "spec": {"groups": rule_groups(gateway_target)}}]
