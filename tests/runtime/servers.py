"""Real servers for end-to-end tests: the runtime under uvicorn, the echo upstream, Prometheus.

Each listens on 127.0.0.1 on a free port and is stopped by PID; waits are bounded.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    def __init__(self, args: list[str], log_path: Path, env: dict | None = None) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO,
                                     env={**os.environ, **(env or {})}, start_new_session=True)

    def wait_http(self, url: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"process exited with {self.proc.returncode}: {self.log()[-3000:]}")
            try:
                if httpx.get(url, timeout=1.0).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{url} not up after {timeout} s: {self.log()[-3000:]}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._log.close()


def start_runtime(role: str, config: Path, port: int, log_path: Path, env: dict | None = None,
                  workers: int = 1) -> Process:
    process = Process([sys.executable, "-m", "runtime", role, "--host", "127.0.0.1", "--port", str(port),
                       "--config", str(config), "--workers", str(workers)], log_path, env)
    process.wait_http(f"http://127.0.0.1:{port}/healthz")
    return process


def start_echo_upstream(port: int, log_path: Path) -> Process:
    process = Process([sys.executable, "-m", "uvicorn", "--factory", "runtime.llm.upstream:create_echo_server",
                       "--host", "127.0.0.1", "--port", str(port), "--no-access-log"], log_path)
    process.wait_http(f"http://127.0.0.1:{port}/v1/models")
    return process


def start_prometheus(binary: str, workdir: Path, scrape_targets: dict[str, str], port: int,
                     tsdb: Path | None = None) -> Process:
    """`scrape_targets`: job name -> host:port, scraped every second."""
    jobs = "".join(f"  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
                   for job, target in scrape_targets.items())
    config = workdir / "prometheus.yml"
    config.write_text(f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n{jobs}")
    storage = tsdb or (workdir / "tsdb")
    process = Process([binary, f"--config.file={config}", f"--storage.tsdb.path={storage}",
                       f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=3650d",
                       "--log.level=warn"], workdir / "prometheus.log")
    process.wait_http(f"http://127.0.0.1:{port}/-/ready")
    return process


def prometheus_query(port: int, query: str) -> list[dict]:
    payload = httpx.get(f"http://127.0.0.1:{port}/api/v1/query", params={"query": query}, timeout=5).json()
    assert payload["status"] == "success", payload
    return payload["data"]["result"]


def wait_for_query(port: int, query: str, predicate, timeout: float = 20.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    result: list[dict] = []
    while time.monotonic() < deadline:
        result = prometheus_query(port, query)
        if predicate(result):
            return result
        time.sleep(0.5)
    raise AssertionError(f"{query} never satisfied the check within {timeout} s; last result {result}")
