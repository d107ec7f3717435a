"""End to end: the runtime under uvicorn on 127.0.0.1, scraped by a real Prometheus server.

LLM role: two workers behind one `/metrics` (multiprocess mode) forwarding to a real HTTP upstream; the
`llm_*` series must be queryable in Prometheus. AIOps role: Prometheus holds 9 days of backfilled
synthetic history (promtool tsdb create-blocks-from openmetrics); `/train` and `/detect` read it through
range queries, the scheduler exports `aiops_anomaly_score`, `/rca` ranks the metric and finds the deploy.
"""
from __future__ import annotations

import json
import math
import time

import httpx
import numpy as np
import pytest
import yaml

from tests.runtime.conftest import AUTH, TOKEN
from tests.runtime.servers import (free_port, prometheus_query, start_echo_upstream, start_prometheus,
                                   start_runtime, wait_for_query)
from tests.runtime.synthetic import DAY_POINTS, STEP, seasonal, with_spike_and_shift
from tests.tools import require_tool, run_tool

pytestmark = pytest.mark.e2e
TRAIN_DAYS = 7

PROMPT = {"name": "triage", "versions": [
    {"version": "7", "labels": ["production"], "messages": [{"role": "system", "content": "Triage {{what}}."}]}]}


@pytest.fixture
def servers():
    started = []
    yield started
    for process in reversed(started):
        process.stop()


def test_llm_metrics_reach_prometheus(tmp_path, servers):
    prometheus_bin = require_tool("prometheus")
    upstream_port, runtime_port, prom_port = free_port(), free_port(), free_port()
    servers.append(start_echo_upstream(upstream_port, tmp_path / "upstream.log"))
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "triage.yaml").write_text(yaml.safe_dump(PROMPT))
    config = tmp_path / "llm.yaml"
    config.write_text(yaml.safe_dump({
        "server": {"state_dir": str(tmp_path / "state")},
        "llm": {"upstream": {"url": f"http://127.0.0.1:{upstream_port}"}, "prompt_paths": [str(prompts)],
                "prices": {"gpt-test": {"prompt_per_million": 500, "completion_per_million": 1500}},
                "budgets": {"default": "shop", "budgets": [{"name": "shop", "daily_tokens": 100000}],
                            "state_path": str(tmp_path / "state" / "budgets.sqlite")}}}))
    multiproc = tmp_path / "prom-multiproc"
    multiproc.mkdir()
    servers.append(start_runtime("llm", config, runtime_port, tmp_path / "llm.log", workers=2,
                                 env={"PROMETHEUS_MULTIPROC_DIR": str(multiproc)}))
    servers.append(start_prometheus(prometheus_bin, tmp_path, {"llm": f"127.0.0.1:{runtime_port}"}, prom_port))

    base = f"http://127.0.0.1:{runtime_port}"
    body = {"model": "gpt-test", "messages": [{"role": "user", "content": "disk full on node-3"}],
            "prompt": {"name": "triage", "variables": {"what": "the incident"}}}
    with httpx.Client(base_url=base, headers=AUTH, timeout=10) as client:
        for _ in range(10):
            reply = client.post("/v1/chat/completions", json=body)
            assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"].startswith("echo:")
        with client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as streamed:
            text = "".join(streamed.iter_text())
        assert text.rstrip().endswith("data: [DONE]")
        assert client.post("/v1/chat/completions", json=body, headers={"authorization": "Bearer no"}).status_code == 401
        exposition = client.get("/metrics").text
    assert 'llm_requests_total{model="gpt-test",prompt="triage",prompt_version="7",status="200"} 11.0' in exposition

    labels = '{model="gpt-test",prompt="triage",prompt_version="7"}'
    result = wait_for_query(prom_port, f"sum(llm_requests_total{labels})",
                            lambda r: r and float(r[0]["value"][1]) == 11)
    assert float(result[0]["value"][1]) == 11
    tokens = prometheus_query(prom_port, 'sum by (type) (llm_tokens_total{model="gpt-test"})')
    by_type = {item["metric"]["type"]: float(item["value"][1]) for item in tokens}
    assert by_type["prompt"] > 0 and by_type["completion"] > 0
    cost = float(prometheus_query(prom_port, 'sum(llm_cost_usd_total{model="gpt-test"})')[0]["value"][1])
    assert cost == pytest.approx((by_type["prompt"] * 500 + by_type["completion"] * 1500) / 1e6, rel=1e-6)
    ttft = prometheus_query(prom_port, 'sum(llm_time_to_first_token_seconds_count{model="gpt-test"})')
    assert float(ttft[0]["value"][1]) == 1
    remaining = prometheus_query(prom_port, 'llm_token_budget_remaining{budget="shop"}')
    assert float(remaining[0]["value"][1]) == 100000 - sum(by_type.values())
    latency = prometheus_query(prom_port, 'sum(http_request_duration_seconds_count{route="/v1/chat/completions"})')
    assert float(latency[0]["value"][1]) == 12

    log_lines = [json.loads(line) for line in (tmp_path / "llm.log").read_text().splitlines()
                 if line.startswith("{")]
    access = [line for line in log_lines if line.get("message") == "request" and line.get("route") ==
              "/v1/chat/completions"]
    assert len(access) == 12 and all(len(line["trace_id"]) == 32 for line in access)


def _backfill(tmp_path, end: float) -> tuple[float, float, float]:
    """9 days of 5-minute samples ending at `end`: 7 clean days, then 2 with a spike and a level shift,
    and a deploy generation that changes at the shift. Returns (train_end, shift_ts, spike_ts)."""
    days = TRAIN_DAYS + 2
    n = days * DAY_POINTS
    start = end - (n - 1) * STEP
    ts, values = seasonal(n, start=start, seed=5)
    train_n = TRAIN_DAYS * DAY_POINTS
    spike_at, shift_at = train_n + 100, train_n + 400
    ts, values = with_spike_and_shift(ts, values, spike_at, shift_at)
    lines = ["# HELP shop_cpu synthetic", "# TYPE shop_cpu gauge"]
    lines += [f'shop_cpu{{service="shop"}} {v:.6f} {t:.0f}' for t, v in zip(ts, values)]
    lines += ["# HELP shop_deploy_generation synthetic", "# TYPE shop_deploy_generation gauge"]
    lines += [f'shop_deploy_generation{{deployment="shop"}} {1 if i < shift_at - 1 else 2} {t:.0f}'
              for i, t in enumerate(ts)]
    lines.append("# EOF")
    source = tmp_path / "history.om"
    source.write_text("\n".join(lines) + "\n")
    promtool = require_tool("promtool")
    result = run_tool([promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(tmp_path / "tsdb")],
                      timeout=180)
    assert result.returncode == 0, result.stderr
    return float(ts[train_n - 1]), float(ts[shift_at]), float(ts[spike_at])


def test_aiops_against_real_prometheus(tmp_path, servers):
    prometheus_bin = require_tool("prometheus")
    end = math.floor((time.time() - 3600) / STEP) * STEP
    train_end, shift_ts, spike_ts = _backfill(tmp_path, end)
    runtime_port, prom_port = free_port(), free_port()
    servers.append(start_prometheus(prometheus_bin, tmp_path, {"aiops": f"127.0.0.1:{runtime_port}"}, prom_port,
                                    tsdb=tmp_path / "tsdb"))
    config = tmp_path / "aiops.yaml"
    config.write_text(yaml.safe_dump({
        "server": {"state_dir": str(tmp_path / "state")},
        "aiops": {"prometheus": {"url": f"http://127.0.0.1:{prom_port}"},
                  "scheduler": {"enabled": True, "interval_seconds": 1, "lookback_seconds": 86400,
                                "step_seconds": STEP, "auto_train": False,
                                "series": [{"metric": "shop_cpu", "service": "shop", "query": "shop_cpu"}]},
                  "rca": {"services": {"shop": {"metrics": {"shop_cpu": "shop_cpu"}}},
                          "changes": [{"name": "deploy", "query": "shop_deploy_generation"}],
                          "step_seconds": STEP}}}))
    servers.append(start_runtime("aiops", config, runtime_port, tmp_path / "aiops.log",
                                 env={"RUNTIME_API_TOKEN": TOKEN}))
    base = f"http://127.0.0.1:{runtime_port}"
    train_start = train_end - (TRAIN_DAYS * DAY_POINTS - 1) * STEP
    with httpx.Client(base_url=base, headers=AUTH, timeout=60) as client:
        trained = client.post("/train", json={"queries": {"shop_cpu": "shop_cpu"}, "start": train_start,
                                              "end": train_end, "step": "5m", "service": "shop"})
        assert trained.status_code == 200, trained.text
        assert trained.json()["trained"]["shop_cpu"]["n_points"] == TRAIN_DAYS * DAY_POINTS

        detect_start = train_end + STEP
        detected = client.post("/detect", json={"queries": {"shop_cpu": "shop_cpu"}, "start": detect_start,
                                                "end": end, "step": "5m"})
        assert detected.status_code == 200, detected.text
        anomalies = detected.json()["results"]["shop_cpu"]["anomalies"]
        assert any(a["start"] <= spike_ts <= a["end"] for a in anomalies), anomalies
        assert any(a["start"] <= shift_ts + 3 * STEP and a["end"] >= shift_ts for a in anomalies), anomalies
        false = [a for a in anomalies if a["end"] < shift_ts and not a["start"] <= spike_ts <= a["end"]]
        assert false == []

        several = client.post("/train", json={"queries": {"x": "{__name__=~'shop_.*'}"}, "start": train_start,
                                              "end": train_end, "step": "5m"})
        assert several.status_code == 422 and "exactly one" in several.json()["detail"]

        rca = client.post("/rca", json={"service": "shop", "start": shift_ts - 3600, "end": shift_ts + 7200})
        assert rca.status_code == 200, rca.text
        report = rca.json()
        assert report["causes"][0]["metric"] == "shop_cpu" and report["causes"][0]["anomalous"]
        assert any(change["source"] == "deploy" and "from 1 to 2" in change["description"]
                   for change in report["changes"])

    score = wait_for_query(prom_port, 'aiops_anomaly_score{metric="shop_cpu",service="shop"}', lambda r: bool(r))
    assert score[0]["metric"]["model_version"] == "v000001"
    assert np.isfinite(float(score[0]["value"][1]))
    assert prometheus_query(prom_port, 'aiops_band_upper{metric="shop_cpu"}')
