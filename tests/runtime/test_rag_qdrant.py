"""The Qdrant store against an in-memory emulation of the Qdrant REST calls it uses.

No Qdrant server can run here; `QdrantEmulator` answers the five documented endpoints the store calls
(get/create collection, delete points by filter, upsert points, search) with Qdrant's response shapes,
so the test checks the requests the store sends and how it reads the answers.
"""
from __future__ import annotations

import json

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from runtime.app import create_app
from runtime.config import RuntimeConfig
from tests.runtime.conftest import AUTH


class QdrantEmulator:
    def __init__(self) -> None:
        self.collections: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        parts = request.url.path.strip("/").split("/")
        body = json.loads(request.content) if request.content else {}
        name = parts[1]
        if parts[0] != "collections":
            return httpx.Response(404, json={"status": {"error": "not found"}})
        if len(parts) == 2 and request.method == "GET":
            if name not in self.collections:
                return httpx.Response(404, json={"status": {"error": f"Collection `{name}` doesn't exist!"}})
            size = self.collections[name]["size"]
            return httpx.Response(200, json={"result": {"config": {"params": {"vectors": {"size": size,
                                                                                          "distance": "Cosine"}}}}})
        if len(parts) == 2 and request.method == "PUT":
            self.collections[name] = {"size": body["vectors"]["size"], "points": {}}
            return httpx.Response(200, json={"result": True, "status": "ok"})
        if name not in self.collections:
            return httpx.Response(404, json={"status": {"error": f"Collection `{name}` doesn't exist!"}})
        points = self.collections[name]["points"]
        if parts[2:] == ["points", "delete"]:
            drop = set(body["filter"]["must"][0]["match"]["any"])
            for key in [k for k, p in points.items() if p["payload"]["document_id"] in drop]:
                del points[key]
            return httpx.Response(200, json={"result": {"status": "completed"}, "status": "ok"})
        if parts[2:] == ["points"] and request.method == "PUT":
            for point in body["points"]:
                points[point["id"]] = point
            return httpx.Response(200, json={"result": {"status": "completed"}, "status": "ok"})
        if parts[2:] == ["points", "search"]:
            query = np.asarray(body["vector"])
            scored = sorted(((float(np.dot(query, p["vector"])), key) for key, p in points.items()), reverse=True)
            result = [{"id": key, "score": score, "payload": points[key]["payload"]}
                      for score, key in scored[:body["limit"]]]
            return httpx.Response(200, json={"result": result, "status": "ok"})
        return httpx.Response(404, json={"status": {"error": "unknown endpoint"}})


@pytest.fixture
def qdrant_client():
    emulator = QdrantEmulator()
    config = RuntimeConfig.model_validate({"llm": {"rag": {"store": "qdrant", "embedder": "hashing",
                                                           "qdrant_url": "http://qdrant:6333"}}})
    with TestClient(create_app("llm", config, qdrant_transport=httpx.MockTransport(emulator))) as client:
        yield client, emulator


def test_ingest_replace_and_query_through_qdrant(qdrant_client):
    client, emulator = qdrant_client
    docs = [{"id": "a", "text": "liveness probes restart containers"},
            {"id": "b", "text": "prometheus scrapes targets", "metadata": {"team": "obs"}}]
    ingest = client.post("/v1/rag/ingest", json={"collection": "ops", "documents": docs}, headers=AUTH)
    assert ingest.status_code == 200 and ingest.json()["chunks"] == 2
    assert emulator.collections["ops"]["size"] == 384 and len(emulator.collections["ops"]["points"]) == 2
    again = client.post("/v1/rag/ingest", json={"collection": "ops", "documents": [docs[1]]}, headers=AUTH)
    assert again.status_code == 200 and len(emulator.collections["ops"]["points"]) == 2
    answer = client.post("/v1/rag/query", json={"collection": "ops", "query": "prometheus scrapes", "top_k": 1},
                         headers=AUTH).json()
    assert answer["matches"][0]["document_id"] == "b" and answer["matches"][0]["metadata"] == {"team": "obs"}
    assert answer["embedder"] == "hashing-fallback-384"
    assert client.get("/readyz").json()["checks"]["rag"]["store"] == "qdrant"
    missing = client.post("/v1/rag/query", json={"collection": "none", "query": "x"}, headers=AUTH)
    assert missing.json()["matches"] == []


def test_dimension_mismatch_is_refused(qdrant_client):
    client, emulator = qdrant_client
    emulator.collections["old"] = {"size": 768, "points": {}}
    response = client.post("/v1/rag/ingest", json={"collection": "old", "documents": [{"id": "a", "text": "x"}]},
                           headers=AUTH)
    assert response.status_code == 409 and "768" in response.json()["detail"]


def test_qdrant_needs_a_url():
    with pytest.raises(ValueError, match="qdrant_url"):
        RuntimeConfig.model_validate({"llm": {"rag": {"store": "qdrant"}}})
