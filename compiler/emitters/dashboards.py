"""Grafana dashboards as code: one per service and environment, and the platform overview per environment.

A service dashboard is a ConfigMap in the service's namespace, added by each environment's overlay (the base
has none). Grafana's sidecar loads every ConfigMap labelled `grafana_dashboard: "1"` into the folder named
by its `grafana_folder` annotation (the team). Every query reads a series named in conventions.py: a runtime
or platform metric (EXPORTED_METRICS) or a series the SLO rules record. The ConfigMaps carry
`kustomize.toolkit.fluxcd.io/substitute: disabled`, so Grafana's `${var}` syntax survives Flux even if a
Kustomization ever turns on post-build substitution.

Hook for feature rows: `ROW_BUILDERS` maps a ServiceSpec field name (e.g. "llm", "model") to functions
`(DashboardContext) -> list[Row]`; a service whose spec sets that field gets those rows, after the standard
ones and in registration order. Build rows from `dashboard_panels.Row/Panel/Query`, select the service with
`ctx.selector` (namespace and job labels) and use `ctx.rate` as the range of rate()/increase(). Register
from your own module, e.g. `dashboards.ROW_BUILDERS.setdefault("llm", []).append(llm_rows)`, imported by
compiler/emitters/__init__.py.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from .. import conventions as names
from ..plan import Target
from ..project import Project
from .dashboard_panels import Dashboard, Link, Panel, Query, Row, Threshold, Variable, render_dashboard

RATE = "$__rate_interval"
DASHBOARD_TAG = "platformc"
OVERVIEW_NAME = "platform-overview"
OVERVIEW_FOLDER = "Platform"
GREEN, YELLOW, RED = "green", "yellow", "red"


@dataclass(frozen=True)
class DashboardContext:
    target: Target

    @property
    def service(self) -> str:
        return self.target.name

    @property
    def selector(self) -> str:
        """Label matchers (without braces) that select this service's own series: `job` is the service name
        even behind a Flagger canary (whose scraped Services are `<service>-primary` and `-canary`)."""
        return f'{names.SERIES_NAMESPACE}="$namespace", {names.SERIES_JOB}="{self.service}"'

    @property
    def rate(self) -> str:
        return RATE

    def slo_selector(self, slo: str) -> str:
        return (f'{names.SLO_LABEL_SERVICE}="{self.service}", {names.SLO_LABEL_SLO}="{slo}", '
                f'{names.SLO_LABEL_ENV}="$environment"')


RowBuilder = Callable[[DashboardContext], list[Row]]
ROW_BUILDERS: dict[str, list[RowBuilder]] = {}
"""Spec field name -> row builders added when the service's spec sets that field (see module docstring)."""


def _http_rows(ctx: DashboardContext) -> list[Row]:
    sel, requests, duration = ctx.selector, names.HTTP_REQUESTS_TOTAL, names.HTTP_REQUEST_DURATION
    errors = f'sum(rate({requests}{{{sel}, {names.SERIES_CODE}=~"5.."}}[{RATE}]))'
    total = f"sum(rate({requests}{{{sel}}}[{RATE}]))"
    quantiles = tuple(
        Query(f"histogram_quantile({q}, sum by (le) (rate({duration}_bucket{{{sel}}}[{RATE}])))",
              legend=f"p{int(q * 100)}", exemplar=True)
        for q in (0.5, 0.95, 0.99))
    return [
        Row("Traffic", (
            Panel("Request rate by route and code", (Query(
                f"sum by ({names.SERIES_ROUTE}, {names.SERIES_CODE}) (rate({requests}{{{sel}}}[{RATE}]))",
                legend=f"{{{{{names.SERIES_ROUTE}}}}} {{{{{names.SERIES_CODE}}}}}"),), unit="reqps"),
            Panel("Error ratio (5xx)", (Query(f"({errors} or vector(0)) / {total}", legend="5xx ratio"),),
                  unit="percentunit", min=0,
                  description="Share of requests answered with a 5xx code; 0 when there were none."),
        )),
        Row("Latency", (
            Panel("Latency distribution", (Query(
                f"sum by (le) (increase({duration}_bucket{{{sel}}}[{RATE}]))", legend="{{le}}", heatmap=True),),
                kind="heatmap", unit="s"),
            Panel("Latency p50 / p95 / p99", quantiles, unit="s",
                  description="Exemplars link each point to the trace that produced it (Tempo)."),
        )),
    ]


def _slo_rows(ctx: DashboardContext) -> list[Row]:
    rows = []
    for slo in ctx.target.spec.slos:
        sel = ctx.slo_selector(slo.name)
        objective = float(slo.objective_ratio)
        burn_windows = sorted({a.long_window for a in slo.burn_alerts}, key=lambda w: ("mhd".index(w[-1]), w))
        burn = tuple(Query(f"{names.slo_error_ratio(w)}{{{sel}}} / {names.SLO_ERROR_BUDGET}{{{sel}}}",
                           legend=f"burn rate {w}") for w in burn_windows)
        thresholds = (Threshold(None, GREEN),) + tuple(
            Threshold(float(a.factor), RED if a.severity == names.SEVERITY_PAGE else YELLOW)
            for a in sorted(slo.burn_alerts, key=lambda a: a.factor))
        rows.append(Row(f"SLO {slo.name}: {slo.objective:g}% over {slo.window}", (
            Panel("Attainment", (Query(f"1 - {names.SLO_ERROR_RATIO_PERIOD}{{{sel}}}", legend="attainment"),),
                  kind="stat", unit="percentunit", span=6, decimals=3,
                  thresholds=(Threshold(None, RED), Threshold(objective, GREEN)),
                  description=f"Good events over the last {slo.window}; objective {slo.objective:g}%."),
            Panel("Error budget remaining", (Query(f"{names.SLO_BUDGET_REMAINING}{{{sel}}}", legend="remaining"),),
                  kind="gauge", unit="percentunit", span=6, max=1,
                  thresholds=(Threshold(None, RED), Threshold(0.25, YELLOW), Threshold(0.5, GREEN))),
            Panel("Burn rate vs alert thresholds", burn, span=12, threshold_lines=True, thresholds=thresholds,
                  description="Error ratio divided by the error budget; lines mark the page (red) and ticket "
                              "(yellow) burn-rate thresholds."),
        )))
    return rows


def _scaling_row(ctx: DashboardContext) -> Row:
    ns = f'{names.SERIES_NAMESPACE}="$namespace"'
    if ctx.target.spec.scaling is not None:
        hpa = f'{ns}, horizontalpodautoscaler="{ctx.service}"'
        queries = (Query(f"{names.METRIC_KSM_HPA_CURRENT}{{{hpa}}}", legend="current"),
                   Query(f"{names.METRIC_KSM_HPA_DESIRED}{{{hpa}}}", legend="desired"),
                   Query(f"{names.METRIC_KSM_HPA_MIN}{{{hpa}}}", legend="min"),
                   Query(f"{names.METRIC_KSM_HPA_MAX}{{{hpa}}}", legend="max"))
        return Row("Autoscaling", (Panel("HPA replicas vs min/max", queries, span=24),))
    deployment = f'{ns}, deployment="{ctx.service}"'
    return Row("Replicas", (Panel("Available replicas", (Query(
        f"{names.METRIC_KSM_REPLICAS_AVAILABLE}{{{deployment}}}", legend="available"),), span=24),))


def _pod_rows(ctx: DashboardContext) -> list[Row]:
    pods = f'{names.SERIES_NAMESPACE}="$namespace", {names.SERIES_POD}=~"{ctx.service}-.*"'
    container = f'{pods}, {names.SERIES_CONTAINER}="{ctx.service}"'
    pod_legend = f"{{{{{names.SERIES_POD}}}}}"
    return [
        Row("Pods", (
            Panel("CPU", (Query(
                f"sum by ({names.SERIES_POD}) (rate({names.METRIC_CONTAINER_CPU}{{{container}}}[{RATE}]))",
                legend=pod_legend),), unit="short", span=8),
            Panel("Memory (working set)", (Query(
                f"sum by ({names.SERIES_POD}) ({names.METRIC_CONTAINER_MEMORY}{{{container}}})", legend=pod_legend),),
                unit="bytes", span=8),
            Panel("Restarts (1h)", (Query(
                f"sum by ({names.SERIES_POD}) (increase({names.METRIC_KSM_RESTARTS}{{{container}}}[1h]))",
                legend=pod_legend),), unit="short", span=8),
        )),
        Row("Nodes", (
            Panel("Node CPU utilisation", (Query(
                f'1 - avg by (instance) (rate({names.METRIC_NODE_CPU}{{mode="idle"}}[{RATE}]))',
                legend="{{instance}}"),), unit="percentunit", max=1),
            Panel("Node memory utilisation", (Query(
                f"1 - {names.METRIC_NODE_MEM_AVAILABLE} / {names.METRIC_NODE_MEM_TOTAL}", legend="{{instance}}"),),
                unit="percentunit", max=1),
        )),
    ]


def _traces_row(ctx: DashboardContext) -> Row:
    traceql = f'{{resource.service.name="{ctx.service}" && resource.deployment.environment="$environment"}}'
    return Row("Traces", (Panel("Recent traces", (Query(traceql, datasource="tempo"),), kind="table", span=24),))


def _feature_rows(ctx: DashboardContext) -> list[Row]:
    rows = []
    for feature in sorted(ROW_BUILDERS):
        if getattr(ctx.target.spec, feature, None):
            for builder in ROW_BUILDERS[feature]:
                rows += builder(ctx)
    return rows


def _explore_link(title: str, traceql: str) -> Link:
    from urllib.parse import quote
    pane = {"t": {"datasource": names.DATASOURCE_TEMPO_UID, "queries": [{
        "refId": "A", "datasource": {"type": "tempo", "uid": names.DATASOURCE_TEMPO_UID},
        "queryType": "traceql", "query": traceql}], "range": {"from": "now-1h", "to": "now"}}}
    panes = quote(json.dumps(pane, sort_keys=True, separators=(",", ":")))
    return Link(title, f"/explore?schemaVersion=1&panes={panes}", tooltip="Open this service's traces in Tempo")


def _variables(project_envs: list[str], env: str, namespace_query: str, namespace: str) -> tuple[Variable, ...]:
    return (Variable("environment", "Environment", "custom", "", env, tuple(project_envs)),
            Variable("namespace", "Namespace", "query", namespace_query, namespace))


def service_dashboard_json(t: Target) -> dict:
    ctx = DashboardContext(t)
    rows = _http_rows(ctx) + _slo_rows(ctx) + [_scaling_row(ctx)] + _pod_rows(ctx) + _feature_rows(ctx)
    rows.append(_traces_row(ctx))
    envs = t.config.environment_names()
    namespace_query = f'label_values({names.HTTP_REQUESTS_TOTAL}{{{names.SERIES_JOB}="{t.name}"}}, namespace)'
    spec = Dashboard(
        uid=names.SLO_DASHBOARD_UID.format(service=t.name), title=f"{t.name} ({t.env.name})",
        tags=(DASHBOARD_TAG, t.service.team, t.env.name, t.service.tier), rows=tuple(rows),
        variables=_variables(envs, t.env.name, namespace_query, t.namespace),
        links=(_explore_link("Traces", f'{{resource.service.name="{t.name}"}}'),),
        description=f"Generated by platformc from {t.service.source}; do not edit in Grafana.")
    return render_dashboard(spec)


def dashboard_text(dashboard: dict) -> str:
    """The JSON text stored in the ConfigMap (and compared byte for byte after `kubectl kustomize`)."""
    return json.dumps(dashboard, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dashboard_configmap(name: str, namespace: str, folder: str, labels: dict, key: str, dashboard: dict) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {**labels, names.DASHBOARD_LABEL: names.DASHBOARD_LABEL_VALUE},
                         "annotations": {names.DASHBOARD_FOLDER_ANNOTATION: folder,
                                         names.FLUX_SUBSTITUTE_ANNOTATION: "disabled"}},
            "data": {key: dashboard_text(dashboard)}}


def service_dashboard(t: Target) -> list[dict]:
    """SERVICE_EMITTER: the dashboard ConfigMap of a service in one environment (none in the base)."""
    if t.env is None:
        return []
    return [dashboard_configmap(f"{t.name}-dashboard", t.namespace, t.service.team, dict(t.labels),
                                f"{t.name}.json", service_dashboard_json(t))]


def overview_dashboard_json(project: Project, env: str) -> dict:
    """Every service's SLOs and remaining budget, token spend and the alerts firing, in one environment."""
    env_sel = f'{names.SLO_LABEL_ENV}="$environment"'
    budget = (f"min by ({names.SLO_LABEL_SERVICE}, {names.SLO_LABEL_SLO}) "
              f"({names.SLO_BUDGET_REMAINING}{{{env_sel}}})")
    attainment = (f"min by ({names.SLO_LABEL_SERVICE}, {names.SLO_LABEL_SLO}) "
                  f"(1 - {names.SLO_ERROR_RATIO_PERIOD}{{{env_sel}}})")
    slo_legend = f"{{{{{names.SLO_LABEL_SERVICE}}}}} / {{{{{names.SLO_LABEL_SLO}}}}}"
    tokens = names.METRIC_LLM_TOKENS
    rows = (
        Row("SLOs", (
            Panel("Error budget remaining", (Query(budget, legend=slo_legend, instant=True),), kind="gauge",
                  unit="percentunit", max=1, thresholds=(Threshold(None, RED), Threshold(0.25, YELLOW),
                                                         Threshold(0.5, GREEN))),
            Panel("Attainment over the SLO window", (Query(attainment, legend=slo_legend, instant=True),),
                  kind="stat", unit="percentunit", decimals=3),
        )),
        Row("Traffic", (
            Panel("Request rate by service", (Query(
                f"sum by ({names.SERIES_NAMESPACE}, {names.SERIES_JOB}) (rate({names.HTTP_REQUESTS_TOTAL}[{RATE}]))",
                legend=f"{{{{{names.SERIES_JOB}}}}}"),), unit="reqps", span=24),
        )),
        Row("LLM spend", (
            Panel("Tokens per second by service, model and type", (Query(
                f"sum by ({names.SERIES_JOB}, {names.SERIES_MODEL}, {names.SERIES_TOKEN_TYPE}) "
                f"(rate({tokens}[{RATE}]))",
                legend=f"{{{{{names.SERIES_JOB}}}}} {{{{{names.SERIES_MODEL}}}}} {{{{{names.SERIES_TOKEN_TYPE}}}}}"),),
                unit="short"),
            Panel("Cost (USD) over 24h by model", (Query(
                f"sum by ({names.SERIES_MODEL}) (increase({names.METRIC_LLM_COST}[24h]))",
                legend=f"{{{{{names.SERIES_MODEL}}}}}", instant=True),), kind="stat", unit="currencyUSD"),
            Panel("Token budget used", (Query(
                f"1 - {names.METRIC_LLM_BUDGET_REMAINING} / {names.METRIC_LLM_BUDGET_LIMIT}",
                legend=f"{{{{{names.SERIES_BUDGET}}}}}"),), kind="gauge", unit="percentunit", max=1,
                thresholds=(Threshold(None, GREEN), Threshold(0.8, YELLOW), Threshold(0.95, RED)), span=24),
        )),
        Row("Alerts", (
            Panel("Alerts firing", (Query(
                f'sum by (alertname, {names.LABEL_SEVERITY}, {names.SLO_LABEL_SERVICE}) '
                f'({names.METRIC_ALERTS}{{alertstate="firing"}})',
                legend=f"{{{{alertname}}}} {{{{{names.SLO_LABEL_SERVICE}}}}} ({{{{{names.LABEL_SEVERITY}}}}})",
                instant=True),), kind="table", span=24),
        )),
    )
    envs = project.config.environment_names()
    spec = Dashboard(
        uid=names.dashboard_uid(OVERVIEW_NAME), title=f"Platform overview ({env})",
        tags=(DASHBOARD_TAG, env), rows=rows,
        variables=_variables(envs, env, f"label_values({names.HTTP_REQUESTS_TOTAL}, namespace)",
                             project.config.spec.monitoringNamespace)[:1],
        description="Generated by platformc from every spec in specs/; do not edit in Grafana.")
    return render_dashboard(spec)
