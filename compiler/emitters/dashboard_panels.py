"""A small description of dashboards (rows of panels of queries) and its rendering with Grafana's typed SDK.

Emitters describe panels as plain data (`Panel`, `Query`, `Row`); `render_dashboard` turns them into
grafana-foundation-sdk builders and returns the dashboard JSON as a dict. Ids are derived from names: a
panel's id is a hash of its dashboard, row and title, so adding a panel never renumbers the others; refIds
are A, B, C... in query order. The SDK lays panels out left to right in rows of 24 columns.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass, field

from .. import conventions as names

PROMETHEUS = "prometheus"
TEMPO = "tempo"
MAX_PANEL_ID = 2**31 - 1


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    datasource: str = PROMETHEUS
    instant: bool = False
    heatmap: bool = False
    exemplar: bool = False


@dataclass(frozen=True)
class Threshold:
    value: float | None
    color: str


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    kind: str = "timeseries"
    """timeseries, stat, gauge, heatmap or table."""
    unit: str = ""
    description: str = ""
    span: int = 12
    height: int = 8
    thresholds: tuple[Threshold, ...] = ()
    threshold_lines: bool = False
    min: float | None = None
    max: float | None = None
    decimals: int | None = None


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Link:
    title: str
    url: str
    tooltip: str = ""


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    kind: str
    """custom (fixed choices) or query (label_values from Prometheus)."""
    query: str
    current: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    tags: tuple[str, ...]
    rows: tuple[Row, ...]
    variables: tuple[Variable, ...] = ()
    links: tuple[Link, ...] = ()
    description: str = ""
    refresh: str = "1m"
    time_from: str = "now-6h"
    extra: dict = field(default_factory=dict)


def _ref_id(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def stable_id(*parts: str, taken: set[int]) -> int:
    """A positive int from names; on the (unlikely) collision, the next free number, the same on every run."""
    digest = int(hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:8], 16) % MAX_PANEL_ID or 1
    while digest in taken:
        digest = digest % MAX_PANEL_ID + 1
    taken.add(digest)
    return digest


def _datasource(kind: str):
    from grafana_foundation_sdk.models.dashboard import DataSourceRef
    uid = names.DATASOURCE_PROMETHEUS_UID if kind == PROMETHEUS else names.DATASOURCE_TEMPO_UID
    return DataSourceRef(type_val=kind, uid=uid)


def _target(query: Query, index: int):
    if query.datasource == TEMPO:
        from grafana_foundation_sdk.builders import tempo
        return (tempo.TempoQuery().query(query.expr).query_type("traceql").limit(20).ref_id(_ref_id(index))
                .datasource(_datasource(TEMPO)))
    from grafana_foundation_sdk.builders import prometheus
    target = prometheus.Dataquery().expr(query.expr).ref_id(_ref_id(index)).datasource(_datasource(PROMETHEUS))
    if query.legend:
        target = target.legend_format(query.legend)
    if query.instant:
        target = target.instant()
    else:
        target = target.range()
    if query.heatmap:
        target = target.format("heatmap")
    if query.exemplar:
        target = target.exemplar(True)
    return target


def _builder(kind: str):
    from grafana_foundation_sdk.builders import gauge, heatmap, stat, table, timeseries
    return {"timeseries": timeseries.Panel, "stat": stat.Panel, "gauge": gauge.Panel, "heatmap": heatmap.Panel,
            "table": table.Panel}[kind]()


def _panel(spec: Panel, panel_id: int):
    from grafana_foundation_sdk.builders import common, dashboard as sdk
    from grafana_foundation_sdk.models.common import GraphThresholdsStyleMode
    from grafana_foundation_sdk.models.dashboard import Threshold as SdkThreshold, ThresholdsMode

    builder = _builder(spec.kind).id(panel_id).title(spec.title).span(spec.span).height(spec.height)
    builder = builder.datasource(_datasource(spec.queries[0].datasource))
    if spec.description:
        builder = builder.description(spec.description)
    if spec.unit:
        builder = builder.unit(spec.unit)
    if spec.min is not None:
        builder = builder.min(spec.min)
    if spec.max is not None:
        builder = builder.max(spec.max)
    if spec.decimals is not None:
        builder = builder.decimals(spec.decimals)
    if spec.thresholds:
        steps = [SdkThreshold(value=t.value, color=t.color) for t in spec.thresholds]
        builder = builder.thresholds(sdk.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps))
    if spec.threshold_lines and spec.kind == "timeseries":
        builder = builder.thresholds_style(common.GraphThresholdsStyleConfig().mode(
            GraphThresholdsStyleMode.LINE))
    for index, query in enumerate(spec.queries):
        builder = builder.with_target(_target(query, index))
    return _options(spec.kind, builder)


def _options(kind: str, builder):
    """Every panel gets its kind's display options (Grafana and the SDK's own decoder expect an object)."""
    from grafana_foundation_sdk.builders import common, heatmap
    from grafana_foundation_sdk.models.common import (BigValueColorMode, BigValueGraphMode, LegendDisplayMode,
                                                      LegendPlacement, SortOrder, TooltipDisplayMode)
    from grafana_foundation_sdk.models.heatmap import HeatmapColorMode

    last_value = common.ReduceDataOptions().calcs(["lastNotNull"]).values(False)
    if kind == "timeseries":
        return (builder.legend(common.VizLegendOptions().show_legend(True).display_mode(LegendDisplayMode.LIST)
                               .placement(LegendPlacement.BOTTOM).calcs([]))
                .tooltip(common.VizTooltipOptions().mode(TooltipDisplayMode.MULTI).sort(SortOrder.DESCENDING))
                .line_width(1).fill_opacity(10))
    if kind == "stat":
        return (builder.reduce_options(last_value).graph_mode(BigValueGraphMode.AREA)
                .color_mode(BigValueColorMode.VALUE))
    if kind == "gauge":
        return builder.reduce_options(last_value).show_threshold_markers(True)
    if kind == "heatmap":
        return (builder.calculate(False).color(heatmap.HeatmapColorOptions().mode(HeatmapColorMode.SCHEME)
                                               .scheme("Oranges"))
                .hide_from(common.HideSeriesConfig().legend(False).tooltip(False).viz(False)))
    return builder.show_header(True)


def _encode(model) -> str:
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    return json.dumps(model, cls=JSONEncoder, sort_keys=True)


def sdk_panel_json(spec: Panel, panel_id: int) -> dict:
    """A panel's JSON as the SDK builds it, every field from the spec (the reference `_panel_json` must equal)."""
    return json.loads(_encode(_panel(spec, panel_id).build()))


_SLOT = "\x00slot\x00"
"""Stands for a text that differs between panels of the same shape; the SDK copies texts through unchanged."""


def _text_key(query: Query) -> str:
    return "query" if query.datasource == TEMPO else "expr"


def _shape(spec: Panel) -> Panel:
    """The panel with its free texts (title, description, query texts, legends) replaced by one slot."""
    queries = tuple(dataclasses.replace(q, expr=_SLOT, legend=_SLOT if q.legend else "") for q in spec.queries)
    return dataclasses.replace(spec, title=_SLOT, description=_SLOT if spec.description else "", queries=queries)


@functools.lru_cache(maxsize=1024)
def _prototype(shape: Panel) -> dict:
    return sdk_panel_json(shape, 1)


@functools.lru_cache(maxsize=8192)
def _panel_json(spec: Panel, panel_id: int) -> dict:
    """A panel's JSON before it is placed on the grid: the SDK's build of its shape (once per distinct shape:
    building with the SDK is the costly part of a compile) with the panel's own id and texts put in. Equal to
    `sdk_panel_json(spec, panel_id)` (tests/observability holds that for every panel of the examples). The dict
    is shared between dashboards: never modify it (`_placed` copies the one key that differs)."""
    panel = dict(_prototype(_shape(spec)))
    panel["id"] = panel_id
    panel["title"] = spec.title
    if spec.description:
        panel["description"] = spec.description
    targets = []
    for target, query in zip(panel["targets"], spec.queries):
        target = {**target, _text_key(query): query.expr}
        if query.legend:
            target["legendFormat"] = query.legend
        targets.append(target)
    panel["targets"] = targets
    return panel


@functools.lru_cache(maxsize=2048)
def _row_json(title: str, row_id: int) -> dict:
    from grafana_foundation_sdk.builders import dashboard as sdk
    return json.loads(_encode(sdk.Row(title).id(row_id).build()))


def _placed(shared: dict, grid: dict) -> dict:
    return {**shared, "gridPos": grid}


def _grid(spec: Dashboard) -> list[dict]:
    """Rows and panels placed on Grafana's 24-column grid, left to right and wrapping, each row below the
    tallest panel of the previous one (the SDK's own `with_row`/`with_panel` placement)."""
    placed: list[dict] = []
    taken: set[int] = set()
    x = y = tallest = 0
    for row in spec.rows:
        if not row.panels:
            continue
        row_y = y + tallest
        placed.append(_placed(_row_json(row.title, stable_id(spec.uid, row.title, taken=taken)),
                              {"h": 1, "w": 24, "x": 0, "y": row_y}))
        x, y, tallest = 0, row_y + 1, 0
        for panel in row.panels:
            if not panel.queries:
                raise ValueError(f"dashboard {spec.uid}: panel '{panel.title}' has no query")
            shared = _panel_json(panel, stable_id(spec.uid, row.title, panel.title, taken=taken))
            grid = {**shared["gridPos"], "x": x, "y": y}
            placed.append(_placed(shared, grid))
            x += grid["w"]
            tallest = max(tallest, grid["h"])
            if x >= 24:
                x, y, tallest = 0, y + tallest, 0
    return placed


def render_dashboard(spec: Dashboard) -> dict:
    """The dashboard as Grafana JSON (a dict with sorted keys once serialised). Panels share nested values
    with other dashboards: serialise the result, do not modify it."""
    from grafana_foundation_sdk.builders import dashboard as sdk
    from grafana_foundation_sdk.models.dashboard import DashboardLinkType, VariableOption

    builder = (sdk.Dashboard(spec.title).uid(spec.uid).tags(list(spec.tags)).refresh(spec.refresh)
               .time(spec.time_from, "now").timezone("utc").readonly())
    if spec.description:
        builder = builder.description(spec.description)
    for var in spec.variables:
        current = VariableOption(text=var.current, value=var.current, selected=True)
        if var.kind == "custom":
            variable = sdk.CustomVariable(var.name).label(var.label).values(",".join(var.choices)).current(current)
        else:
            variable = (sdk.QueryVariable(var.name).label(var.label).query(var.query)
                        .datasource(_datasource(PROMETHEUS)).current(current).refresh(_on_load()))
        builder = builder.with_variable(variable)
    for link in spec.links:
        builder = builder.link(sdk.DashboardLink(link.title).type(DashboardLinkType.LINK).url(link.url)
                               .tooltip(link.tooltip or link.title).target_blank(True).keep_time(True))
    dashboard = json.loads(_encode(builder.build()))
    dashboard["schemaVersion"] = names.GRAFANA_SCHEMA_VERSION
    dashboard["panels"] = _grid(spec)
    return dashboard


def _on_load():
    from grafana_foundation_sdk.models.dashboard import VariableRefresh
    return VariableRefresh.ON_DASHBOARD_LOAD


def panels(dashboard_json: dict) -> list[dict]:
    """Every non-row panel of rendered dashboard JSON."""
    out = []
    for panel in dashboard_json.get("panels", []):
        if panel.get("type") == "row":
            out.extend(panel.get("panels", []))
        else:
            out.append(panel)
    return out
