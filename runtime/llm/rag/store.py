"""Embedded vector store: per collection a float32 matrix and its chunks, optionally persisted.

Persisted layout under `llm.rag.store_path`: `<collection>/vectors.npy` and `<collection>/chunks.json`
(written to temporary names and renamed). Workers reload a collection when its files change.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Collection:
    embedder: str
    chunks: list[dict] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    stamp: float = 0.0


def chunk_words(text: str, size: int, overlap: int) -> list[str]:
    words = text.split()
    if len(words) <= size:
        return [" ".join(words)]
    stride = max(1, size - overlap)
    return [" ".join(words[start:start + size]) for start in range(0, len(words) - overlap, stride)]


class EmbeddedVectorStore:
    def __init__(self, embedder, path: Path | None, chunk_size: int, chunk_overlap: int) -> None:
        self.embedder = embedder
        self.path = path
        self.chunk_size = chunk_size
        self.chunk_overlap = min(chunk_overlap, chunk_size - 1)
        self._collections: dict[str, Collection] = {}
        self._lock = threading.Lock()

    def _files(self, name: str) -> tuple[Path, Path]:
        return self.path / name / "vectors.npy", self.path / name / "chunks.json"

    def _current(self, name: str) -> Collection:
        collection = self._collections.get(name)
        if self.path is None:
            return collection or Collection(self.embedder.name)
        vectors_file, chunks_file = self._files(name)
        if not chunks_file.is_file():
            return collection or Collection(self.embedder.name)
        stamp = chunks_file.stat().st_mtime
        if collection is None or collection.stamp != stamp:
            meta = json.loads(chunks_file.read_text(encoding="utf-8"))
            if meta["embedder"] != self.embedder.name:
                raise ValueError(f"collection {name!r} was embedded with {meta['embedder']}, not "
                                 f"{self.embedder.name}; re-ingest it")
            collection = Collection(meta["embedder"], meta["chunks"], np.load(vectors_file), stamp)
            self._collections[name] = collection
        return collection

    def ingest(self, name: str, documents: list[dict]) -> int:
        new_chunks = []
        for document in documents:
            for index, text in enumerate(chunk_words(document["text"], self.chunk_size, self.chunk_overlap)):
                new_chunks.append({"document_id": document["id"], "chunk": index, "text": text,
                                   "metadata": document.get("metadata", {})})
        vectors = self.embedder.embed([chunk["text"] for chunk in new_chunks])
        replaced = {document["id"] for document in documents}
        with self._lock:
            current = self._current(name)
            keep = [i for i, chunk in enumerate(current.chunks) if chunk["document_id"] not in replaced]
            kept_vectors = current.vectors[keep] if len(keep) else np.zeros((0, vectors.shape[1]), np.float32)
            collection = Collection(self.embedder.name, [current.chunks[i] for i in keep] + new_chunks,
                                    np.vstack([kept_vectors, vectors]).astype(np.float32))
            self._persist(name, collection)
            self._collections[name] = collection
        return len(new_chunks)

    def _persist(self, name: str, collection: Collection) -> None:
        if self.path is None:
            return
        vectors_file, chunks_file = self._files(name)
        vectors_file.parent.mkdir(parents=True, exist_ok=True)
        with open(vectors_file.with_suffix(".tmp"), "wb") as handle:
            np.save(handle, collection.vectors)
        os.replace(vectors_file.with_suffix(".tmp"), vectors_file)
        chunks_tmp = chunks_file.with_suffix(".tmp")
        chunks_tmp.write_text(json.dumps({"embedder": collection.embedder, "chunks": collection.chunks}))
        os.replace(chunks_tmp, chunks_file)
        collection.stamp = chunks_file.stat().st_mtime

    def query(self, name: str, text: str, top_k: int) -> list[dict]:
        with self._lock:
            collection = self._current(name)
        if not collection.chunks:
            return []
        query_vector = self.embedder.embed([text])[0]
        scores = collection.vectors @ query_vector
        order = np.argsort(-scores, kind="stable")[:top_k]
        return [{**collection.chunks[i], "score": round(float(scores[i]), 6)} for i in order]

    def collections(self) -> list[str]:
        names = set(self._collections)
        if self.path is not None and self.path.is_dir():
            names |= {entry.name for entry in self.path.iterdir() if (entry / "chunks.json").is_file()}
        return sorted(names)
