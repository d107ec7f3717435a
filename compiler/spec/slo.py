"""SLOs and the error-budget policy of a service (`spec.slos`, `spec.errorBudgetPolicy`).

The alerting arithmetic lives here too, because two compile-time errors depend on it: a page alert whose
threshold can never be reached, and an SLO window shorter than the longest alert window.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from pydantic import Field, field_validator, model_validator

from .base import DnsLabel, SpecModel, duration_seconds

WINDOW_PLACEHOLDER = "{{window}}"
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
SELECTOR = re.compile(r'^\{\s*([a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*"([^"\\]|\\.)*"\s*,?\s*)*\}$')
SLO_WINDOW = re.compile(r"^[1-9][0-9]*d$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
BASE_WINDOW_DAYS = 30


@dataclass(frozen=True)
class BurnAlert:
    """One multi-window condition: the error ratio exceeds factor x budget over both windows."""

    severity: str
    long_window: str
    short_window: str
    factor: Decimal


WORKBOOK_ALERTS = (
    BurnAlert("page", "1h", "5m", Decimal("14.4")),
    BurnAlert("page", "6h", "30m", Decimal("6")),
    BurnAlert("ticket", "1d", "2h", Decimal("3")),
    BurnAlert("ticket", "3d", "6h", Decimal("1")),
)
"""The Google SRE workbook's multi-window multi-burn-rate alerts for a 30d window."""


def burn_alerts(window_days: int) -> tuple[BurnAlert, ...]:
    """The workbook alerts with factors scaled to the SLO window, never below the 30d factors.

    Scaling keeps the share of budget consumed when an alert fires constant (14.4x over 1h is 2% of a 30d
    budget, and so is 28.8x over 1h of a 60d budget). Below 30d the plain scaling would page at burn rates
    under 6x (3.4x for a 7d window) and ticket below 1x, i.e. on error ratios that never threaten the
    objective; those windows keep the 30d factors instead.
    """
    scale = max(Decimal(window_days) / BASE_WINDOW_DAYS, Decimal(1))
    return tuple(BurnAlert(a.severity, a.long_window, a.short_window, (a.factor * scale).normalize())
                 for a in WORKBOOK_ALERTS)


def decimal_text(value: Decimal) -> str:
    """A plain decimal without exponent or trailing zeros (0.001, 14.4, 6)."""
    return format(value.normalize(), "f")


def _promql_shape(query: str) -> str | None:
    """A fast structural check of a PromQL expression: balanced brackets outside quoted strings."""
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    quote = None
    i = 0
    text = query.replace(WINDOW_PLACEHOLDER, "5m")
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote != "`":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{":
            stack.append(ch)
        elif ch in ")]}":
            if not stack or stack.pop() != pairs[ch]:
                return f"unbalanced '{ch}' at character {i + 1}"
        i += 1
    if quote:
        return f"unterminated string starting with {quote}"
    if stack:
        return f"unclosed '{stack[-1]}'"
    return None


def _check_selector(value: str) -> str:
    if value and not SELECTOR.match(value.strip()):
        raise ValueError(f"'{value}' is not a label selector; write label matchers in braces, "
                         "e.g. '{job=\"checkout\"}'")
    return value.strip()


class EventsSLI(SpecModel):
    """Bad events over all events, from two PromQL queries that each return one series."""

    errorQuery: str = Field(description="PromQL of bad events per second; {{window}} is replaced by each range.")
    totalQuery: str = Field(description="PromQL of all events per second; {{window}} is replaced by each range.")

    @field_validator("errorQuery", "totalQuery")
    @classmethod
    def _query(cls, value: str) -> str:
        if WINDOW_PLACEHOLDER not in value:
            raise ValueError("the query has no {{window}}; write the range as [{{window}}], e.g. "
                             "sum(rate(http_requests_total{job=\"checkout\"}[{{window}}]))")
        problem = _promql_shape(value)
        if problem:
            raise ValueError(f"the query is not valid PromQL: {problem}; fix the brackets or quotes")
        return value


class LatencySLI(SpecModel):
    """Share of requests slower than `threshold`, from a Prometheus histogram's buckets."""

    metric: str = Field("http_request_duration_seconds",
                        description="Histogram name without _bucket/_count suffix.")
    selector: str = Field("", description="Label matchers in braces, e.g. '{job=\"checkout\"}'; "
                                          "defaults to the service's own job and namespace.")
    threshold: float = Field(gt=0, description="Seconds; must be one of the histogram's bucket bounds.")
    buckets: list[float] | None = Field(None, description="The histogram's bucket bounds, when known: a threshold "
                                                          "that is not one of them is then an error.")

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        if not METRIC_NAME.match(value):
            raise ValueError(f"'{value}' is not a Prometheus metric name")
        for suffix in ("_bucket", "_count", "_sum"):
            if value.endswith(suffix):
                raise ValueError(f"name the histogram without '{suffix}': '{value[: -len(suffix)]}'")
        return value

    @field_validator("selector")
    @classmethod
    def _selector(cls, value: str) -> str:
        return _check_selector(value)

    @model_validator(mode="after")
    def _threshold_is_bucket(self) -> "LatencySLI":
        if self.buckets is not None and self.threshold not in self.buckets:
            bounds = ", ".join(f"{b:g}" for b in sorted(self.buckets))
            raise ValueError(f"threshold {self.threshold:g} is not a bucket bound of {self.metric} ({bounds}); "
                             "pick one of the bounds or add the bucket to the histogram")
        return self


class AvailabilitySLI(SpecModel):
    """Share of the service's HTTP requests answered with a 5xx code, from the runtime's standard metrics."""

    selector: str = Field("", description="Extra label matchers in braces, e.g. '{route!=\"/healthz\"}'.")

    @field_validator("selector")
    @classmethod
    def _selector(cls, value: str) -> str:
        return _check_selector(value)


class SLI(SpecModel):
    """Exactly one kind of indicator."""

    events: EventsSLI | None = None
    latency: LatencySLI | None = None
    availability: AvailabilitySLI | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "SLI":
        kinds = [k for k in ("events", "latency", "availability") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("an SLI needs exactly one of events, latency or availability"
                             + (f" (found {', '.join(kinds)})" if kinds else ""))
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("events", "latency", "availability") if getattr(self, k) is not None)


class Alerting(SpecModel):
    page: bool = Field(True, description="Fast-burn alerts with severity=page.")
    ticket: bool = Field(True, description="Slow-burn alerts with severity=ticket.")
    labels: dict[str, str] = Field(default_factory=dict, description="Added to every alert of this SLO.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Added to every alert of this SLO "
                                        "(runbook_url replaces the default runbook link).")

    @field_validator("labels", "annotations")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not LABEL_NAME.match(name):
                raise ValueError(f"'{name}' is not a Prometheus label name; use letters, digits and '_'")
        return value

    @field_validator("labels")
    @classmethod
    def _reserved(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = sorted(set(value) & {"severity", "service", "slo", "team", "environment", "policy"})
        if reserved:
            raise ValueError(f"{', '.join(reserved)} is set by the compiler; choose another label name")
        return value


class SLO(SpecModel):
    name: DnsLabel = Field(description="Unique per service.")
    objective: float = Field(description="Percent of good events, at least 50 and below 100 (e.g. 99.9).")
    window: str = Field("30d", description="Rolling window in days: 7d, 14d, 28d, 30d or any Nd.")
    description: str = ""
    sli: SLI
    alerting: Alerting = Alerting()

    @field_validator("objective")
    @classmethod
    def _objective(cls, value: float) -> float:
        if not 50 <= value < 100:
            raise ValueError(f"objective {value:g} is out of range; write a percentage at least 50 and below 100, "
                             "e.g. 99.9 (100 leaves no error budget)")
        return value

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        if not SLO_WINDOW.match(value):
            raise ValueError(f"'{value}' is not an SLO window; write whole days, e.g. 7d, 28d or 30d")
        return value

    @model_validator(mode="after")
    def _alerts_can_fire(self) -> "SLO":
        enabled = {"page": self.alerting.page, "ticket": self.alerting.ticket}
        alerts = [a for a in self.burn_alerts if enabled[a.severity]]
        budget = self.error_budget
        for alert in alerts:
            if alert.severity == "page" and alert.factor * budget >= 1:
                lowest = ((1 - 1 / alert.factor) * 100).quantize(Decimal("0.01"), ROUND_CEILING)
                raise ValueError(
                    f"the page alert at {decimal_text(alert.factor)}x burn over {alert.long_window} can never fire "
                    f"for objective {self.objective:g}% (it needs an error ratio of "
                    f"{decimal_text(alert.factor * budget * 100)}%); raise the objective above "
                    f"{decimal_text(lowest)} or set alerting.page: false")
        longest = max(alerts, key=lambda a: duration_seconds(a.long_window), default=None)
        if longest and duration_seconds(self.window) < duration_seconds(longest.long_window):
            hint = " or set alerting.ticket: false" if longest.severity == "ticket" else ""
            raise ValueError(f"window {self.window} is shorter than the {longest.long_window} {longest.severity} "
                             f"alert window; use a window of at least {longest.long_window}{hint}")
        return self

    @property
    def window_days(self) -> int:
        return int(self.window[:-1])

    @property
    def objective_ratio(self) -> Decimal:
        return Decimal(str(self.objective)) / 100

    @property
    def error_budget(self) -> Decimal:
        return 1 - self.objective_ratio

    @property
    def burn_alerts(self) -> tuple[BurnAlert, ...]:
        return burn_alerts(self.window_days)


class ErrorBudgetPolicy(SpecModel):
    freezeDeploysBelow: float = Field(0, ge=0, le=100, description="Percent of budget left below which "
                                      "`platformc budget` fails (the deploy gate).")
    chaosRequiresAbove: float = Field(25, ge=0, le=100, description="Chaos experiments run only while more "
                                      "than this percent of budget is left.")

