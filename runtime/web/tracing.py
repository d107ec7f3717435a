"""Span export: an OpenTelemetry SDK tracer provider sending OTLP/HTTP when the standard
`OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) variable is set.

Without it spans stay no-ops and cost next to nothing. `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`
and the exporter's other standard variables (headers, timeout, compression) apply as usual.
"""
from __future__ import annotations

import os


def tracer_provider_from_env(default_service_name: str):
    """A batching OTLP/HTTP tracer provider, or None when no endpoint is configured."""
    if not (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")):
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": default_service_name}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider
