"""Qdrant as the vector store (`llm.rag.store: qdrant`), over its REST API, for corpora beyond one pod.

Same interface as the embedded store. One Qdrant collection per RAG collection, cosine distance, vector
size from the embedder; each chunk is a point with a UUID derived from (document id, chunk number) and
its text, document id, metadata and embedder name as payload. Re-ingesting a document id first deletes
its earlier chunks.
"""
from __future__ import annotations

import os
import uuid

import httpx

from runtime.llm.rag.store import chunk_words
from runtime.web.errors import UpstreamError


class QdrantStore:
    def __init__(self, embedder, url: str, api_key_env: str | None, timeout_seconds: float, chunk_size: int,
                 chunk_overlap: int, transport: httpx.BaseTransport | None = None) -> None:
        self.embedder = embedder
        self.url = url.rstrip("/")
        self.chunk_size = chunk_size
        self.chunk_overlap = min(chunk_overlap, chunk_size - 1)
        headers = {}
        key = os.environ.get(api_key_env, "") if api_key_env else ""
        if key:
            headers["api-key"] = key
        self._client = httpx.Client(base_url=self.url, headers=headers, timeout=timeout_seconds, transport=transport)

    def _call(self, method: str, path: str, body: dict | None = None, allow_404: bool = False) -> dict | None:
        try:
            response = self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"Qdrant at {self.url} unreachable: {exc.__class__.__name__}: {exc}") from None
        if allow_404 and response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise UpstreamError(f"Qdrant {method} {path} failed ({response.status_code}): {response.text[:300]}")
        return response.json()

    def _ensure_collection(self, name: str) -> None:
        info = self._call("GET", f"/collections/{name}", allow_404=True)
        if info is None:
            self._call("PUT", f"/collections/{name}",
                       {"vectors": {"size": self.embedder.dims, "distance": "Cosine"}})
            return
        size = info["result"]["config"]["params"]["vectors"]["size"]
        if size != self.embedder.dims:
            raise ValueError(f"Qdrant collection {name!r} holds {size}-dimensional vectors, the embedder "
                             f"{self.embedder.name} makes {self.embedder.dims}")

    def ingest(self, name: str, documents: list[dict]) -> int:
        chunks = []
        for document in documents:
            for index, text in enumerate(chunk_words(document["text"], self.chunk_size, self.chunk_overlap)):
                chunks.append({"document_id": document["id"], "chunk": index, "text": text,
                               "metadata": document.get("metadata", {}), "embedder": self.embedder.name})
        vectors = self.embedder.embed([chunk["text"] for chunk in chunks])
        self._ensure_collection(name)
        self._call("POST", f"/collections/{name}/points/delete?wait=true", {"filter": {"must": [
            {"key": "document_id", "match": {"any": [document["id"] for document in documents]}}]}})
        points = [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{chunk['document_id']}#{chunk['chunk']}")),
                   "vector": vector.tolist(), "payload": chunk} for chunk, vector in zip(chunks, vectors)]
        self._call("PUT", f"/collections/{name}/points?wait=true", {"points": points})
        return len(chunks)

    def query(self, name: str, text: str, top_k: int) -> list[dict]:
        vector = self.embedder.embed([text])[0].tolist()
        found = self._call("POST", f"/collections/{name}/points/search",
                           {"vector": vector, "limit": top_k, "with_payload": True}, allow_404=True)
        if found is None:
            return []
        out = []
        for hit in found["result"]:
            payload = hit.get("payload") or {}
            if payload.get("embedder") not in (None, self.embedder.name):
                raise ValueError(f"collection {name!r} was embedded with {payload['embedder']}, not "
                                 f"{self.embedder.name}; re-ingest it")
            out.append({"document_id": payload.get("document_id", ""), "chunk": payload.get("chunk", 0),
                        "text": payload.get("text", ""), "metadata": payload.get("metadata", {}),
                        "score": round(float(hit["score"]), 6)})
        return out
