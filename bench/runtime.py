"""Runtime speed (issue 7, acceptance 3), measured against a baseline in the same run.

Starts on 127.0.0.1: the echo upstream (an OpenAI-compatible server), the LLM gateway in front of it,
and the AIOps role. Measures
- `/detect` latency for one request of 20 metrics x 1,000 points (models trained first, then warmed up
  to the steady state), and as its baseline the detectors alone scoring the same series in this process
  on one thread (no HTTP, no JSON);
- gateway overhead: the same chat request sent alternately to the upstream directly and through the
  gateway, overhead = gateway percentile - direct percentile;
- requests per second through the gateway (and directly, for reference) with concurrent clients.
Ends with ONE JSON line of figures, with the machine's 1-minute load average at start and end (other
work on the machine moves the latency tail). Usage: python bench/runtime.py [--quick]
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.runtime.servers import free_port, start_echo_upstream, start_runtime  # noqa: E402

TOKEN = "bench-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}
METRICS = 20
DETECT_POINTS = 1000
STEP = 300.0
WARM_UP_LIMIT_SECONDS = 60.0
"""/detect is warmed up until five requests in a row found the server's scoring processes no longer
starting (they start on the first large request, see runtime/aiops/workers.py), at most this long; the
figures say which path answered."""


def percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q))


def synthetic(n: int, start: float, seed: int) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    ts = start + np.arange(n) * STEP
    values = 50 + 10 * np.sin(2 * np.pi * ts / 86400) + rng.normal(0, 1.0, n)
    return [[float(a), float(b)] for a, b in zip(ts, values)]


def detect_payload() -> dict:
    detect_start = 1_700_000_000.0 + 7 * 288 * STEP
    return {"series": {f"metric_{i}": synthetic(DETECT_POINTS, detect_start, 100 + i) for i in range(METRICS)}}


def bench_detect(base: str, rounds: int) -> dict:
    start = 1_700_000_000.0
    train_points = 7 * 288
    with httpx.Client(base_url=base, headers=AUTH, timeout=120) as client:
        series = {f"metric_{i}": synthetic(train_points, start, i) for i in range(METRICS)}
        trained = client.post("/train", json={"series": series})
        trained.raise_for_status()
        body = json.dumps(detect_payload()).encode()
        headers = {**AUTH, "content-type": "application/json"}
        warm_up_until = time.monotonic() + WARM_UP_LIMIT_SECONDS
        steady = 0
        for round_number in itertools.count(1):
            client.post("/detect", content=body, headers=headers).raise_for_status()
            state = client.get("/readyz").json()["checks"]["scoring_processes"]["state"]
            steady = 0 if state == "starting" else steady + 1
            if steady >= 5 or time.monotonic() > warm_up_until:
                break
        latencies = []
        for _ in range(rounds):
            began = time.perf_counter()
            reply = client.post("/detect", content=body, headers=headers)
            latencies.append(time.perf_counter() - began)
            reply.raise_for_status()
        points = sum(len(r["points"]) for r in reply.json()["results"].values())
        assert points == METRICS * DETECT_POINTS
    return {"detect_p50_ms": percentile(latencies, 50) * 1000, "detect_p99_ms": percentile(latencies, 99) * 1000,
            "detect_requests": rounds, "detect_request_bytes": len(body), "detect_warm_up_requests": round_number,
            "detect_scoring_processes": state}


def bench_overhead(direct: str, gateway: str, rounds: int) -> dict:
    body = json.dumps({"model": "bench-model", "messages": [{"role": "user", "content": "ping from the bench"}]})
    headers = {"content-type": "application/json", **AUTH}
    direct_ms, gateway_ms = [], []
    with httpx.Client(timeout=10) as client:
        for _ in range(200):
            client.post(f"{direct}/v1/chat/completions", content=body, headers=headers)
            client.post(f"{gateway}/v1/chat/completions", content=body, headers=headers)
        for _ in range(rounds):
            began = time.perf_counter()
            client.post(f"{direct}/v1/chat/completions", content=body, headers=headers).raise_for_status()
            direct_ms.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            client.post(f"{gateway}/v1/chat/completions", content=body, headers=headers).raise_for_status()
            gateway_ms.append((time.perf_counter() - began) * 1000)
    return {"direct_p50_ms": percentile(direct_ms, 50), "direct_p99_ms": percentile(direct_ms, 99),
            "gateway_p50_ms": percentile(gateway_ms, 50), "gateway_p99_ms": percentile(gateway_ms, 99),
            "gateway_overhead_p50_ms": percentile(gateway_ms, 50) - percentile(direct_ms, 50),
            "gateway_overhead_p99_ms": percentile(gateway_ms, 99) - percentile(direct_ms, 99),
            "overhead_requests": rounds}


async def _load(url: str, seconds: float, concurrency: int) -> float:
    """Completed requests per second with `concurrency` clients (aiohttp: httpx's async client would be
    the bottleneck here)."""
    import aiohttp

    body = json.dumps({"model": "bench-model", "messages": [{"role": "user", "content": "load"}]}).encode()
    headers = {"content-type": "application/json", **AUTH}
    done = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.perf_counter() + seconds

        async def worker():
            nonlocal done
            while time.perf_counter() < deadline:
                async with session.post(url, data=body, headers=headers) as reply:
                    await reply.read()
                    if reply.status != 200:
                        raise RuntimeError(f"{url} answered {reply.status}")
                done += 1
        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - began)


def bench_scoring_only(state_dir: Path, payload: dict, rounds: int) -> dict:
    """Baseline: the same 20 series scored in this process with the stored models, no HTTP, no JSON."""
    from runtime.aiops.registry import ModelRegistry

    registry = ModelRegistry(state_dir / "models", 50 * 1_048_576)
    models = {name: registry.load(registry.find(name, None)) for name in payload["series"]}
    arrays = {name: np.asarray(points, dtype=float) for name, points in payload["series"].items()}
    latencies = []
    for _ in range(rounds):
        began = time.perf_counter()
        for name, array in arrays.items():
            models[name].score(array[:, 0], array[:, 1])
        latencies.append(time.perf_counter() - began)
    return {"scoring_only_p50_ms": percentile(latencies, 50) * 1000,
            "scoring_only_p99_ms": percentile(latencies, 99) * 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run, noisier figures)")
    args = parser.parse_args()
    detect_rounds, overhead_rounds, load_seconds = (10, 300, 2.0) if args.quick else (500, 3000, 5.0)
    os.environ["RUNTIME_API_TOKEN"] = TOKEN
    work = Path(tempfile.mkdtemp(prefix="bench-runtime-"))
    upstream_port, llm_port, aiops_port = free_port(), free_port(), free_port()
    config = work / "config.yaml"
    config.write_text(yaml.safe_dump({
        "server": {"state_dir": str(work / "state"), "max_body_bytes": 8_000_000, "log_level": "WARNING"},
        "llm": {"upstream": {"url": f"http://127.0.0.1:{upstream_port}"},
                "prices": {"bench-model": {"prompt_per_million": 1, "completion_per_million": 2}},
                "budgets": {"default": "bench", "budgets": [{"name": "bench", "daily_tokens": 10**12}]}}}))
    processes = []
    try:
        processes.append(start_echo_upstream(upstream_port, work / "upstream.log"))
        processes.append(start_runtime("llm", config, llm_port, work / "llm.log"))
        processes.append(start_runtime("aiops", config, aiops_port, work / "aiops.log"))
        direct = f"http://127.0.0.1:{upstream_port}"
        gateway = f"http://127.0.0.1:{llm_port}"
        figures = {"cpus": os.cpu_count(), "load_1m_at_start": os.getloadavg()[0]}
        figures.update(bench_detect(f"http://127.0.0.1:{aiops_port}", detect_rounds))
        figures.update(bench_scoring_only(work / "state", detect_payload(), detect_rounds))
        figures.update(bench_overhead(direct, gateway, overhead_rounds))
        figures["gateway_rps"] = asyncio.run(_load(f"{gateway}/v1/chat/completions", load_seconds, 16))
        figures["direct_rps"] = asyncio.run(_load(f"{direct}/v1/chat/completions", load_seconds, 16))
    finally:
        for process in reversed(processes):
            process.stop()
    figures["load_1m_at_end"] = os.getloadavg()[0]
    figures = {key: round(value, 3) if isinstance(value, float) else value for key, value in figures.items()}
    figures["targets_met"] = {"gateway_overhead_p99_under_2ms": figures["gateway_overhead_p99_ms"] < 2.0,
                              "detect_p99_under_50ms": figures["detect_p99_ms"] < 50.0}
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
