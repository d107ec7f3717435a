"""Error-budget series and the policy of one SLO: objective, budget, burn rates, budget left, thresholds.

`platformc budget` (the deploy gate) and the runtime (pausing chaos) read these series, so the policy
thresholds are recorded next to the budget they apply to.
"""
from __future__ import annotations

from decimal import Decimal

from .. import conventions as names
from ..plan import Target
from ..spec.slo import SLO, decimal_text
from .slo_alerts import alert_annotations, alert_labels
from .slo_labels import selector, series_labels

POLICY_FOR = "5m"


def _percent_ratio(percent: float) -> str:
    return decimal_text(Decimal(str(percent)) / 100)


def budget_rules(t: Target, slo: SLO) -> list[dict]:
    labels = series_labels(t, slo)
    sel = selector(t, slo)
    budget = decimal_text(slo.error_budget)
    policy = t.spec.errorBudgetPolicy
    info = {**labels, "objective": f"{slo.objective:g}", "window": slo.window, "sli": slo.sli.kind,
            "description": slo.description}
    rules = [
        {"record": names.SLO_OBJECTIVE, "expr": f"vector({decimal_text(slo.objective_ratio)})"},
        {"record": names.SLO_ERROR_BUDGET, "expr": f"vector({budget})"},
        {"record": names.SLO_CURRENT_BURN, "expr": f"{names.slo_error_ratio('5m')}{sel} / {budget}"},
        {"record": names.SLO_PERIOD_BURN, "expr": f"{names.SLO_ERROR_RATIO_PERIOD}{sel} / {budget}"},
        {"record": names.SLO_BUDGET_REMAINING, "expr": f"1 - {names.SLO_PERIOD_BURN}{sel}"},
        {"record": names.SLO_FREEZE_BELOW, "expr": f"vector({_percent_ratio(policy.freezeDeploysBelow)})"},
        {"record": names.SLO_CHAOS_ABOVE, "expr": f"vector({_percent_ratio(policy.chaosRequiresAbove)})"},
    ]
    rules = [dict(rule, labels=dict(labels)) for rule in rules]
    rules.append({"record": names.SLO_INFO, "expr": "vector(1)", "labels": info})
    return rules


def policy_alerts(t: Target, slo: SLO) -> list[dict]:
    """Budget alerts never page: they drive the deploy freeze and the chaos pause, not a human at night."""
    sel = selector(t, slo)
    policy = t.spec.errorBudgetPolicy
    remaining = f"{names.SLO_BUDGET_REMAINING}{sel}"
    freeze = _percent_ratio(policy.freezeDeploysBelow)
    chaos = _percent_ratio(policy.chaosRequiresAbove)
    left = "{{ $value | humanizePercentage }}"
    return [
        {"alert": names.ALERT_BUDGET_EXHAUSTED, "expr": f"{remaining} < {freeze}", "for": POLICY_FOR,
         "labels": alert_labels(t, slo, names.SEVERITY_TICKET, **{names.LABEL_POLICY: names.POLICY_FREEZE_DEPLOYS}),
         "annotations": alert_annotations(
             t, slo, f"{t.name} {slo.name}: error budget exhausted, deploys frozen",
             f"{left} of the {slo.window} error budget of {t.name}'s {slo.name} SLO is left, below the "
             f"{policy.freezeDeploysBelow:g}% freeze threshold: `platformc budget` blocks deploys until it recovers.")},
        {"alert": names.ALERT_CHAOS_BUDGET_LOW, "expr": f"{remaining} <= {chaos}", "for": POLICY_FOR,
         "labels": alert_labels(t, slo, names.SEVERITY_INFO, **{names.LABEL_POLICY: names.POLICY_PAUSE_CHAOS}),
         "annotations": alert_annotations(
             t, slo, f"{t.name} {slo.name}: error budget too low for chaos experiments",
             f"{left} of the error budget of {t.name}'s {slo.name} SLO is left; chaos experiments need more than "
             f"{policy.chaosRequiresAbove:g}%: pause the Schedules labelled {names.LABEL_CHAOS_BUDGET_GATED}=true.")},
    ]
