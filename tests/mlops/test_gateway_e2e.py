"""Acceptance 3: the runtime's llm role under uvicorn on 127.0.0.1, started from the config and prompt
ConfigMaps the compiler emits (written where the Deployment mounts them, under a temporary root), behind
a real Prometheus that scrapes it with the labels a ServiceMonitor adds and evaluates the compiled rules.
"""
from __future__ import annotations

import httpx
import pytest
import yaml

from compiler import conventions as names
from compiler.emitters import llm_rules
from tests.mlops.helpers import find, objects, rules_file, target_of, write_service
from tests.runtime.servers import Process, free_port, start_echo_upstream, start_runtime, wait_for_query
from tests.tools import require_tool

pytestmark = pytest.mark.e2e

SERVICE, TEAM = "helper", "support"
GATEWAY = names.llm_gateway_name(SERVICE)
TOKEN = "e2e-gateway-token"
DAILY_TOKENS = 400


def _materialize(docs: list[dict], root) -> tuple[str, dict]:
    """Write the gateway's ConfigMap and Secret volumes under `root` as the kubelet would mount them, and
    return the config file path (re-rooted) and the config as the runtime will read it."""
    deployment = find(docs, "Deployment", GATEWAY)
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    for volume in pod["volumes"]:
        folder = root / mounts[volume["name"]].lstrip("/")
        folder.mkdir(parents=True, exist_ok=True)
        if "configMap" in volume:
            for key, text in maps[volume["configMap"]["name"]]["data"].items():
                (folder / key).write_text(text)
        elif "secret" in volume:
            (folder / volume["secret"]["items"][0]["path"]).write_text(TOKEN + "\n")
    args = container["args"]
    config_path = root / args[args.index("--config") + 1].lstrip("/")
    config = _rerooted(yaml.safe_load(config_path.read_text()), set(mounts.values()), root)
    config_path.write_text(yaml.safe_dump(config))
    return str(config_path), config


def _rerooted(value, mounts: set[str], root):
    """Every path in the config that lies under a mount, moved under `root`; nothing else changes."""
    if isinstance(value, dict):
        return {k: _rerooted(v, mounts, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_rerooted(v, mounts, root) for v in value]
    if isinstance(value, str) and any(value == m or value.startswith(m + "/") for m in mounts):
        return f"{root}{value}"
    return value


def _start_prometheus(workdir, gateway_port: int, rules_path, port: int) -> Process:
    binary = require_tool("prometheus")
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "rule_files": [str(rules_path)],
              "scrape_configs": [{"job_name": GATEWAY, "static_configs": [{
                  "targets": [f"127.0.0.1:{gateway_port}"],
                  "labels": {"namespace": TEAM, "service": GATEWAY, "pod": f"{GATEWAY}-0"}}]}]}
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    process = Process([binary, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'tsdb'}",
                       f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"], workdir / "prometheus.log")
    process.wait_http(f"http://127.0.0.1:{port}/-/ready")
    return process


def test_gateway_from_compiled_config_exports_prompt_versions_and_enforces_the_budget(tmp_path):
    echo_port, gateway_port, prom_port = free_port(), free_port(), free_port()
    spec = {"image": "ghcr.io/acme/helper:1.0.0", "port": 8080,
            "llm": {"model": "gpt-4o-mini", "upstream": f"http://127.0.0.1:{echo_port}/v1",
                    "prompts": [{"name": "summarize", "file": "prompts/summarize.md", "version": 3,
                                 "label": "production"}],
                    "tokenBudget": {"daily": DAILY_TOKENS, "alertAt": [50]}, "gateway": {"replicas": 1}}}
    specs = write_service(tmp_path / "repo", SERVICE, TEAM, spec,
                          {"prompts/summarize.md": "Summarize the customer's message in one sentence.\n"})
    target = target_of(specs)
    docs = objects(target)
    config_path, config = _materialize(docs, tmp_path / "root")
    assert config["llm"]["upstream"]["url"] == f"http://127.0.0.1:{echo_port}"
    rules = rules_file(llm_rules.budget_rules(target), tmp_path / "rules.yaml")

    processes = []
    try:
        processes.append(start_echo_upstream(echo_port, tmp_path / "echo.log"))
        processes.append(start_runtime("llm", config_path, gateway_port, tmp_path / "gateway.log",
                                       env={"RUNTIME_STATE_DIR": str(tmp_path / "state")}))
        processes.append(_start_prometheus(tmp_path, gateway_port, rules, prom_port))
        url = f"http://127.0.0.1:{gateway_port}/v1/chat/completions"
        headers = {"authorization": f"Bearer {TOKEN}"}
        body = {"prompt": {"name": "summarize", "label": "production"},
                "messages": [{"role": "user", "content": "My order 1234 arrived broken, please send a new one."}]}
        remaining_query = f'{names.METRIC_LLM_BUDGET_REMAINING}{{budget="{SERVICE}"}}'

        first = httpx.post(url, json=body, headers=headers, timeout=10)
        assert first.status_code == 200, first.text
        assert first.headers["x-prompt-version"] == "3"
        after_one = float(wait_for_query(prom_port, remaining_query, lambda r: r and float(r[0]["value"][1])
                                         < DAILY_TOKENS)[0]["value"][1])

        statuses = [first.status_code]
        for _ in range(30):
            statuses.append(httpx.post(url, json=body, headers=headers, timeout=10).status_code)
            if statuses[-1] == 429:
                break
        assert statuses[-1] == 429 and set(statuses[:-1]) == {200}, statuses
        refused = httpx.post(url, json=body, headers=headers, timeout=10)
        assert refused.status_code == 429
        assert refused.json()["error"]["type"] == "token_budget_exhausted"

        tokens = wait_for_query(
            prom_port, f'{names.METRIC_LLM_TOKENS}{{prompt="summarize",prompt_version="3",namespace="{TEAM}"}}',
            lambda r: {s["metric"]["type"] for s in r} == {"prompt", "completion"})
        assert all(s["metric"]["model"] == "gpt-4o-mini" for s in tokens)
        wait_for_query(prom_port, remaining_query, lambda r: r and float(r[0]["value"][1]) < after_one)
        wait_for_query(prom_port, f'{names.METRIC_LLM_REQUESTS}{{status="429",prompt_version="3"}}', bool)
        wait_for_query(prom_port, names.RECORD_LLM_TOKEN_BURN.format(window="5m"),
                       lambda r: r and float(r[0]["value"][1]) > 0)
        wait_for_query(prom_port, f'ALERTS{{alertname="{names.ALERT_LLM_TOKEN_BUDGET_USED}",threshold="50"}}', bool)
    finally:
        for process in reversed(processes):
            process.stop()
