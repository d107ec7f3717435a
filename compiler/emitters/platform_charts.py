"""The charts of the platform layer, pinned, and the Flux objects that install them.

Versions are pinned exactly (never a range): a chart upgrade is a reviewed change of this file, and the
values each chart receives are checked against the keys its documentation lists (tests/schemas/).
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import conventions as names


@dataclass(frozen=True)
class HelmRepo:
    name: str
    url: str


@dataclass(frozen=True)
class Chart:
    release: str
    chart: str
    version: str
    repo: HelmRepo
    namespace: str
    depends_on: tuple[str, ...] = ()


PROMETHEUS_COMMUNITY = HelmRepo("prometheus-community", "https://prometheus-community.github.io/helm-charts")
GRAFANA = HelmRepo("grafana", "https://grafana.github.io/helm-charts")
OPEN_TELEMETRY = HelmRepo("open-telemetry", "https://open-telemetry.github.io/opentelemetry-helm-charts")
CHAOS_MESH = HelmRepo("chaos-mesh", "https://charts.chaos-mesh.org")
FLAGGER = HelmRepo("flagger", "https://flagger.app")
REPOSITORIES = (PROMETHEUS_COMMUNITY, GRAFANA, OPEN_TELEMETRY, CHAOS_MESH, FLAGGER)

CHAOS_NAMESPACE = "chaos-mesh"
FLAGGER_NAMESPACE = "flagger-system"

KUBE_PROMETHEUS_STACK = "kube-prometheus-stack"
TEMPO = "tempo"
OTEL_COLLECTOR = names.OTEL_COLLECTOR_SERVICE
PROMETHEUS_ADAPTER = "prometheus-adapter"
CHAOS_MESH_RELEASE = "chaos-mesh"
FLAGGER_RELEASE = "flagger"


def charts(monitoring: str) -> tuple[Chart, ...]:
    """Every chart, with the namespace it installs into (`monitoring` is the configured monitoring namespace)."""
    return (
        Chart(KUBE_PROMETHEUS_STACK, "kube-prometheus-stack", "67.8.0", PROMETHEUS_COMMUNITY, monitoring),
        Chart(TEMPO, "tempo", "1.10.1", GRAFANA, monitoring),
        Chart(OTEL_COLLECTOR, "opentelemetry-collector", "0.108.0", OPEN_TELEMETRY, monitoring,
              (KUBE_PROMETHEUS_STACK, TEMPO)),
        Chart(PROMETHEUS_ADAPTER, "prometheus-adapter", "4.11.0", PROMETHEUS_COMMUNITY, monitoring,
              (KUBE_PROMETHEUS_STACK,)),
        Chart(CHAOS_MESH_RELEASE, "chaos-mesh", "2.7.0", CHAOS_MESH, CHAOS_NAMESPACE),
        Chart(FLAGGER_RELEASE, "flagger", "1.38.0", FLAGGER, FLAGGER_NAMESPACE, (KUBE_PROMETHEUS_STACK,)),
    )


def service_url(service: str, namespace: str, port: int, path: str = "") -> str:
    return f"http://{service}.{namespace}.svc:{port}{path}"


def prometheus_url(monitoring: str) -> str:
    """The Prometheus the kube-prometheus-stack release creates (`<release>-prometheus`)."""
    return service_url(f"{KUBE_PROMETHEUS_STACK}-prometheus", monitoring, 9090)


def _labels() -> dict[str, str]:
    return {names.LABEL_MANAGED_BY: names.MANAGED_BY, names.LABEL_PART_OF: names.PLATFORM_DIR}


def helm_repository(repo: HelmRepo, flux_namespace: str) -> dict:
    return {"apiVersion": names.HELM_REPOSITORY_API, "kind": "HelmRepository",
            "metadata": {"name": repo.name, "namespace": flux_namespace, "labels": _labels()},
            "spec": {"interval": "1h", "url": repo.url}}


def helm_release(chart: Chart, values: dict, flux_namespace: str, values_from: list[dict] | None = None) -> dict:
    """A HelmRelease in the Flux namespace installing into the chart's namespace; CRDs created and upgraded."""
    spec = {
        "interval": "30m",
        "releaseName": chart.release,
        "targetNamespace": chart.namespace,
        "chart": {"spec": {"chart": chart.chart, "version": chart.version, "interval": "12h",
                           "sourceRef": {"kind": "HelmRepository", "name": chart.repo.name,
                                         "namespace": flux_namespace}}},
        "install": {"crds": "CreateReplace", "remediation": {"retries": 3}},
        "upgrade": {"crds": "CreateReplace", "remediation": {"retries": 3, "remediateLastFailure": True}},
        "values": values,
    }
    if chart.depends_on:
        spec["dependsOn"] = [{"name": d} for d in chart.depends_on]
    if values_from:
        spec["valuesFrom"] = values_from
    return {"apiVersion": names.HELM_RELEASE_API, "kind": "HelmRelease",
            "metadata": {"name": chart.release, "namespace": flux_namespace, "labels": _labels()},
            "spec": spec}
