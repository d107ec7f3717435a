"""Budget alerts of an LLM gateway: how fast the daily token and cost budgets are being spent, and how much
of them is gone (threshold alerts at `alertAt`).

The token budget resets at 00:00 UTC (the runtime's ledger is per UTC day), so "spent too fast" has an exact
meaning: at the current spend rate the tokens left run out before the reset. Both the 1h and the 5m rate
must say so, so a short spike alone does not alert and the alert clears soon after the spend slows down.
"""
from __future__ import annotations

from .. import conventions as names
from ..plan import Target
from ..spec.llm import LlmSpec
from . import pods
from .llm import ROLE, gateway_name

SECONDS_PER_DAY = 86400
SECONDS_TO_RESET = f"({SECONDS_PER_DAY} - time() % {SECONDS_PER_DAY})"
BURN_WINDOWS = ("5m", "1h")


def _series(t: Target) -> str:
    return f'{names.SERIES_NAMESPACE}="{t.namespace}", {names.SERIES_SERVICE}="{gateway_name(t)}"'


def _budget(t: Target) -> str:
    return f'{names.SERIES_NAMESPACE}="{t.namespace}", {names.SERIES_BUDGET}="{t.name}"'


def _labels(t: Target, severity: str) -> dict[str, str]:
    return {names.LABEL_SEVERITY: severity, names.SLO_LABEL_SERVICE: t.name, names.SLO_LABEL_TEAM: t.namespace,
            names.SLO_LABEL_ENV: t.env.name if t.env else "base"}


def _percent(value: int) -> str:
    return f"{value / 100:g}"


def _threshold_severity(level: int, levels: list[int]) -> str:
    return names.SEVERITY_PAGE if level == max(levels) else names.SEVERITY_TICKET


def token_rules(t: Target, llm: LlmSpec) -> list[dict]:
    budget = llm.tokenBudget
    if budget is None:
        return []
    tokens, remaining, limit = names.METRIC_LLM_TOKENS, names.METRIC_LLM_BUDGET_REMAINING, names.METRIC_LLM_BUDGET_LIMIT
    rules: list[dict] = []
    for window in BURN_WINDOWS:
        rules.append({"record": names.RECORD_LLM_TOKEN_BURN.format(window=window),
                      "expr": f"sum(rate({tokens}{{{_series(t)}}}[{window}])) * {SECONDS_PER_DAY}\n"
                              f"  / sum({limit}{{{_budget(t)}}})",
                      "labels": {names.SLO_LABEL_SERVICE: t.name, names.SERIES_BUDGET: t.name}})
    left = f"sum({remaining}{{{_budget(t)}}})"
    runs_out = " and ".join(f"{left} < sum(rate({tokens}{{{_series(t)}}}[{w}])) * {SECONDS_TO_RESET}"
                            for w in reversed(BURN_WINDOWS))
    rules.append({
        "alert": names.ALERT_LLM_TOKEN_BUDGET_BURN, "expr": runs_out, "for": "5m",
        "labels": _labels(t, names.SEVERITY_TICKET),
        "annotations": {
            "summary": f"{t.name}: the daily token budget runs out before 00:00 UTC at the current spend rate",
            "description": f"{{{{ $value | humanize }}}} tokens are left of {budget.daily} today; the last hour's "
                           "spend rate would use them up before the budget resets. Requests beyond the budget get "
                           "HTTP 429."}})
    used = f"1 - {left} / sum({limit}{{{_budget(t)}}})"
    for level in budget.alertAt:
        labels = _labels(t, _threshold_severity(level, budget.alertAt))
        labels["threshold"] = str(level)
        rules.append({
            "alert": names.ALERT_LLM_TOKEN_BUDGET_USED, "expr": f"{used} >= {_percent(level)}",
            "labels": labels,
            "annotations": {"summary": f"{t.name}: {level}% of today's token budget ({budget.daily}) is used",
                            "description": "{{ $value | humanizePercentage }} of the daily token budget is used."}})
    return rules


def cost_rules(t: Target, llm: LlmSpec) -> list[dict]:
    budget = llm.costBudget
    if budget is None:
        return []
    cost = names.METRIC_LLM_COST
    daily = f"{budget.dailyUSD:g}"
    rules: list[dict] = []
    for window in BURN_WINDOWS:
        rules.append({"record": names.RECORD_LLM_COST_BURN.format(window=window),
                      "expr": f"sum(rate({cost}{{{_series(t)}}}[{window}])) * {SECONDS_PER_DAY} / {daily}",
                      "labels": {names.SLO_LABEL_SERVICE: t.name}})
    burning = " and ".join(f"{names.RECORD_LLM_COST_BURN.format(window=w)}{{{names.SLO_LABEL_SERVICE}=\"{t.name}\"}} > 1"
                           for w in reversed(BURN_WINDOWS))
    rules.append({
        "alert": names.ALERT_LLM_COST_BUDGET_BURN, "expr": burning, "for": "15m",
        "labels": _labels(t, names.SEVERITY_TICKET),
        "annotations": {"summary": f"{t.name}: LLM spend is running above {daily} USD a day",
                        "description": "At the last hour's rate the day's spend would be {{ $value | humanize }}x "
                                       "the daily cost budget."}})
    for level in budget.alertAt:
        labels = _labels(t, _threshold_severity(level, budget.alertAt))
        labels["threshold"] = str(level)
        rules.append({
            "alert": names.ALERT_LLM_COST_BUDGET_SPENT,
            "expr": f"sum(increase({cost}{{{_series(t)}}}[1d])) >= {budget.dailyUSD * level / 100:g}",
            "labels": labels,
            "annotations": {"summary": f"{t.name}: {level}% of the daily cost budget ({daily} USD) spent in 24h",
                            "description": "{{ $value | humanize }} USD spent over the last 24 hours."}})
    return rules


def budget_rules(t: Target) -> list[dict]:
    llm = t.spec.llm
    if llm is None or (llm.tokenBudget is None and llm.costBudget is None):
        return []
    groups = []
    tokens = token_rules(t, llm)
    if tokens:
        groups.append({"name": f"{t.name}-llm-token-budget", "rules": tokens})
    cost = cost_rules(t, llm)
    if cost:
        groups.append({"name": f"{t.name}-llm-cost-budget", "rules": cost})
    meta = pods.component_metadata(t, gateway_name(t), ROLE, name=f"{t.name}-llm-budgets")
    meta["labels"].update(names.PROMETHEUS_RULE_LABELS)
    return [{"apiVersion": names.MONITORING_API, "kind": "PrometheusRule", "metadata": meta,
             "spec": {"groups": groups}}]

