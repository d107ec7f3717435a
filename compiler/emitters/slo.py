"""One PrometheusRule per service and environment holding every SLO's recording rules and alerts.

Only environments get one (the base has none): the rules carry the environment label and the policy of that
environment, so each overlay adds its own object.
"""
from __future__ import annotations

from .. import conventions as names
from ..plan import Target
from .budget import budget_rules, policy_alerts
from .slo_alerts import absent_alert, burn_rate_alerts
from .slo_recording import recording_rules


def rule_groups(t: Target) -> list[dict]:
    return [{"name": f"slo-{t.name}-{slo.name}",
             "rules": (recording_rules(t, slo) + budget_rules(t, slo) + burn_rate_alerts(t, slo)
                       + absent_alert(t, slo) + policy_alerts(t, slo))}
            for slo in t.spec.slos]


def prometheus_rule(t: Target) -> list[dict]:
    if t.env is None or not t.spec.slos:
        return []
    metadata = t.metadata(names.prometheus_rule_name(t.name))
    metadata["labels"].update(names.PROMETHEUS_RULE_LABELS)
    return [{"apiVersion": names.MONITORING_API, "kind": "PrometheusRule", "metadata": metadata,
             "spec": {"groups": rule_groups(t)}}]
