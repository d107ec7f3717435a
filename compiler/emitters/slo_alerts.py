"""Multi-window multi-burn-rate alerts (Google SRE workbook) and the absent-SLI alert of one SLO.

An alert fires when the error ratio exceeds factor x budget over a long window and over its short window:
the long window makes it significant, the short one makes it reset soon after the incident ends. The
expression's value is the burn rate over the long window, shown in the description.
"""
from __future__ import annotations

from .. import conventions as names
from ..plan import Target
from ..spec.slo import SLO, BurnAlert, decimal_text
from .slo_labels import selector, series_labels

ABSENT_FOR = "10m"


def _condition(sel: str, budget: str, alert: BurnAlert) -> str:
    factor = decimal_text(alert.factor)
    return (f"({names.slo_error_ratio(alert.long_window)}{sel} / {budget} > {factor}"
            f" and {names.slo_error_ratio(alert.short_window)}{sel} / {budget} > {factor})")


def _explain(alerts: list[BurnAlert]) -> str:
    return ", or ".join(f"{decimal_text(a.factor)}x over {a.long_window} and {a.short_window}" for a in alerts)


def alert_annotations(t: Target, slo: SLO, summary: str, description: str) -> dict[str, str]:
    runbook = names.SLO_RUNBOOK_URL.format(service=t.name, slo=slo.name)
    annotations = {"summary": summary, "description": description, "runbook_url": runbook,
                   "dashboard": names.SLO_DASHBOARD_PATH.format(service=t.name)}
    annotations.update(slo.alerting.annotations)
    return annotations


def alert_labels(t: Target, slo: SLO, severity: str, **extra: str) -> dict[str, str]:
    return {**slo.alerting.labels, **series_labels(t, slo), names.LABEL_SEVERITY: severity, **extra}


def _burn_alert(t: Target, slo: SLO, name: str, severity: str, speed: str) -> list[dict]:
    alerts = [a for a in slo.burn_alerts if a.severity == severity]
    sel = selector(t, slo)
    budget = decimal_text(slo.error_budget)
    expr = " or ".join(_condition(sel, budget, a) for a in alerts)
    description = (f"{t.name} is burning the error budget of its {slo.name} SLO ({slo.objective:g}% over "
                   f"{slo.window}) {{{{ $value | printf \"%.1f\" }}}}x faster than sustainable "
                   f"(threshold: {_explain(alerts)}).")
    return [{"alert": name, "expr": expr, "labels": alert_labels(t, slo, severity),
             "annotations": alert_annotations(t, slo, f"{t.name} {slo.name}: {speed} error budget burn",
                                              description)}]


def burn_rate_alerts(t: Target, slo: SLO) -> list[dict]:
    rules = []
    if slo.alerting.page:
        rules += _burn_alert(t, slo, names.ALERT_BURN_PAGE, names.SEVERITY_PAGE, "fast")
    if slo.alerting.ticket:
        rules += _burn_alert(t, slo, names.ALERT_BURN_TICKET, names.SEVERITY_TICKET, "slow")
    return rules


def absent_alert(t: Target, slo: SLO) -> list[dict]:
    """A silent SLO is a broken SLO: no traffic series means every other rule of it is blind."""
    description = (f"No {slo.sli.kind} SLI series of {t.name} for {ABSENT_FOR}: the {slo.name} SLO and its alerts "
                   "are blind. Check the scrape target and the SLI queries.")
    return [{"alert": names.ALERT_SLI_ABSENT, "expr": f"absent({names.SLO_TOTAL_RATE5M}{selector(t, slo)})",
             "for": ABSENT_FOR, "labels": alert_labels(t, slo, names.SEVERITY_TICKET),
             "annotations": alert_annotations(t, slo, f"{t.name} {slo.name}: SLI metrics absent", description)}]
