"""The LLM role reads the upstream API key from a mounted file (`llm.upstream.api_key_file`)."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from fastapi.testclient import TestClient

from runtime.app import create_app
from runtime.config import ConfigError, RuntimeConfig, UpstreamSettings
from tests.runtime.conftest import AUTH

REPLY = (b'{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,'
         b'"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],'
         b'"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}')


def test_the_file_wins_over_the_variable_and_is_stripped(tmp_path, monkeypatch):
    key = tmp_path / "api-key"
    key.write_text("sk-from-file\n")
    monkeypatch.setenv("LLM_API_KEY", "sk-from-env")
    assert UpstreamSettings(url="http://u", api_key_file=key, api_key_env="LLM_API_KEY").api_key() == "sk-from-file"
    assert UpstreamSettings(url="http://u", api_key_env="LLM_API_KEY").api_key() == "sk-from-env"
    assert UpstreamSettings(url="http://u").api_key() == ""


def test_a_missing_or_empty_key_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read llm.upstream.api_key_file .*missing"):
        UpstreamSettings(url="http://u", api_key_file=tmp_path / "missing").api_key()
    empty = tmp_path / "empty"
    empty.write_text("  \n")
    with pytest.raises(ConfigError, match="is empty"):
        create_app("llm", RuntimeConfig.model_validate({"llm": {"upstream": {"url": "http://u",
                                                                             "api_key_file": str(empty)}}}))


def test_the_gateway_sends_the_file_key_upstream(tmp_path):
    seen: list[str | None] = []

    class Upstream(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["content-length"]))
            seen.append(self.headers.get("authorization"))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(REPLY)))
            self.end_headers()
            self.wfile.write(REPLY)

        def log_message(self, *args):
            return None

    server = HTTPServer(("127.0.0.1", 0), Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    key = tmp_path / "api-key"
    key.write_text("sk-mounted\n")
    config = RuntimeConfig.model_validate({"llm": {"upstream": {
        "url": f"http://127.0.0.1:{server.server_address[1]}", "api_key_file": str(key), "timeout_seconds": 5}}})
    try:
        with TestClient(create_app("llm", config)) as gateway:
            response = gateway.post("/v1/chat/completions", headers=AUTH,
                                    json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert response.status_code == 200, response.text
    assert seen == ["Bearer sk-mounted"]
