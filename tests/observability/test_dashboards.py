"""Dashboards: valid current Grafana JSON, every query parses, every series read is one the platform records."""
from __future__ import annotations

import json
import re

import pytest
import yaml

from compiler import conventions as names
from compiler.api import compile_specs
from compiler.emitters import dashboard_panels, dashboards as dash
from compiler.emitters.dashboard_panels import Panel, Query, Row
from compiler.plan import env_targets
from tests.observability.conftest import panel_targets
from tests.observability.promql import fill_variables, metrics_read
from tests.tools import REPO, require_tool, run_tool

PANEL_KINDS = {"timeseries", "stat", "gauge", "heatmap", "table"}
VARIABLES = {"namespace": "payments", "environment": "prod"}


def _sdk_schema_version() -> int:
    from grafana_foundation_sdk.models.dashboard import Dashboard
    return Dashboard().schema_version


def _overrides(panel: dict) -> list[dict]:
    own = panel.get("fieldConfig", {}).get("overrides", [])
    return own + [o for child in panel.get("panels", []) for o in _overrides(child)]


def _prometheus_exprs(found) -> list[str]:
    return [target["expr"] for d in found for panel, target in panel_targets(d.json)
            if panel["datasource"]["type"] == "prometheus"]


def test_every_service_has_one_dashboard_per_environment(project, dashboards):
    per_service = [d for d in dashboards if d.path.startswith("services/")]
    expected = {(s.name, e.name) for s in project.services for e in project.environments}
    seen = {(d.path.split("/")[1], d.path.split("/")[3]) for d in per_service}
    assert seen == expected
    overview = [d for d in dashboards if d.path.startswith(f"{names.PLATFORM_DIR}/")]
    assert {d.path.split("/")[1] for d in overview} == {e.name for e in project.environments}


def test_dashboards_are_current_grafana_json_with_unique_ids_and_targets(dashboards):
    for found in dashboards:
        board = found.json
        assert board["schemaVersion"] == names.GRAFANA_SCHEMA_VERSION, found.path
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", board["uid"]), board["uid"]
        ids = [p["id"] for p in board["panels"]] + [c["id"] for p in board["panels"] for c in p.get("panels", [])]
        assert len(ids) == len(set(ids)), f"{found.path}: duplicate panel ids"
        assert all(isinstance(i, int) and i > 0 for i in ids)
        panels = [p for p in board["panels"] if p["type"] != "row"]
        assert panels, found.path
        for panel in panels:
            assert panel["type"] in PANEL_KINDS, panel["type"]
            assert panel.get("targets"), f"{found.path}: panel '{panel['title']}' has no target"
            ref_ids = [t["refId"] for t in panel["targets"]]
            assert len(ref_ids) == len(set(ref_ids)) and all(ref_ids)
            assert panel["datasource"]["uid"] in (names.DATASOURCE_PROMETHEUS_UID, names.DATASOURCE_TEMPO_UID)
        variables = {v["name"] for v in board["templating"]["list"]}
        assert "environment" in variables, found.path


def test_grafana_has_nothing_to_migrate_between_the_sdk_schema_and_ours(dashboards):
    """The SDK's types stop at schema 41. Grafana's only 41 -> 42 migration sets `hideFrom.tooltip` wherever a
    field override hides a series from the visualisation: no dashboard may depend on it."""
    assert _sdk_schema_version() == 41 < names.GRAFANA_SCHEMA_VERSION == 42, \
        "the SDK moved: re-read Grafana's schema migrations between its version and ours"
    for found in dashboards:
        assert not any(_migrated_by_grafana_42(panel) for panel in found.json["panels"]), found.path
    hidden = {"id": "custom.hideFrom", "value": {"viz": True}}
    assert _migrated_by_grafana_42({"type": "row", "panels": [
        {"fieldConfig": {"overrides": [{"matcher": {"id": "byName"}, "properties": [hidden]}]}}]})


def _migrated_by_grafana_42(panel: dict) -> bool:
    for override in _overrides(panel):
        for prop in override.get("properties", []):
            hidden = prop.get("value") if prop.get("id") == "custom.hideFrom" else None
            if isinstance(hidden, dict) and hidden.get("viz") and not hidden.get("tooltip"):
                return True
    return False


def test_every_panel_equals_the_sdks_own_build_of_it(project, monkeypatch):
    """Panels are built by the SDK once per shape and get their own texts put in: for every panel of the
    examples (each environment, the overview too) that must equal building the panel itself with the SDK."""
    seen: list[tuple[Panel, int]] = []
    built = dashboard_panels._panel_json

    def recording(spec: Panel, panel_id: int) -> dict:
        seen.append((spec, panel_id))
        return built(spec, panel_id)

    monkeypatch.setattr(dashboard_panels, "_panel_json", recording)
    for service in project.services:
        for target in env_targets(project, service):
            dash.service_dashboard_json(target)
    dash.overview_dashboard_json(project, project.environments[0].name)
    kinds = {spec.kind for spec, _ in seen}
    assert kinds == PANEL_KINDS and any(q.legend for spec, _ in seen for q in spec.queries)
    for spec, panel_id in seen:
        assert built.__wrapped__(spec, panel_id) == \
            dashboard_panels.sdk_panel_json(spec, panel_id), spec.title


def test_the_sdk_types_decode_every_dashboard_unchanged(dashboards):
    """Grafana's own typed models (grafana-foundation-sdk) read each dashboard back to the same JSON."""
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.cog.plugins import register_default_plugins
    from grafana_foundation_sdk.models.dashboard import Dashboard
    register_default_plugins()
    for found in dashboards:
        decoded = Dashboard.from_json(found.json)
        assert json.loads(json.dumps(decoded, cls=JSONEncoder, sort_keys=True)) == found.json, found.path


def test_service_dashboards_have_the_issue_rows_and_trace_links(dashboards, project):
    checkout = next(d.json for d in dashboards if d.path == "services/checkout/overlays/prod/"
                                                            "configmap-checkout-dashboard.yaml")
    rows = [p["title"] for p in checkout["panels"] if p["type"] == "row"]
    assert rows[:2] == ["Traffic", "Latency"]
    assert {"Autoscaling", "Pods", "Nodes", "Traces"} <= set(rows)
    spec = next(s for s in project.services if s.name == "checkout").envs["prod"]
    assert len([r for r in rows if r.startswith("SLO ")]) == len(spec.slos) > 0
    types = {p["type"] for p in checkout["panels"]}
    assert {"heatmap", "timeseries", "stat", "gauge", "table"} <= types
    assert any("explore" in link["url"] and "tempo" in link["url"] for link in checkout["links"])
    assert any(t.get("exemplar") for _, t in panel_targets(checkout))
    assert {v["name"] for v in checkout["templating"]["list"]} == {"environment", "namespace"}


def test_every_promql_expression_parses_in_promtool(dashboards, tmp_path):
    promtool = require_tool("promtool")
    exprs = sorted(set(_prometheus_exprs(dashboards)))
    assert len(exprs) > 20
    rules = [{"record": f"dashboard:query_{i}:check", "expr": fill_variables(e, VARIABLES)}
             for i, e in enumerate(exprs)]
    scratch = tmp_path / "dashboard-queries.rules.yaml"
    scratch.write_text(yaml.safe_dump({"groups": [{"name": "dashboard-queries", "rules": rules}]}))
    result = run_tool([promtool, "check", "rules", str(scratch)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout


def test_promtool_rejects_a_broken_query(tmp_path):
    promtool = require_tool("promtool")
    scratch = tmp_path / "broken.rules.yaml"
    scratch.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [
        {"record": "broken:query", "expr": "sum(rate(http_requests_total[5m])"}]}]}))
    assert run_tool([promtool, "check", "rules", str(scratch)]).returncode != 0


def test_every_series_a_panel_reads_is_recorded_or_exported(dashboards, recorded_series):
    known = recorded_series | names.EXPORTED_METRICS
    unknown = {}
    for expr in _prometheus_exprs(dashboards):
        for metric in metrics_read(expr) - known:
            unknown.setdefault(metric, expr)
    assert unknown == {}, "panels read series nothing records or exports"
    slo_reads = {m for e in _prometheus_exprs(dashboards) for m in metrics_read(e) if m.startswith("slo:")}
    assert slo_reads and slo_reads <= recorded_series


def test_metric_reader_finds_series_and_skips_functions_and_labels():
    expr = ('(sum by (route) (rate(http_requests_total{code=~"5.."}[5m])) or vector(0)) '
            '/ on(service) group_left() slo:error_budget:ratio{slo="a"}')
    assert metrics_read(expr) == {"http_requests_total", "slo:error_budget:ratio"}


def test_dashboard_json_survives_kustomize_byte_for_byte(project, output, dashboards):
    kubectl = require_tool("kubectl")
    checked = 0
    for service in project.services:
        for target in env_targets(project, service):
            folder = output / names.overlay_dir(service.name, target.env.name)
            result = run_tool([kubectl, "kustomize", str(folder)])
            assert result.returncode == 0, result.stderr
            built = [d for d in yaml.safe_load_all(result.stdout) if d and d["kind"] == "ConfigMap"
                     and d["metadata"]["labels"].get(names.DASHBOARD_LABEL) == names.DASHBOARD_LABEL_VALUE]
            assert len(built) == 1
            expected = dash.dashboard_text(dash.service_dashboard_json(target))
            assert built[0]["data"][f"{service.name}.json"] == expected
            annotations = built[0]["metadata"]["annotations"]
            assert annotations[names.FLUX_SUBSTITUTE_ANNOTATION] == "disabled"
            assert annotations[names.DASHBOARD_FOLDER_ANNOTATION] == service.team
            assert "${" in expected or "$namespace" in expected
            checked += 1
    assert checked == len(project.services) * len(project.environments)


def test_no_flux_kustomization_substitutes_variables(documents):
    flux = [d for d in documents.values() if d.get("kind") == "Kustomization"
            and d.get("apiVersion") == names.FLUX_KUSTOMIZATION_API]
    assert flux
    assert [d["metadata"]["name"] for d in flux if "postBuild" in d["spec"]] == []


def test_uids_and_panel_ids_are_stable_across_compiles(tmp_path, dashboards):
    again = tmp_path / "again"
    compile_specs(REPO / "specs", again)
    for found in dashboards:
        doc = yaml.safe_load((again / found.path).read_text())
        assert doc["data"][found.key] == found.text, f"{found.path} changed on recompile"
    second = compile_specs(REPO / "specs", again)
    assert not second.changes, "a recompile with no spec change rewrote files"


def test_row_builder_hook_adds_rows_for_a_spec_feature(project, monkeypatch):
    def extra(ctx: dash.DashboardContext) -> list[Row]:
        return [Row("Extra", (Panel("Requests", (Query(
            f"sum(rate({names.HTTP_REQUESTS_TOTAL}{{{ctx.selector}}}[{ctx.rate}]))"),)),))]

    monkeypatch.setitem(dash.ROW_BUILDERS, "scaling", [extra])
    service = next(s for s in project.services if s.envs["prod"].scaling is not None)
    plain = next(s for s in project.services if s.envs["prod"].scaling is None)
    target = next(t for t in env_targets(project, service) if t.env.name == "prod")
    rows = [p["title"] for p in dash.service_dashboard_json(target)["panels"] if p["type"] == "row"]
    assert "Extra" in rows and rows.index("Extra") < rows.index("Traces")
    plain_target = next(t for t in env_targets(project, plain) if t.env.name == "prod")
    assert "Extra" not in [p["title"] for p in dash.service_dashboard_json(plain_target)["panels"]]


def test_a_panel_without_query_is_refused():
    from compiler.emitters.dashboard_panels import Dashboard, render_dashboard
    with pytest.raises(ValueError, match="'p' has no query"):
        render_dashboard(Dashboard("x", "x", (), (Row("r", (Panel("p", ()),)),)))
