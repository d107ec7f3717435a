"""OpenTelemetry settings of a service's container: where spans go and what they are called.

Standard OTEL_* variables, read by every OpenTelemetry SDK's auto-configuration: OTLP over HTTP (the spec's
default protocol, and the exporter the platform runtime ships) to the Collector's port 4318. The environment
is not set here: the platform's Collector stamps `deployment.environment` on every span it receives (one
Collector per cluster), so the base and every overlay carry the same values and no overlay has to patch them.
A variable the spec sets itself wins.
"""
from __future__ import annotations

from .. import conventions as names
from ..plan import Target


def otel_env(t: Target, service_name: str | None = None) -> list[dict]:
    """The OTEL_* variables for a container of this service (`service_name` for a component of it)."""
    collector = (f"http://{names.OTEL_COLLECTOR_SERVICE}.{t.config.spec.monitoringNamespace}.svc:"
                 f"{names.OTLP_HTTP_PORT}")
    defaults = [{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": collector},
                {"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": "http/protobuf"},
                {"name": "OTEL_RESOURCE_ATTRIBUTES", "value": f"service.namespace={t.namespace}"},
                {"name": "OTEL_SERVICE_NAME", "value": service_name or t.name}]
    own = set(t.spec.env) | set(t.spec.secretEnv)
    return [e for e in defaults if e["name"] not in own]
