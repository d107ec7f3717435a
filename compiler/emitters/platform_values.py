"""Helm values of every platform chart, from the platform config and the environment's sizing.

Only keys the charts document are used; tests/schemas/<chart>.schema.json lists them and the tests validate
these values against it. Selectors are set explicitly so Prometheus picks up the ServiceMonitors and
PrometheusRules the compiler emits in the team namespaces, whatever the chart's defaults become.
"""
from __future__ import annotations

from .. import conventions as names
from ..spec.base import format_memory, memory_bytes
from ..spec.config import PlatformConfig
from ..spec.platform import Sizing
from .platform_alerting import alertmanager_config, mounted_secrets
from .platform_charts import KUBE_PROMETHEUS_STACK, TEMPO, prometheus_url, service_url

TEMPO_HTTP_PORT = 3100
OTLP_GRPC_PORT = names.OTLP_GRPC_PORT
OTLP_HTTP_PORT = names.OTLP_HTTP_PORT
GRAFANA_ADMIN_SECRET = "grafana-admin"
SPAN_LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]


def _volume(storage_class: str, size: str) -> dict:
    return {"volumeClaimTemplate": {"spec": {"storageClassName": storage_class, "accessModes": ["ReadWriteOnce"],
                                             "resources": {"requests": {"storage": size}}}}}


def _small(cpu: str, memory: str) -> dict:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": format_memory(2 * memory_bytes(memory))}}


def kube_prometheus_stack(config: PlatformConfig, env: str, sizing: Sizing) -> dict:
    platform = config.spec.platform
    monitoring = config.spec.monitoringNamespace
    every = {}
    prometheus_spec = {
        "replicas": sizing.replicas,
        "retention": sizing.retention,
        "resources": {"requests": {"cpu": str(sizing.resources.cpu), "memory": str(sizing.resources.memory)},
                      "limits": {"memory": str(sizing.resources.memory)}},
        "storageSpec": _volume(platform.storageClass, str(sizing.storage)),
        "serviceMonitorSelectorNilUsesHelmValues": False, "serviceMonitorSelector": every,
        "serviceMonitorNamespaceSelector": every,
        "podMonitorSelectorNilUsesHelmValues": False, "podMonitorSelector": every, "podMonitorNamespaceSelector": every,
        "ruleSelectorNilUsesHelmValues": False, "ruleSelector": {"matchLabels": dict(names.PROMETHEUS_RULE_LABELS)},
        "ruleNamespaceSelector": every,
        "enableFeatures": ["exemplar-storage"],
        "enableRemoteWriteReceiver": True,
        "externalLabels": {names.SLO_LABEL_ENV: env},
    }
    alertmanager_spec = {
        "replicas": sizing.replicas,
        "retention": "120h",
        "resources": _small("50m", "128Mi"),
        "storage": _volume(platform.storageClass, "2Gi"),
        "secrets": mounted_secrets(config),
    }
    tempo_url = service_url(TEMPO, monitoring, TEMPO_HTTP_PORT)
    grafana = {
        "image": {"tag": names.GRAFANA_VERSION},
        "admin": {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
        "resources": _small("100m", "256Mi"),
        "sidecar": {
            "dashboards": {"enabled": True, "label": names.DASHBOARD_LABEL, "labelValue": names.DASHBOARD_LABEL_VALUE,
                           "searchNamespace": "ALL", "folderAnnotation": names.DASHBOARD_FOLDER_ANNOTATION,
                           "provider": {"foldersFromFilesStructure": True}},
            "datasources": {"enabled": True, "uid": names.DATASOURCE_PROMETHEUS_UID,
                            "exemplarTraceIdDestinations": {"datasourceUid": names.DATASOURCE_TEMPO_UID,
                                                            "traceIdLabelName": names.TRACE_ID_LABEL}},
        },
        "additionalDataSources": [{
            "name": "Tempo", "uid": names.DATASOURCE_TEMPO_UID, "type": "tempo", "access": "proxy", "url": tempo_url,
            "jsonData": {"tracesToMetrics": {"datasourceUid": names.DATASOURCE_PROMETHEUS_UID},
                         "serviceMap": {"datasourceUid": names.DATASOURCE_PROMETHEUS_UID},
                         "nodeGraph": {"enabled": True}},
        }],
    }
    return {
        "crds": {"enabled": True},
        "prometheusOperator": {"resources": _small("100m", "128Mi")},
        "prometheus": {"prometheusSpec": prometheus_spec},
        "alertmanager": {"config": alertmanager_config(config), "alertmanagerSpec": alertmanager_spec},
        "grafana": grafana,
    }


def tempo(config: PlatformConfig, env: str, sizing: Sizing) -> dict:
    platform = config.spec.platform
    return {
        "tempo": {
            "retention": sizing.traceRetention,
            "resources": _small("200m", "512Mi"),
            "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}"},
                                                 "http": {"endpoint": f"0.0.0.0:{OTLP_HTTP_PORT}"}}}},
        },
        "persistence": {"enabled": True, "storageClassName": platform.storageClass,
                        "size": str(sizing.traceStorage), "accessModes": ["ReadWriteOnce"]},
        "serviceMonitor": {"enabled": True},
    }


def opentelemetry_collector(config: PlatformConfig, env: str, sizing: Sizing) -> dict:
    """OTLP in; traces to Tempo; RED metrics of every span (spanmetrics) remote-written to Prometheus."""
    monitoring = config.spec.monitoringNamespace
    collector = {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}"},
                                             "http": {"endpoint": f"0.0.0.0:{OTLP_HTTP_PORT}"}}}},
        "processors": {"batch": {}, "memory_limiter": {"check_interval": "5s", "limit_percentage": 80,
                                                       "spike_limit_percentage": 25},
                       "resource/environment": {"attributes": [
                           {"key": "deployment.environment", "value": env, "action": "upsert"}]}},
        "connectors": {"spanmetrics": {
            "histogram": {"unit": "ms", "explicit": {"buckets": [f"{b}ms" for b in SPAN_LATENCY_BUCKETS_MS]}},
            "dimensions": [{"name": "http.route"}, {"name": "http.response.status_code"}],
            "exemplars": {"enabled": True},
        }},
        "exporters": {
            "otlp/tempo": {"endpoint": f"{TEMPO}.{monitoring}.svc:{OTLP_GRPC_PORT}", "tls": {"insecure": True}},
            "prometheusremotewrite": {"endpoint": prometheus_url(monitoring) + "/api/v1/write",
                                      "resource_to_telemetry_conversion": {"enabled": True}},
        },
        "service": {"pipelines": {
            "traces": {"receivers": ["otlp"], "processors": ["memory_limiter", "resource/environment", "batch"],
                       "exporters": ["otlp/tempo", "spanmetrics"]},
            "metrics/spanmetrics": {"receivers": ["spanmetrics"], "processors": ["batch"],
                                    "exporters": ["prometheusremotewrite"]},
        }},
    }
    return {
        "mode": "deployment",
        "image": {"repository": "otel/opentelemetry-collector-contrib"},
        "replicaCount": max(2, sizing.replicas),
        "resources": _small("200m", "256Mi"),
        "config": collector,
        "serviceMonitor": {"enabled": True},
        "ports": {"metrics": {"enabled": True}},
    }


def prometheus_adapter(config: PlatformConfig, env: str, sizing: Sizing) -> dict:
    """Serves HPA_REQUESTS_METRIC to HPAs; its rule comes from the `adapter` emitter's ConfigMap (valuesFrom)."""
    monitoring = config.spec.monitoringNamespace
    return {
        "prometheus": {"url": f"http://{KUBE_PROMETHEUS_STACK}-prometheus.{monitoring}.svc", "port": 9090},
        "replicas": max(1, sizing.replicas),
        "resources": _small("100m", "128Mi"),
        "rules": {"default": False},
    }


def chaos_mesh(config: PlatformConfig, env: str, sizing: Sizing) -> dict:
    """containerd (EKS); the dashboard asks for a token (securityMode) and stays inside the cluster."""
    return {
        "controllerManager": {"replicaCount": sizing.replicas, "resources": _small("50m", "256Mi")},
        "chaosDaemon": {"runtime": "containerd", "socketPath": "/run/containerd/containerd.sock",
                        "resources": _small("50m", "128Mi")},
        "dashboard": {"create": True, "securityMode": True, "service": {"type": "ClusterIP"},
                      "resources": _small("25m", "256Mi")},
    }


def flagger(config: PlatformConfig, env: str, sizing: Sizing) -> dict:
    return {
        "meshProvider": config.spec.platform.meshProvider,
        "metricsServer": prometheus_url(config.spec.monitoringNamespace),
        "prometheus": {"install": False},
        "resources": _small("50m", "64Mi"),
    }


VALUES = {
    "kube-prometheus-stack": kube_prometheus_stack,
    "tempo": tempo,
    "opentelemetry-collector": opentelemetry_collector,
    "prometheus-adapter": prometheus_adapter,
    "chaos-mesh": chaos_mesh,
    "flagger": flagger,
}
"""Chart name -> values builder `(config, env, sizing) -> dict`."""
