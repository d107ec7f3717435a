"""From an SLI to two PromQL templates, bad events and all events per second, each with a `{{window}}` range."""
from __future__ import annotations

from decimal import Decimal

from .. import conventions as names
from ..plan import Target
from ..spec.slo import SLO, WINDOW_PLACEHOLDER

SERVER_ERROR = 'code=~"5.."'


def default_matchers(t: Target) -> list[str]:
    """The series of this service: Prometheus operator's `job` is the Service name, `namespace` its team."""
    return [f'job="{t.name}"', f'namespace="{t.namespace}"']


def selector_matchers(selector: str) -> list[str]:
    inner = selector.strip()[1:-1].strip().rstrip(",") if selector else ""
    return [inner] if inner else []


def _braces(matchers: list[str]) -> str:
    return "{" + ",".join(matchers) + "}"


def bucket_matcher(threshold: float) -> str:
    """The `le` matcher of a bucket bound; integer bounds match both the Go ("1") and Python ("1.0") spelling."""
    text = format(Decimal(str(threshold)).normalize(), "f")
    return f'le="{text}"' if "." in text else f'le=~"{text}|{text}.0"'


def sli_templates(t: Target, slo: SLO) -> tuple[str, str]:
    """(bad events per second, all events per second) as PromQL with a `{{window}}` placeholder."""
    sli = slo.sli
    window = f"[{WINDOW_PLACEHOLDER}]"
    if sli.events is not None:
        return sli.events.errorQuery, sli.events.totalQuery
    if sli.availability is not None:
        matchers = default_matchers(t) + selector_matchers(sli.availability.selector)
        total = f"sum(rate({names.HTTP_REQUESTS_TOTAL}{_braces(matchers)}{window}))"
        errors = f"sum(rate({names.HTTP_REQUESTS_TOTAL}{_braces(matchers + [SERVER_ERROR])}{window}))"
        return errors, total
    latency = sli.latency
    matchers = selector_matchers(latency.selector) or default_matchers(t)
    total = f"sum(rate({latency.metric}_count{_braces(matchers)}{window}))"
    good = f"sum(rate({latency.metric}_bucket{_braces(matchers + [bucket_matcher(latency.threshold)])}{window}))"
    return f"({total} - {good})", total


def for_window(template: str, window: str) -> str:
    return template.replace(WINDOW_PLACEHOLDER, window)
