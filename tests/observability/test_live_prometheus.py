"""A real Prometheus on 127.0.0.1 loads the generated recording rules, scrapes a process exporting the
runtime's HTTP and LLM metrics, and every panel query of the checkout and assistant dashboards (HTTP, SLO and
LLM rows) and of the platform overview that reads those series returns numbers: no empty panel, no NaN.

Panels that read only what cluster components export (kube-state-metrics, cAdvisor, node-exporter, ALERTS)
cannot have data here; the test lists them and checks they read nothing else.
"""
from __future__ import annotations

import json
import math
import random
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from compiler import conventions as names
from tests.observability.conftest import panel_targets
from tests.observability.promql import fill_variables, metrics_read
from tests.tools import require_tool, run_tool, stop_process

pytestmark = pytest.mark.e2e

SERVICE, TEAM, ENV = "checkout", "payments", "prod"
LLM_SERVICE, LLM_TEAM = "assistant", "support"
LLM_GATEWAY = names.llm_gateway_name(LLM_SERVICE)
TRAFFIC_SECONDS = 60
READY_TIMEOUT = 20
SERIES_TIMEOUT = 15
"""A series first needs two scrapes and a rule evaluation (or a chain of them) before a query sees it."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Exporter:
    """The runtime's standard metrics on 127.0.0.1, with a bounded background stream of requests."""

    def __init__(self, llm: bool) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        self.registry = CollectorRegistry()
        self.requests = Counter(names.HTTP_REQUESTS_TOTAL.removesuffix("_total"), "requests",
                                ("method", "route", "code"), registry=self.registry)
        self.duration = Histogram(names.HTTP_REQUEST_DURATION, "duration", ("method", "route"),
                                  buckets=names.HTTP_REQUEST_DURATION_BUCKETS, registry=self.registry)
        self.llm = llm
        if llm:
            self.llm_requests = Counter(names.METRIC_LLM_REQUESTS.removesuffix("_total"), "calls",
                                        ("model", "prompt", "prompt_version", "status"), registry=self.registry)
            self.tokens = Counter(names.METRIC_LLM_TOKENS.removesuffix("_total"), "tokens",
                                  ("model", "type", "prompt", "prompt_version"), registry=self.registry)
            self.latency = Histogram(names.METRIC_LLM_LATENCY, "latency", ("model",), registry=self.registry,
                                     buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
            self.ttft = Histogram(names.METRIC_LLM_TTFT, "first token", ("model",), registry=self.registry,
                                  buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10))
            self.cost = Counter(names.METRIC_LLM_COST.removesuffix("_total"), "cost", ("model",),
                                registry=self.registry)
            self.limit = Gauge(names.METRIC_LLM_BUDGET_LIMIT, "limit", ("budget",), registry=self.registry)
            self.remaining = Gauge(names.METRIC_LLM_BUDGET_REMAINING, "remaining", ("budget",), registry=self.registry)
            self.limit.labels(LLM_SERVICE).set(1_000_000)
            self.remaining.labels(LLM_SERVICE).set(1_000_000)
        self.port = _free_port()
        self.stop = threading.Event()
        self.random = random.Random(4)

    def start(self) -> None:
        from prometheus_client import start_http_server
        self.server, self.server_thread = start_http_server(self.port, addr="127.0.0.1", registry=self.registry)
        self.traffic = threading.Thread(target=self._traffic, daemon=True)
        self.traffic.start()

    def _traffic(self) -> None:
        deadline = time.monotonic() + TRAFFIC_SECONDS
        used = 0
        while not self.stop.is_set() and time.monotonic() < deadline:
            for route in ("/v1/checkout", "/healthz"):
                code = "500" if self.random.random() < 0.02 else "200"
                self.requests.labels("POST", route, code).inc()
                self.duration.labels("POST", route).observe(self.random.choice((0.004, 0.02, 0.08, 0.2, 0.4)))
            if self.llm:
                self.llm_requests.labels("gpt-4o-mini", "answer", "3", "200").inc()
                for kind, count in (("prompt", 120), ("completion", 40)):
                    self.tokens.labels("gpt-4o-mini", kind, "answer", "3").inc(count)
                    used += count
                self.latency.labels("gpt-4o-mini").observe(self.random.choice((0.3, 0.8, 1.5)))
                self.ttft.labels("gpt-4o-mini").observe(self.random.choice((0.2, 0.4, 1.5)))
                self.cost.labels("gpt-4o-mini").inc(0.0004)
                self.remaining.labels(LLM_SERVICE).set(1_000_000 - used)
            self.stop.wait(0.05)

    def close(self) -> None:
        self.stop.set()
        self.traffic.join(timeout=5)
        self.server.shutdown()
        self.server.server_close()


def _rules_file(output: Path, folder: Path) -> Path:
    """The PrometheusRules of the chosen services in one environment (as kustomize builds the overlays),
    every group evaluated each second."""
    kubectl = require_tool("kubectl")
    groups = []
    for service in (SERVICE, LLM_SERVICE):
        built = run_tool([kubectl, "kustomize", str(output / names.overlay_dir(service, ENV))])
        assert built.returncode == 0, built.stderr
        for doc in yaml.safe_load_all(built.stdout):
            if doc and doc["kind"] == "PrometheusRule":
                groups += [dict(group, interval="1s") for group in doc["spec"]["groups"]]
    assert groups, "the example services compile to recording rules"
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}))
    return path


def _scrape(job: str, team: str, port: int) -> dict:
    """Static scrape config carrying the labels the operator's ServiceMonitor scrape adds."""
    return {"job_name": job, "scrape_interval": "1s", "static_configs": [{
        "targets": [f"127.0.0.1:{port}"],
        "labels": {names.SERIES_NAMESPACE: team, names.SERIES_SERVICE: job, names.SERIES_POD: f"{job}-5d8f7c9b4-x2k7p",
                   names.SERIES_CONTAINER: job, "endpoint": names.PORT_NAME}}]}


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _query(base: str, expr: str) -> list[dict]:
    answer = _get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert answer["status"] == "success", (expr, answer)
    result = answer["data"]["result"]
    if answer["data"]["resultType"] == "scalar":
        return [{"value": result}]
    return result


@pytest.fixture(scope="module")
def prometheus(output, tmp_path_factory):
    binary = require_tool("prometheus")
    folder = tmp_path_factory.mktemp("prometheus")
    jobs = {SERVICE: (TEAM, Exporter(llm=False)), LLM_SERVICE: (LLM_TEAM, Exporter(llm=False)),
            LLM_GATEWAY: (LLM_TEAM, Exporter(llm=True))}
    exporters = [exporter for _, exporter in jobs.values()]
    for exporter in exporters:
        exporter.start()
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
              "rule_files": [str(_rules_file(output, folder))],
              "scrape_configs": [_scrape(job, team, exporter.port) for job, (team, exporter) in jobs.items()]}
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = _free_port()
    process = subprocess.Popen([binary, f"--config.file={folder / 'prometheus.yml'}",
                                f"--storage.tsdb.path={folder / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        ready = f'{names.SLO_ERROR_RATIO_PERIOD}{{{names.SLO_LABEL_SERVICE}="{SERVICE}"}}'
        while True:
            assert process.poll() is None, "prometheus exited (bad rules or config?)"
            try:
                if len(_query(base, ready)) >= 2 and _query(base, f"rate({names.METRIC_LLM_TOKENS}[1m]) > 0"):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "no recorded SLO series within the time limit"
            time.sleep(0.5)
        yield base
    finally:
        stop_process(process, timeout=10)
        for exporter in exporters:
            exporter.close()


def _checked_queries(dashboards, path: str, recorded: set[str]):
    board = next(d for d in dashboards if d.path == path).json
    live, platform_only = [], []
    for panel, target in panel_targets(board):
        if panel["datasource"]["type"] != "prometheus":
            continue
        read = metrics_read(target["expr"])
        if read <= names.RUNTIME_METRICS | recorded:
            live.append((panel["title"], target["expr"]))
        else:
            assert read <= names.RUNTIME_METRICS | recorded | names.PLATFORM_METRICS, target["expr"]
            platform_only.append(panel["title"])
    return live, platform_only


@pytest.mark.parametrize("path, variables", [
    (f"services/{SERVICE}/overlays/{ENV}/configmap-{SERVICE}-dashboard.yaml", {"namespace": TEAM, "environment": ENV}),
    (f"services/{LLM_SERVICE}/overlays/{ENV}/configmap-{LLM_SERVICE}-dashboard.yaml",
     {"namespace": LLM_TEAM, "environment": ENV}),
    (f"{names.PLATFORM_DIR}/{ENV}/configmap-platform-overview-dashboard.yaml", {"environment": ENV}),
])
def test_every_panel_query_returns_numbers(prometheus, dashboards, recorded_series, path, variables):
    live, platform_only = _checked_queries(dashboards, path, recorded_series)
    assert len(live) >= 5
    deadline = time.monotonic() + SERIES_TIMEOUT
    while True:
        empty, nan = [], []
        for title, expr in live:
            result = _query(prometheus, fill_variables(expr, variables))
            if not result:
                empty.append(title)
                continue
            values = [float(r["value"][1]) for r in result]
            if any(math.isnan(v) or math.isinf(v) for v in values):
                nan.append(title)
        if not empty or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert empty == [] and nan == [], f"empty: {empty}; NaN: {nan}"
    assert all(title for title in platform_only)
