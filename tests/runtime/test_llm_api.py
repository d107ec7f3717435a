"""LLM role in process: chat (plain and streamed), prompt registry, budgets, cost, spans, RAG, auth."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from runtime.app import create_app
from runtime.config import RuntimeConfig
from runtime.llm.prompts import PromptFileError, PromptRegistry
from tests.runtime.conftest import AUTH

PROMPT = """name: summarise
versions:
  - version: "3"
    labels: [production]
    model: small-model
    messages:
      - role: system
        content: "Summarise in a {{ style }} tone."
  - version: "4"
    labels: [staging]
    messages:
      - role: system
        content: "Be brief."
"""


def sample(text: str, name: str, labels: dict) -> float:
    """The value of one sample in a text exposition (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for item in family.samples:
            if item.name == name and all(item.labels.get(k) == v for k, v in labels.items()):
                return item.value
    return 0.0


@pytest.fixture
def llm(tmp_path):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "summarise.yaml").write_text(PROMPT)
    (prompts / "..data").mkdir()
    config = RuntimeConfig.model_validate({"server": {"state_dir": str(tmp_path)}, "llm": {
        "prompt_paths": [str(prompts)],
        "prices": {"small-model": {"prompt_per_million": 1000, "completion_per_million": 2000}},
        "budgets": {"budgets": [{"name": "team-a", "daily_tokens": 60}, {"name": "team-b", "daily_tokens": 10_000}]},
    }})
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with TestClient(create_app("llm", config, tracer_provider=provider)) as client:
        yield client, exporter


def chat(client, body, headers=None):
    return client.post("/v1/chat/completions", json=body, headers={**AUTH, **(headers or {})})


def test_plain_completion_with_prompt_version_on_metrics(llm):
    client, _ = llm
    response = chat(client, {"messages": [{"role": "user", "content": "hello world"}],
                             "prompt": {"name": "summarise", "variables": {"style": "dry"}}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["choices"][0]["message"]["content"] == "echo: hello world"
    assert body["model"] == "small-model" and response.headers["x-prompt-version"] == "3"
    usage = body["usage"]
    metrics = client.get("/metrics").text
    labels = {"model": "small-model", "prompt": "summarise", "prompt_version": "3"}
    assert sample(metrics, "llm_requests_total", {**labels, "status": "200"}) == 1
    assert sample(metrics, "llm_tokens_total", {**labels, "type": "prompt"}) == usage["prompt_tokens"]
    assert sample(metrics, "llm_tokens_total", {**labels, "type": "completion"}) == usage["completion_tokens"]
    expected_cost = (usage["prompt_tokens"] * 1000 + usage["completion_tokens"] * 2000) / 1e6
    assert sample(metrics, "llm_cost_usd_total", {"model": "small-model"}) == pytest.approx(expected_cost)
    assert sample(metrics, "llm_request_cost_usd_count", {"model": "small-model"}) == 1
    assert sample(metrics, "llm_request_latency_seconds_count", {"model": "small-model"}) == 1


def test_staging_label_and_header_selection(llm):
    client, _ = llm
    response = chat(client, {"model": "m", "messages": [{"role": "user", "content": "x"}]},
                    {"x-prompt-name": "summarise", "x-prompt-label": "staging"})
    assert response.headers["x-prompt-version"] == "4"
    missing_var = chat(client, {"messages": [{"role": "user", "content": "x"}], "prompt": {"name": "summarise"}})
    assert missing_var.status_code == 422
    assert missing_var.json()["errors"][0]["path"] == "body.prompt.variables.style"
    unknown = chat(client, {"model": "m", "messages": [], "prompt": {"name": "nope"}})
    assert unknown.status_code == 404


def test_streaming_relays_chunks_and_records_ttft(llm):
    client, _ = llm
    with client.stream("POST", "/v1/chat/completions", headers=AUTH,
                       json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "a b c"}]}) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        text = "".join(reply.iter_text())
    events = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert content == "echo: a b c"
    assert all(c["choices"] for c in chunks), "the usage chunk the gateway asked for is not passed on"
    metrics = client.get("/metrics").text
    assert sample(metrics, "llm_time_to_first_token_seconds_count", {"model": "m"}) == 1
    assert sample(metrics, "llm_tokens_total", {"model": "m", "type": "completion"}) == 5  # echo : a b c


def test_budget_exhaustion_gives_429_and_gauges(llm):
    client, _ = llm
    metrics = client.get("/metrics").text
    assert sample(metrics, "llm_token_budget_limit", {"budget": "team-a"}) == 60
    assert sample(metrics, "llm_token_budget_remaining", {"budget": "team-a"}) == 60
    body = {"model": "m", "messages": [{"role": "user", "content": "word " * 40}]}
    assert chat(client, body, {"x-llm-budget": "team-a"}).status_code == 200
    refused = chat(client, body, {"x-llm-budget": "team-a"})
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["type"] == "token_budget_exhausted" and error["budget"] == "team-a" and error["limit"] == 60
    assert int(refused.headers["retry-after"]) > 0
    assert chat(client, body, {"x-llm-budget": "team-b"}).status_code == 200
    metrics = client.get("/metrics").text
    assert sample(metrics, "llm_token_budget_remaining", {"budget": "team-a"}) == 0
    assert sample(metrics, "llm_requests_total", {"model": "m", "status": "429"}) == 1
    unknown = chat(client, body, {"x-llm-budget": "nobody"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["path"] == "header.x-llm-budget"


def test_spans_follow_genai_conventions_without_content(llm):
    client, exporter = llm
    response = chat(client, {"model": "m", "temperature": 0.2, "max_tokens": 50,
                             "messages": [{"role": "user", "content": "secret text"}]},
                    {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    assert response.headers["x-trace-id"] == "0af7651916cd43dd8448eb211c80319c"
    (span,) = exporter.get_finished_spans()
    attributes = dict(span.attributes)
    assert span.name == "chat m"
    assert format(span.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "m"
    assert attributes["gen_ai.request.temperature"] == 0.2 and attributes["gen_ai.request.max_tokens"] == 50
    assert attributes["gen_ai.usage.input_tokens"] > 0 and attributes["gen_ai.usage.output_tokens"] == 4
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert not any("secret" in str(value) for value in attributes.values())


def test_content_capture_when_enabled(tmp_path):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    config = RuntimeConfig.model_validate({"llm": {"telemetry": {"capture_content": True}}})
    with TestClient(create_app("llm", config, tracer_provider=provider)) as client:
        chat(client, {"model": "m", "messages": [{"role": "user", "content": "visible"}]})
    attributes = dict(exporter.get_finished_spans()[0].attributes)
    assert "visible" in attributes["gen_ai.input.messages"] and "echo: visible" in attributes["gen_ai.output.messages"]


def test_auth_and_validation(llm):
    client, _ = llm
    assert client.post("/v1/chat/completions", json={"model": "m", "messages": []}).status_code == 401
    assert client.post("/v1/rag/ingest", json={}).status_code == 401
    bad = chat(client, {"model": "m", "messages": [{"role": "wizard", "content": "x"}]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"].startswith("body.messages.0.role")
    empty = chat(client, {"model": "m", "messages": []})
    assert empty.status_code == 422 and empty.json()["errors"][0]["path"] == "body.messages"


def test_rag_ingest_and_query_name_the_embedder(llm):
    client, _ = llm
    documents = [{"id": "probes", "text": "Kubernetes restarts a container when its liveness probe fails."},
                 {"id": "scrape", "text": "Prometheus scrapes every target at the scrape interval.",
                  "metadata": {"source": "docs"}},
                 {"id": "budget", "text": "An error budget is what an SLO allows to fail."}]
    ingest = client.post("/v1/rag/ingest", json={"collection": "ops", "documents": documents}, headers=AUTH).json()
    assert ingest["chunks"] == 3
    embedder = client.get("/readyz").json()["checks"]["rag"]["embedder"]
    assert ingest["embedder"] == embedder
    answer = client.post("/v1/rag/query", json={"collection": "ops", "query": "how often does prometheus scrape",
                                                "top_k": 2}, headers=AUTH).json()
    assert answer["embedder"] == embedder
    assert answer["matches"][0]["document_id"] == "scrape" and answer["matches"][0]["metadata"] == {"source": "docs"}
    assert answer["matches"][0]["score"] > answer["matches"][1]["score"]
    empty = client.post("/v1/rag/query", json={"collection": "none", "query": "x"}, headers=AUTH).json()
    assert empty["matches"] == []


def test_rag_store_persists_and_replaces_documents(tmp_path):
    from runtime.llm.rag.embedders import HashingEmbedder
    from runtime.llm.rag.store import EmbeddedVectorStore

    store = EmbeddedVectorStore(HashingEmbedder(), tmp_path, chunk_size=5, chunk_overlap=1)
    assert store.ingest("c", [{"id": "a", "text": "one two three four five six seven eight nine"}]) == 2
    store.ingest("c", [{"id": "a", "text": "alpha beta"}, {"id": "b", "text": "gamma delta"}])
    reopened = EmbeddedVectorStore(HashingEmbedder(), tmp_path, chunk_size=5, chunk_overlap=1)
    hits = reopened.query("c", "alpha", 5)
    assert [hit["document_id"] for hit in hits][0] == "a" and len(hits) == 2


def test_hashing_embedder_is_deterministic_and_normalised():
    import numpy as np

    from runtime.llm.rag.embedders import HashingEmbedder

    first = HashingEmbedder().embed(["error budget burn", ""])
    second = HashingEmbedder().embed(["error budget burn", ""])
    assert np.array_equal(first, second)
    assert abs(float(np.linalg.norm(first[0])) - 1.0) < 1e-6 and float(np.linalg.norm(first[1])) == 0.0


def test_prompt_files_are_checked(tmp_path):
    (tmp_path / "a.yaml").write_text(PROMPT)
    (tmp_path / "b.yaml").write_text(PROMPT)
    with pytest.raises(PromptFileError, match="defined in both"):
        PromptRegistry.load([tmp_path])
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nversions:\n  - version: '1'\n    labels: [production]\n    messages: []\n")
    with pytest.raises(PromptFileError, match="versions.0.messages"):
        PromptRegistry.load([bad])
    with pytest.raises(PromptFileError, match="does not exist"):
        PromptRegistry.load([tmp_path / "missing"])


def test_unreachable_upstream_gives_502_and_is_counted(tmp_path):
    from tests.runtime.servers import free_port

    config = RuntimeConfig.model_validate({"llm": {"upstream": {"url": f"http://127.0.0.1:{free_port()}",
                                                                "timeout_seconds": 5}}})
    with TestClient(create_app("llm", config)) as client:
        plain = chat(client, {"model": "m", "messages": [{"role": "user", "content": "x"}]})
        streamed = chat(client, {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]})
        metrics = client.get("/metrics").text
    assert plain.status_code == 502 and "failed" in plain.json()["detail"]
    assert streamed.status_code == 502
    assert sample(metrics, "llm_requests_total", {"model": "m", "status": "502"}) == 2


def test_spans_are_exported_over_otlp_when_configured(monkeypatch):
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    received: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.path, self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args):
            return None

    server = HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        with TestClient(create_app("llm", RuntimeConfig())) as client:
            assert chat(client, {"model": "m", "messages": [{"role": "user", "content": "x"}]}).status_code == 200
    finally:
        server.shutdown()
        server.server_close()
    assert received and received[0][0] == "/v1/traces"
    request = ExportTraceServiceRequest()
    request.ParseFromString(received[0][1])
    resource = request.resource_spans[0]
    service = {a.key: a.value.string_value for a in resource.resource.attributes}["service.name"]
    span = resource.scope_spans[0].spans[0]
    attributes = {a.key: a.value for a in span.attributes}
    assert service == "llm-gateway" and span.name == "chat m"
    assert attributes["gen_ai.request.model"].string_value == "m"
    assert attributes["gen_ai.usage.output_tokens"].int_value == 3
