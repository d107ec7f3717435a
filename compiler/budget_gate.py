"""`platformc budget`: the deploy gate that turns the error-budget policy into a freeze.

It reads the recorded budget series (conventions.SLO_BUDGET_REMAINING and SLO_FREEZE_BELOW) from Prometheus'
HTTP API, so the thresholds it applies are the ones the compiled rules carry for that environment.
"""
from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from . import conventions as names
from .errors import BudgetGateError, PrometheusQueryError
from .spec.base import DNS_LABEL

TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Budget:
    service: str
    environment: str
    slo: str
    remaining: float
    freeze_below: float

    @property
    def frozen(self) -> bool:
        return not math.isnan(self.remaining) and self.remaining < self.freeze_below


def _selector(service: str | None, env: str | None) -> str:
    for option, value in (("--service", service), ("--env", env)):
        if value is not None and not DNS_LABEL.match(value):
            raise PrometheusQueryError(f"{option} {value!r} is not a service or environment name")
    matchers = [f'{names.SLO_LABEL_SERVICE}="{service}"' if service else "",
                f'{names.SLO_LABEL_ENV}="{env}"' if env else ""]
    return "{" + ",".join(m for m in matchers if m) + "}"


def _query(url: str, expr: str) -> list[dict]:
    endpoint = url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(endpoint, timeout=TIMEOUT_SECONDS) as response:
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        raise PrometheusQueryError(f"Prometheus at {url} answered {exc.code} to {expr!r}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PrometheusQueryError(f"cannot query Prometheus at {url}: {reason}") from None
    if body.get("status") != "success":
        raise PrometheusQueryError(f"Prometheus at {url} refused {expr!r}: {body.get('error', 'unknown error')}")
    return body["data"]["result"]


def _key(series: dict) -> tuple[str, str, str]:
    labels = series["metric"]
    return (labels.get(names.SLO_LABEL_SERVICE, "?"), labels.get(names.SLO_LABEL_ENV, "?"),
            labels.get(names.SLO_LABEL_SLO, "?"))


def read_budgets(url: str, service: str | None = None, env: str | None = None) -> list[Budget]:
    """Every SLO's budget left and freeze threshold, sorted by service, environment and SLO."""
    if not url.startswith(("http://", "https://")):
        raise PrometheusQueryError(f"--prometheus must be an http(s) URL, got {url!r}")
    selector = _selector(service, env)
    remaining = {_key(s): float(s["value"][1]) for s in _query(url, names.SLO_BUDGET_REMAINING + selector)}
    freeze = {_key(s): float(s["value"][1]) for s in _query(url, names.SLO_FREEZE_BELOW + selector)}
    if not remaining:
        scope = " ".join(p for p in (f"service {service}" if service else "", f"environment {env}" if env else "")
                         if p) or "any service"
        raise PrometheusQueryError(f"no {names.SLO_BUDGET_REMAINING} series for {scope} at {url}: are the SLO rules "
                                   "loaded, and has the service had traffic?")
    return [Budget(*key, value, freeze.get(key, 0.0)) for key, value in sorted(remaining.items())]


def _percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value * 100:.2f}%"


def budget_table(budgets: list[Budget]) -> list[str]:
    rows = [("SERVICE", "ENV", "SLO", "BUDGET LEFT", "FREEZE BELOW", "STATUS")]
    rows += [(b.service, b.environment, b.slo, _percent(b.remaining), _percent(b.freeze_below),
              "FROZEN" if b.frozen else "ok") for b in budgets]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]


def gate(budgets: list[Budget]) -> None:
    """Raise BudgetGateError (exit 1) when any SLO is below its freeze threshold."""
    frozen = [b for b in budgets if b.frozen]
    if frozen:
        raise BudgetGateError("deploys frozen: " + ", ".join(
            f"{b.service}/{b.slo} in {b.environment} has {_percent(b.remaining)} of its error budget left "
            f"(freeze below {_percent(b.freeze_below)})" for b in frozen))
