"""ServiceMonitor: Prometheus (operator) scrapes the service's metrics endpoint."""
from __future__ import annotations

from .. import conventions as names
from ..plan import Target
from . import serving_hooks


def service_monitor(t: Target) -> list[dict]:
    metrics = t.spec.metrics
    endpoint = {"port": names.PORT_NAME, "path": metrics.path, "interval": metrics.interval, "scheme": "http",
                **serving_hooks.endpoint_fields(t)}
    return [{"apiVersion": names.MONITORING_API, "kind": "ServiceMonitor", "metadata": t.metadata(),
             "spec": {"selector": {"matchLabels": names.selector_labels(t.name)},
                      "namespaceSelector": {"matchNames": [t.namespace]},
                      "endpoints": [endpoint], **serving_hooks.monitor_fields(t)}}]
