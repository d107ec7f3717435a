"""promtool unit-test scenarios: days of healthy traffic, then an incident, for one SLO window.

Each scenario is one promtool test group with its own input series. Alerts are checked through the ALERTS
series Prometheus' rule engine writes (a count of firing alerts, or nothing at all over a range).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from compiler import conventions as names

from .rulegen import SERVICE, TEAM

HEALTHY_DAYS = 2
HEALTHY_MIN = HEALTHY_DAYS * 1440
REQUESTS_PER_MIN = 1000.0
HEALTHY_ERROR_RATIO = 0.0001
EVENTS_SLO, LATENCY_SLO, HTTP_SLO = "availability", "latency", "http"
THRESHOLD = 0.3
SELECTOR = f'job="{SERVICE}",namespace="{TEAM}"'


def slos(window: str) -> list[dict]:
    """The SLOs under test: one of each SLI kind, all on the same window."""
    return [
        {"name": EVENTS_SLO, "objective": 99.9, "window": window, "sli": {"events": {
            "errorQuery": f'sum(rate(app_requests_total{{{SELECTOR},outcome="error"}}[{{{{window}}}}]))',
            "totalQuery": f'sum(rate(app_requests_total{{{SELECTOR}}}[{{{{window}}}}]))'}}},
        {"name": LATENCY_SLO, "objective": 99.9, "window": window,
         "sli": {"latency": {"threshold": THRESHOLD}}},
        {"name": HTTP_SLO, "objective": 99.5, "window": window, "sli": {"availability": {}}},
    ]


def _num(value: float) -> str:
    return format(value, ".12g")


def counter(segments: list[tuple[int, float]]) -> str:
    """promtool expanding notation of a counter growing by `per_min` for `minutes` per segment, continuously."""
    parts, value = [], 0.0
    for i, (minutes, per_min) in enumerate(segments):
        if i == 0:
            parts.append(f"{_num(value)}+{_num(per_min)}x{minutes}")
            value += per_min * minutes
        else:
            start = value + per_min
            parts.append(f"{_num(start)}+{_num(per_min)}x{minutes - 1}")
            value = start + per_min * (minutes - 1)
    return " ".join(parts)


def traffic(segments: list[tuple[int, float, float]]) -> list[dict]:
    """Input series of every SLO from (minutes, requests per minute, bad ratio) segments."""
    ok = [(m, r * (1 - bad)) for m, r, bad in segments]
    err = [(m, r * bad) for m, r, bad in segments]
    total = [(m, r) for m, r, _ in segments]
    return [
        {"series": f'app_requests_total{{{SELECTOR},outcome="ok"}}', "values": counter(ok)},
        {"series": f'app_requests_total{{{SELECTOR},outcome="error"}}', "values": counter(err)},
        {"series": f'{names.HTTP_REQUESTS_TOTAL}{{{SELECTOR},code="200"}}', "values": counter(ok)},
        {"series": f'{names.HTTP_REQUESTS_TOTAL}{{{SELECTOR},code="503"}}', "values": counter(err)},
        {"series": f'{names.HTTP_REQUEST_DURATION}_bucket{{{SELECTOR},le="{THRESHOLD}"}}', "values": counter(ok)},
        {"series": f'{names.HTTP_REQUEST_DURATION}_bucket{{{SELECTOR},le="+Inf"}}', "values": counter(total)},
        {"series": f'{names.HTTP_REQUEST_DURATION}_count{{{SELECTOR}}}', "values": counter(total)},
    ]


def _alerts(alert: str, slo: str, **extra: str) -> str:
    matchers = {"alertname": alert, names.SLO_LABEL_SLO: slo, **extra}
    return "ALERTS{" + ",".join(f'{k}="{v}"' for k, v in matchers.items()) + "}"


@dataclass
class Scenario:
    name: str
    slo: str
    segments: list[tuple[int, float, float]]
    checks: list[dict] = field(default_factory=list)

    def firing(self, at_min: int, alert: str, slo: str) -> "Scenario":
        """The alert fires at `at_min`, with the severity it must carry (only burn-rate alerts page)."""
        severity = names.SEVERITY_PAGE if alert == names.ALERT_BURN_PAGE else names.SEVERITY_TICKET
        self.checks.append({"eval_time": f"{at_min}m",
                            "expr": f'count({_alerts(alert, slo, alertstate="firing", severity=severity)})',
                            "exp_samples": [{"labels": "{}", "value": 1}]})
        return self

    def never(self, at_min: int, over_min: int, alert: str, slo: str) -> "Scenario":
        """No sample of the alert, pending or firing, in the `over_min` minutes before `at_min`."""
        self.checks.append({"eval_time": f"{at_min}m",
                            "expr": f"count_over_time({_alerts(alert, slo)}[{over_min}m])", "exp_samples": []})
        return self

    def test_group(self) -> dict:
        return {"name": self.name, "interval": "1m", "input_series": traffic(self.segments),
                "promql_expr_test": self.checks}


def incident_scenarios() -> list[Scenario]:
    """Acceptance 1 of the issue, for one window: what pages, what tickets, what stays quiet."""
    page, ticket = names.ALERT_BURN_PAGE, names.ALERT_BURN_TICKET
    healthy = (HEALTHY_MIN, REQUESTS_PER_MIN, HEALTHY_ERROR_RATIO)
    h = HEALTHY_MIN
    return [
        Scenario("10% errors page within 15 minutes", EVENTS_SLO, [healthy, (60, REQUESTS_PER_MIN, 0.10)])
        .never(h, h, page, EVENTS_SLO).never(h, h, ticket, EVENTS_SLO).firing(h + 15, page, EVENTS_SLO),
        Scenario("2% errors page within 50 minutes", EVENTS_SLO, [healthy, (60, REQUESTS_PER_MIN, 0.02)])
        .firing(h + 50, page, EVENTS_SLO),
        Scenario("0.4% errors for a day ticket and never page", EVENTS_SLO, [healthy, (1440, REQUESTS_PER_MIN, 0.004)])
        .firing(h + 1440, ticket, EVENTS_SLO).never(h + 1440, 1440, page, EVENTS_SLO),
        Scenario("0.05% errors raise nothing", EVENTS_SLO, [healthy, (1440, REQUESTS_PER_MIN, 0.0005)])
        .never(h + 1440, 1440, page, EVENTS_SLO).never(h + 1440, 1440, ticket, EVENTS_SLO),
        Scenario("5% slow requests fire the latency SLO", LATENCY_SLO, [healthy, (60, REQUESTS_PER_MIN, 0.05)])
        .never(h, h, page, LATENCY_SLO).firing(h + 30, page, LATENCY_SLO),
        Scenario("vanished metrics fire the absent alert", HTTP_SLO, [healthy])
        .never(h, h - 15, names.ALERT_SLI_ABSENT, HTTP_SLO).firing(h + 25, names.ALERT_SLI_ABSENT, HTTP_SLO),
    ]


def promtool_test_file(rules_file: str, scenarios: list[Scenario]) -> dict:
    return {"rule_files": [rules_file], "evaluation_interval": "5m",
            "tests": [s.test_group() for s in scenarios]}


NIGHT = (720, 10.0, 0.02)
DAY = (720, 1000.0, 0.001)
UNEVEN_DAYS = 3


def exact_ratio(segments: list[tuple[int, float, float]]) -> float:
    bad = sum(m * r * b for m, r, b in segments)
    return bad / sum(m * r for m, r, _ in segments)


def uneven_scenario() -> Scenario:
    """Quiet nights with many errors, busy days with few: only request weighting gets the ratio right.

    The recorded 1d and SLO-window ratios must match bad/total of the input within 1% relative, while the
    average of the 5m ratios over the same span (what a naive rule records) is off by far more.
    """
    segments = [NIGHT, DAY] * UNEVEN_DAYS
    end = sum(m for m, _, _ in segments)
    exact, last_day = exact_ratio(segments), exact_ratio([NIGHT, DAY])
    sel = f'{{{names.SLO_LABEL_SLO}="{EVENTS_SLO}"}}'
    period, one_day = f"{names.SLO_ERROR_RATIO_PERIOD}{sel}", f"{names.slo_error_ratio('1d')}{sel}"
    naive = f"avg_over_time({names.slo_error_ratio('5m')}{sel}[{end}m])"
    scenario = Scenario("request-weighted long windows under uneven traffic", EVENTS_SLO, segments)
    for expr, target, compare in ((period, exact, "< bool 0.01"), (one_day, last_day, "< bool 0.01"),
                                  (naive, exact, "> bool 1")):
        scenario.checks.append({"eval_time": f"{end}m", "expr": f"min(abs({expr} / {target!r} - 1) {compare})",
                                "exp_samples": [{"labels": "{}", "value": 1}]})
    return scenario
