"""The PrometheusRule, HPA and adapter output of the SRE layer, read as data (promtool runs in tests/promtool)."""
from __future__ import annotations

import json
import re
from decimal import Decimal

import jsonschema
import pytest
import yaml

from compiler import conventions as names
from compiler.emitters import adapter, scaling, slo as slo_emitter
from compiler.plan import base_target, env_targets
from compiler.project import load_project
from compiler.spec.base import duration_seconds
from compiler.spec.slo import WORKBOOK_ALERTS, burn_alerts
from tests.tools import REPO


@pytest.fixture(scope="module")
def project():
    return load_project(REPO / "specs")


@pytest.fixture(scope="module")
def rules(project) -> dict[tuple[str, str], dict]:
    found = {}
    for service in project.services:
        for target in env_targets(project, service):
            for doc in slo_emitter.prometheus_rule(target):
                found[(service.name, target.env.name)] = doc
    return found


def _rules(doc: dict) -> list[dict]:
    return [rule for group in doc["spec"]["groups"] for rule in group["rules"]]


def _budget_share(factor: Decimal, alert_window: str, slo_days: int) -> Decimal:
    return factor * Decimal(int(duration_seconds(alert_window))) / (slo_days * 86400)


def test_factors_keep_the_workbook_budget_shares():
    assert [(a.severity, a.long_window, a.short_window, a.factor) for a in burn_alerts(30)] == [
        ("page", "1h", "5m", Decimal("14.4")), ("page", "6h", "30m", Decimal("6")),
        ("ticket", "1d", "2h", Decimal("3")), ("ticket", "3d", "6h", Decimal("1"))]
    for days in (30, 60, 90):
        for scaled, base in zip(burn_alerts(days), WORKBOOK_ALERTS):
            assert _budget_share(scaled.factor, scaled.long_window, days) == _budget_share(
                base.factor, base.long_window, 30)
    assert burn_alerts(7) == burn_alerts(28) == WORKBOOK_ALERTS, "below 30d the 30d factors are the floor"


def test_one_rule_per_service_and_environment_and_none_in_the_base(project, rules):
    with_slos = [s for s in project.services if s.base.slos]
    assert set(rules) == {(s.name, e.name) for s in with_slos for e in project.environments}
    for service in project.services:
        assert slo_emitter.prometheus_rule(base_target(service, project.config)) == []
    for doc in rules.values():
        assert doc["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        assert doc["metadata"]["name"].endswith("-slos")


def test_every_recorded_series_carries_service_slo_team_and_environment(rules):
    recorded = set()
    for (service, env), doc in rules.items():
        for rule in _rules(doc):
            if "record" in rule:
                recorded.add(rule["record"])
                assert {k: rule["labels"][k] for k in names.SLO_SERIES_LABELS} == {
                    "service": service, "slo": rule["labels"]["slo"], "team": doc["metadata"]["namespace"],
                    "environment": env}
    assert recorded == {names.SLO_ERRORS_RATE5M, names.SLO_TOTAL_RATE5M, names.SLO_ERROR_RATIO_PERIOD,
                        names.SLO_OBJECTIVE, names.SLO_ERROR_BUDGET, names.SLO_BUDGET_REMAINING,
                        names.SLO_CURRENT_BURN, names.SLO_PERIOD_BURN, names.SLO_FREEZE_BELOW,
                        names.SLO_CHAOS_ABOVE, names.SLO_INFO,
                        *(names.slo_error_ratio(w) for w in names.SLO_RATIO_WINDOWS)}


def test_long_windows_are_sums_of_recorded_rates_never_raw_long_ranges(rules):
    for doc in rules.values():
        for rule in _rules(doc):
            expr = rule["expr"]
            if re.search(r"\[\d+d\]", expr):
                assert expr.startswith(f"sum_over_time({names.SLO_ERRORS_RATE5M}"), expr
                assert f"/ sum_over_time({names.SLO_TOTAL_RATE5M}" in expr, expr


def test_only_burn_rate_alerts_page_and_every_alert_is_labelled_and_annotated(rules):
    for doc in rules.values():
        for rule in _rules(doc):
            if "alert" not in rule:
                continue
            labels = rule["labels"]
            assert labels["severity"] in {"page", "ticket", "info"}
            if labels["severity"] == "page":
                assert rule["alert"] == names.ALERT_BURN_PAGE
            for key in ("team", "service", "slo", "environment"):
                assert labels[key]
            assert {"summary", "description", "runbook_url", "dashboard"} <= set(rule["annotations"])
            if rule["alert"] in (names.ALERT_BURN_PAGE, names.ALERT_BURN_TICKET):
                assert "$value" in rule["annotations"]["description"]


def test_policy_alerts_and_spec_annotations(rules):
    checkout = _rules(rules[("checkout", "prod")])
    exhausted = [r for r in checkout if r["alert" if "alert" in r else "record"] == names.ALERT_BUDGET_EXHAUSTED]
    assert {r["labels"]["policy"] for r in exhausted} == {"freeze-deploys"}
    page = next(r for r in checkout if r.get("alert") == names.ALERT_BURN_PAGE and r["labels"]["slo"] == "availability")
    assert page["annotations"]["runbook_url"] == "https://runbooks.platform.acme.dev/checkout/availability"
    assert "14.4" in page["expr"] and "/ 0.001 > 6" in page["expr"]
    latency = next(r for r in checkout if r.get("alert") == names.ALERT_BURN_PAGE and r["labels"]["slo"] == "latency")
    assert latency["labels"]["component"] == "api"
    assert 'le="0.3"' in next(r["expr"] for r in checkout if r.get("record") == names.SLO_ERRORS_RATE5M
                              and r["labels"]["slo"] == "latency")
    fraud = _rules(rules[("fraud-scoring", "dev")])
    assert not any(r.get("alert") == names.ALERT_BURN_PAGE and r["labels"]["slo"] == "latency" for r in fraud)
    freeze = next(r for r in fraud if r.get("record") == names.SLO_FREEZE_BELOW)
    assert freeze["expr"] == "vector(0.1)"


def test_hpa_scales_on_requests_per_pod(project):
    checkout = next(s for s in project.services if s.name == "checkout")
    (hpa,) = scaling.hpa(base_target(checkout, project.config))
    pods = [m for m in hpa["spec"]["metrics"] if m["type"] == "Pods"]
    assert pods == [{"type": "Pods", "pods": {"metric": {"name": names.HPA_REQUESTS_METRIC},
                                              "target": {"type": "AverageValue", "averageValue": "50"}}}]
    assert {m["resource"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Resource"} == {"cpu", "memory"}
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] > 0


def test_adapter_rule_serves_the_hpa_metric(project):
    files = adapter.adapter_files(project)
    config_map = files[f"{names.ADAPTER_DIR}/{names.ADAPTER_RULES_CONFIGMAP}.yaml"].doc
    values = yaml.safe_load(config_map["data"][names.ADAPTER_VALUES_KEY])
    schema = json.loads((REPO / "tests" / "schemas" / "prometheus-adapter.schema.json").read_text())
    jsonschema.validate(values, schema)
    (rule,) = values["rules"]["custom"]
    assert rule["name"]["as"] == names.HPA_REQUESTS_METRIC
    assert re.fullmatch(rule["name"]["matches"], names.HTTP_REQUESTS_TOTAL)
