"""The platform layer: kustomize builds it per environment, chart values use documented keys only, and
Alertmanager (amtool, and a real Alertmanager for inhibition) accepts and applies the generated routing."""
from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import jsonschema
import pytest
import yaml

from compiler import conventions as names
from compiler.emitters.platform_charts import charts
from tests.tools import REPO, require_tool, run_tool, stop_process

SCHEMAS = REPO / "tests" / "schemas"
PINNED = re.compile(r"^\d+\.\d+\.\d+$")


def _built(output: Path, env: str) -> list[dict]:
    kubectl = require_tool("kubectl")
    result = run_tool([kubectl, "kustomize", str(output / names.platform_dir(env))])
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


@pytest.fixture(scope="module")
def platform(project, output) -> dict[str, list[dict]]:
    return {env.name: _built(output, env.name) for env in project.environments}


def _release(docs: list[dict], name: str) -> dict:
    return next(d for d in docs if d["kind"] == "HelmRelease" and d["metadata"]["name"] == name)


def test_kustomize_builds_the_platform_layer_for_every_environment(platform, project):
    for env, docs in platform.items():
        kinds = [d["kind"] for d in docs]
        releases = {d["metadata"]["name"]: d for d in docs if d["kind"] == "HelmRelease"}
        assert set(releases) == {c.release for c in charts(project.config.spec.monitoringNamespace)}, env
        repos = {d["metadata"]["name"] for d in docs if d["kind"] == "HelmRepository"}
        namespaces = {d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"}
        for release in releases.values():
            spec = release["spec"]
            assert release["apiVersion"] == names.HELM_RELEASE_API
            assert PINNED.match(spec["chart"]["spec"]["version"]), "chart versions are pinned exactly"
            assert spec["chart"]["spec"]["sourceRef"]["name"] in repos
            assert spec["targetNamespace"] in namespaces
            for dependency in spec.get("dependsOn", []):
                assert dependency["name"] in releases
        assert all(d["apiVersion"] == names.HELM_REPOSITORY_API for d in docs if d["kind"] == "HelmRepository")
        assert kinds.count("ConfigMap") >= 1, "the overview dashboard ships with the platform layer"


def test_sizing_follows_the_environment(platform, project):
    cfg = project.config.spec.platform
    for env, docs in platform.items():
        sizing = cfg.sizing(env)
        prometheus = _release(docs, "kube-prometheus-stack")["spec"]["values"]["prometheus"]["prometheusSpec"]
        assert prometheus["retention"] == sizing.retention
        assert prometheus["replicas"] == sizing.replicas
        claim = prometheus["storageSpec"]["volumeClaimTemplate"]["spec"]
        assert claim["storageClassName"] == cfg.storageClass
        assert claim["resources"]["requests"]["storage"] == str(sizing.storage)
        assert _release(docs, "tempo")["spec"]["values"]["tempo"]["retention"] == sizing.traceRetention
    assert cfg.sizing("prod") != cfg.sizing("dev"), "the example sizes production differently"


def test_prometheus_selects_our_service_monitors_and_rules(platform, documents):
    values = _release(platform["prod"], "kube-prometheus-stack")["spec"]["values"]
    spec = values["prometheus"]["prometheusSpec"]
    assert spec["serviceMonitorSelector"] == {} and spec["serviceMonitorNamespaceSelector"] == {}
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False
    selector = spec["ruleSelector"]["matchLabels"]
    rules = [d for d in documents.values() if d.get("kind") == "PrometheusRule"]
    assert rules, "the examples have SLO rules"
    for rule in rules:
        assert selector.items() <= rule["metadata"]["labels"].items(), rule["metadata"]["name"]
    assert "exemplar-storage" in spec["enableFeatures"]
    grafana = values["grafana"]
    assert grafana["sidecar"]["dashboards"]["label"] == names.DASHBOARD_LABEL
    assert grafana["sidecar"]["dashboards"]["folderAnnotation"] == names.DASHBOARD_FOLDER_ANNOTATION
    exemplars = grafana["sidecar"]["datasources"]["exemplarTraceIdDestinations"]
    assert exemplars["datasourceUid"] == names.DATASOURCE_TEMPO_UID
    assert [s["uid"] for s in grafana["additionalDataSources"]] == [names.DATASOURCE_TEMPO_UID]


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_helm_values_use_only_documented_chart_keys(platform, env):
    checked = 0
    for release in (d for d in platform[env] if d["kind"] == "HelmRelease"):
        chart = release["spec"]["chart"]["spec"]["chart"]
        schema = json.loads((SCHEMAS / f"{chart}.schema.json").read_text())
        assert chart in schema["title"] and release["spec"]["chart"]["spec"]["version"] in schema["title"], \
            "the schema records the keys of the pinned chart version"
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in jsonschema.Draft202012Validator(schema).iter_errors(release["spec"]["values"])]
        assert errors == [], chart
        checked += 1
    assert checked == 6


def test_a_misspelt_chart_key_is_caught(platform):
    release = _release(platform["prod"], "kube-prometheus-stack")
    values = json.loads(json.dumps(release["spec"]["values"]))
    values["prometheus"]["prometheusSpec"]["retentionTime"] = "1d"
    schema = json.loads((SCHEMAS / "kube-prometheus-stack.schema.json").read_text())
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(values))


def test_flux_reconciles_the_platform_before_every_service(documents, project):
    for env in project.environments:
        cluster = names.cluster_dir(env.name)
        platform = documents[f"{cluster}/{names.PLATFORM_DIR}.yaml"]
        assert platform["metadata"]["name"] == names.PLATFORM_KUSTOMIZATION
        assert platform["spec"]["path"].endswith(f"/{names.platform_dir(env.name)}")
        assert "postBuild" not in platform["spec"]
        assert f"{names.PLATFORM_DIR}.yaml" in documents[f"{cluster}/kustomization.yaml"]["resources"]
        for service in project.services:
            spec = documents[f"{cluster}/services/{service.name}.yaml"]["spec"]
            assert {"name": names.PLATFORM_KUSTOMIZATION} in spec["dependsOn"]


def _alertmanager_config(platform, tmp_path: Path) -> Path:
    config = _release(platform["prod"], "kube-prometheus-stack")["spec"]["values"]["alertmanager"]["config"]
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_alertmanager_config_passes_amtool_and_routes_by_severity(platform, project, tmp_path):
    amtool = require_tool("amtool")
    path = _alertmanager_config(platform, tmp_path)
    check = run_tool([amtool, "check-config", str(path)])
    assert check.returncode == 0, check.stdout + check.stderr
    alerting = project.config.spec.platform.alerting
    cases = {("severity=page", "service=checkout", "slo=availability"): f"{names.AIOPS_SERVICE},{alerting.page.name}",
             ("severity=ticket", "service=checkout", "slo=availability"):
                 f"{names.AIOPS_SERVICE},{alerting.ticket.name}",
             ("severity=critical", "alertname=KubePodCrashLooping"): f"{names.AIOPS_SERVICE},{alerting.page.name}",
             ("severity=warning", "alertname=KubeHpaMaxedOut"): f"{names.AIOPS_SERVICE},{alerting.ticket.name}",
             ("severity=info", "alertname=ModelDriftHigh"): names.AIOPS_SERVICE,
             ("alertname=Watchdog",): names.RECEIVER_BLACKHOLE}
    for labels, receivers in cases.items():
        result = run_tool([amtool, "config", "routes", "test", f"--config.file={path}", *labels])
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == receivers, labels
    aiops = next(r for r in yaml.safe_load(path.read_text())["receivers"] if r["name"] == names.AIOPS_SERVICE)
    assert aiops["webhook_configs"][0]["url"] == \
        f"http://{names.AIOPS_SERVICE}.{alerting.aiops.namespace}.svc:{names.AIOPS_PORT}{names.AIOPS_ALERTS_PATH}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(url: str, body: object | None = None) -> object:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as response:
        payload = response.read()
    return json.loads(payload) if payload else None


@pytest.mark.e2e
def test_a_page_inhibits_the_ticket_of_the_same_slo_in_a_real_alertmanager(platform, tmp_path):
    binary = require_tool("alertmanager")
    path = _alertmanager_config(platform, tmp_path)
    port = _free_port()
    process = subprocess.Popen([binary, f"--config.file={path}", f"--storage.path={tmp_path / 'data'}",
                                f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/api/v2"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                _request(f"{base}/status")
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "alertmanager did not start"
                time.sleep(0.2)

        def alert(name: str, severity: str, slo: str) -> dict:
            return {"labels": {"alertname": name, names.LABEL_SEVERITY: severity, names.SLO_LABEL_SERVICE: "checkout",
                               names.SLO_LABEL_SLO: slo}}

        _request(f"{base}/alerts", [alert(names.ALERT_BURN_PAGE, names.SEVERITY_PAGE, "availability"),
                                    alert(names.ALERT_BURN_TICKET, names.SEVERITY_TICKET, "availability"),
                                    alert(names.ALERT_BURN_TICKET, names.SEVERITY_TICKET, "latency")])
        deadline = time.monotonic() + 10
        while True:
            states = {(a["labels"]["alertname"], a["labels"][names.SLO_LABEL_SLO]): bool(a["status"]["inhibitedBy"])
                      for a in _request(f"{base}/alerts")}
            if states.get((names.ALERT_BURN_TICKET, "availability")) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert states == {(names.ALERT_BURN_PAGE, "availability"): False,
                          (names.ALERT_BURN_TICKET, "availability"): True,
                          (names.ALERT_BURN_TICKET, "latency"): False}
    finally:
        stop_process(process, timeout=10)


@pytest.mark.parametrize("old, new, message", [
    ("traceRetention: 48h", "traceRetention: 2d", "'2d' is not a Go duration"),
    ("      prod: {retention: 30d", "      qa: {retention: 30d", "unknown environment(s) qa"),
    ("ticket: {name: tickets", "ticket: {name: pagerduty", "both named 'pagerduty'"),
])
def test_a_bad_platform_section_is_a_clear_error(tmp_path, old, new, message):
    specs = tmp_path / "specs"
    shutil.copytree(REPO / "specs", specs)
    config = specs / "platform-config.yaml"
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new))
    result = run_tool([str(REPO / ".venv" / "bin" / "platformc"), "validate", "--specs", str(specs)])
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    line = next(line for line in result.stderr.splitlines() if message in line)
    number = int(re.search(r"platform-config\.yaml:(\d+):\d+:", line).group(1))
    lines = config.read_text().splitlines()
    assert number > lines.index("  platform:"), "the diagnostic points into the platform section"


def test_services_send_spans_to_the_platform_collector(platform, documents, project):
    collector = _release(platform["prod"], names.OTEL_COLLECTOR_SERVICE)["spec"]
    receivers = collector["values"]["config"]["receivers"]["otlp"]["protocols"]
    assert receivers["http"]["endpoint"].endswith(f":{names.OTLP_HTTP_PORT}")
    assert collector["releaseName"] == names.OTEL_COLLECTOR_SERVICE
    endpoint = (f"http://{names.OTEL_COLLECTOR_SERVICE}.{project.config.spec.monitoringNamespace}.svc:"
                f"{names.OTLP_HTTP_PORT}")
    for service in project.services:
        deployment = documents[f"{names.service_dir(service.name)}/base/deployment-{service.name}.yaml"]
        env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == endpoint
        assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
        assert env["OTEL_SERVICE_NAME"] == service.name
    pipelines = collector["values"]["config"]["service"]["pipelines"]
    assert "otlp/tempo" in pipelines["traces"]["exporters"] and "spanmetrics" in pipelines["traces"]["exporters"]
    assert pipelines["metrics/spanmetrics"]["exporters"] == ["prometheusremotewrite"]
