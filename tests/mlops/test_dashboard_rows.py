"""The model and llm dashboard rows: present for the specs that set the blocks, every query parses in
Prometheus and reads a series the runtime, vLLM or the compiled rules provide."""
from __future__ import annotations

import json
import re

import pytest
import yaml

from compiler import conventions as names
from tests.mlops.helpers import example_target, objects, target_of, write_service
from tests.tools import require_tool, run_tool

SERIES = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{")


def _dashboard(docs: list[dict]) -> dict:
    (config_map,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-dashboard")]
    return json.loads(next(iter(config_map["data"].values())))


def _panels(dashboard: dict, row_title: str) -> list[dict]:
    panels, current = [], None
    for panel in dashboard["panels"]:
        if panel.get("type") == "row":
            current = panel["title"]
        elif current is not None and current.startswith(row_title):
            panels.append(panel)
    return panels


@pytest.fixture(scope="module")
def self_hosted(tmp_path_factory):
    spec = {"image": "ghcr.io/acme/app:1.0.0", "port": 8080,
            "llm": {"model": "qwen-7b", "serving": {"model": "Qwen/Qwen2.5-7B-Instruct"},
                    "tokenBudget": {"daily": 500000, "alertAt": [80]},
                    "slos": [{"name": "ttft", "objective": 99, "latency": {"threshold": 1, "of": "time_to_first_token"}}]}}
    return _dashboard(objects(target_of(write_service(tmp_path_factory.mktemp("s"), "helper", "support", spec))))


def test_rows_appear_for_the_blocks_a_spec_sets(self_hosted):
    assert _panels(_dashboard(objects(example_target("fraud-scoring"))), "Model fraud-detector")
    assistant = _dashboard(objects(example_target("assistant")))
    for row in ("LLM gateway", "LLM SLOs", "Token budget"):
        assert _panels(assistant, row), row
    titles = {p["title"] for p in _panels(self_hosted, "vLLM")}
    assert titles == {"Queue depth", "KV-cache use", "Time to first token (engine)", "Tokens per second"}


@pytest.mark.tools
def test_every_row_query_parses_and_reads_known_series(self_hosted, tmp_path):
    promtool = require_tool("promtool")
    dashboards = [self_hosted, _dashboard(objects(example_target("fraud-scoring"))),
                  _dashboard(objects(example_target("assistant")))]
    recorded = {names.RECORD_LLM_TOKEN_BURN.format(window=w) for w in ("5m", "1h")} | {
        names.SLO_ERROR_RATIO_PERIOD, names.SLO_BUDGET_REMAINING}
    rules = []
    for dashboard in dashboards:
        for row in ("Model", "LLM", "Token budget", "vLLM"):
            for panel in _panels(dashboard, row):
                for target in panel["targets"]:
                    expr = target["expr"].replace("$__rate_interval", "5m").replace("$namespace", "support")
                    expr = expr.replace("$environment", "prod")
                    assert set(SERIES.findall(expr)) <= names.EXPORTED_METRICS | recorded, expr
                    rules.append({"record": f"panel:{len(rules)}", "expr": expr})
    assert len(rules) > 20
    path = tmp_path / "panels.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    result = run_tool([promtool, "check", "rules", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr
