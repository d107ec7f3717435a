"""`platformc budget` against a real Prometheus on 127.0.0.1 evaluating the generated SLO rules.

A tiny exporter serves the runtime's HTTP counters of two services: `shop` failing 5% of its requests (far
over a 99.9% budget) and `calm` failing 0.01%. Prometheus scrapes it every second and evaluates the compiled
PrometheusRules every second; the gate then reads the recorded budget series.
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from compiler import conventions as names
from tests.promtool.rulegen import prometheus_rule, service_spec
from tests.tools import REPO, require_tool, stop_process

pytestmark = pytest.mark.e2e
TRAFFIC = {("shop", "web"): (200.0, 0.05), ("calm", "ops"): (200.0, 0.0001)}
"""(service, team) -> (requests per second, error ratio)."""
READY_TIMEOUT = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Exporter(BaseHTTPRequestHandler):
    started = time.monotonic()

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        elapsed = time.monotonic() - self.started
        service = self.path.strip("/")
        lines = [f"# TYPE {names.HTTP_REQUESTS_TOTAL} counter"]
        for (name, _), (rps, bad) in TRAFFIC.items():
            if name == service:
                lines.append(f'{names.HTTP_REQUESTS_TOTAL}{{code="200"}} {rps * (1 - bad) * elapsed:.3f}')
                lines.append(f'{names.HTTP_REQUESTS_TOTAL}{{code="500"}} {rps * bad * elapsed:.3f}')
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        return


def _query(url: str, expr: str) -> list:
    with urllib.request.urlopen(f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}), timeout=5) as r:
        return json.load(r)["data"]["result"]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    binary = require_tool("prometheus")
    folder = tmp_path_factory.mktemp("budget-gate")
    exporter = ThreadingHTTPServer(("127.0.0.1", 0), _Exporter)
    threading.Thread(target=exporter.serve_forever, daemon=True).start()
    rule_files, scrapes = [], []
    for (service, team) in TRAFFIC:
        spec = service_spec([{"name": "availability", "objective": 99.9, "sli": {"availability": {}}}],
                            {"freezeDeploysBelow": 10, "chaosRequiresAbove": 25}, name=service, team=team)
        rule = prometheus_rule(folder / service, spec)
        path = folder / f"{service}.rules.yaml"
        path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
        rule_files.append(str(path))
        scrapes.append({"job_name": service, "metrics_path": f"/{service}",
                        "static_configs": [{"targets": [f"127.0.0.1:{exporter.server_port}"],
                                            "labels": {"namespace": team}}]})
    config = folder / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                                      "rule_files": rule_files, "scrape_configs": scrapes}))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (folder / "prometheus.log").open("w")
    proc = subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if len(_query(url, names.SLO_BUDGET_REMAINING)) == len(TRAFFIC):
                    break
            except OSError:
                pass
            if proc.poll() is not None:
                pytest.fail(f"prometheus exited: {(folder / 'prometheus.log').read_text()[-2000:]}")
            time.sleep(0.5)
        else:
            pytest.fail(f"no budget series after {READY_TIMEOUT}s: {(folder / 'prometheus.log').read_text()[-2000:]}")
        yield url
    finally:
        stop_process(proc, timeout=20)
        exporter.shutdown()
        log.close()


def _gate(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "from compiler.cli import main; main()", "budget", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=60)


def test_budget_series_are_recorded_with_their_labels(prometheus):
    series = _query(prometheus, f'{names.SLO_BUDGET_REMAINING}{{service="shop"}}')
    assert [s["metric"] for s in series] == [{"__name__": names.SLO_BUDGET_REMAINING, "environment": "dev",
                                              "service": "shop", "slo": "availability", "team": "web"}]
    assert float(series[0]["value"][1]) < 0


def test_gate_fails_when_a_budget_is_below_the_freeze_threshold(prometheus):
    result = _gate("--prometheus", prometheus)
    assert result.returncode == 1, result.stderr
    table = result.stdout.splitlines()
    assert table[0].split() == ["SERVICE", "ENV", "SLO", "BUDGET", "LEFT", "FREEZE", "BELOW", "STATUS"]
    rows = {line.split()[0]: line.split() for line in table[1:]}
    assert rows["shop"][-1] == "FROZEN" and rows["shop"][4] == "10.00%"
    assert rows["calm"][-1] == "ok"
    assert "deploys frozen: shop/availability in dev" in result.stderr


def test_gate_passes_for_a_service_with_budget_left(prometheus):
    result = _gate("--prometheus", prometheus, "--service", "calm", "--env", "dev")
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["SERVICE", "calm"]


def test_gate_exits_2_when_nothing_is_recorded_for_the_service(prometheus):
    result = _gate("--prometheus", prometheus, "--service", "absent")
    assert result.returncode == 2
    assert "no slo:error_budget_remaining:ratio series for service absent" in result.stderr


def test_gate_exits_2_when_prometheus_cannot_be_reached():
    result = _gate("--prometheus", f"http://127.0.0.1:{_free_port()}")
    assert result.returncode == 2
    assert "cannot query Prometheus" in result.stderr
    assert "Traceback" not in result.stderr
