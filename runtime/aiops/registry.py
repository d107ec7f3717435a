"""Versioned model registry on disk: skops files (never pickle) behind a SHA-256 manifest.

Layout under the registry root:

    v000001/manifest.json      {"version", "created_at", "models": {metric: {file, sha256, bytes, kind, ...}},
                                "signature"?}
    v000001/<digest>.skops     one MetricModel state per metric

A version directory is assembled under a temporary name and renamed into place, so readers never see a
half-written version and two writers (workers, replicas on a shared volume) cannot claim the same number.
Loading checks the file size limit, the SHA-256 from the manifest, the manifest's HMAC when a signing key
is set, and refuses any type outside the allow-list before skops builds an object.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import skops.io as sio

_VERSION = re.compile(r"^v(\d{6})$")
_MANIFEST_MAX_BYTES = 4 * 1_048_576
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "builtins.", "collections.")


class ModelRejected(Exception):
    """A stored model failed an integrity or safety check; it is never loaded."""


class ModelNotFound(Exception):
    pass


@dataclass(frozen=True)
class ModelEntry:
    version: str
    metric: str
    info: dict


def _canonical(manifest: dict) -> bytes:
    body = {key: value for key, value in manifest.items() if key != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


class ModelRegistry:
    def __init__(self, root: Path, max_model_bytes: int, signing_key: bytes | None = None,
                 cache_size: int = 256) -> None:
        self.root = root
        self.max_model_bytes = max_model_bytes
        self.signing_key = signing_key
        self._cache: OrderedDict[tuple[str, str], object] = OrderedDict()
        self._manifests: dict[str, dict] = {}
        self._versions: tuple[float, list[str]] | None = None
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def ensure_writable(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise PermissionError(f"model registry {self.root} is not writable")

    def versions(self) -> list[str]:
        """Version names, oldest first; re-listed only when the registry directory changes."""
        try:
            stamp = self.root.stat().st_mtime_ns
        except FileNotFoundError:
            return []
        cached = self._versions
        if cached is not None and cached[0] == stamp:
            return cached[1]
        names = sorted(entry.name for entry in self.root.iterdir() if _VERSION.match(entry.name) and entry.is_dir())
        self._versions = (stamp, names)
        return names

    def save(self, models: dict[str, tuple[object, dict]]) -> str:
        """Store {metric: (MetricModel, extra_info)} as a new version; returns the version name."""
        self.ensure_writable()
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        try:
            entries = {}
            for metric, (model, extra) in sorted(models.items()):
                data = sio.dumps(model.to_state())
                if len(data) > self.max_model_bytes:
                    raise ModelRejected(f"model for {metric!r} is {len(data)} bytes, over the "
                                        f"{self.max_model_bytes}-byte limit")
                name = hashlib.sha256(metric.encode()).hexdigest()[:24] + ".skops"
                (staging / name).write_bytes(data)
                entries[metric] = {"file": name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                                   "kind": model.kind, "n_points": int(model.n_points),
                                   "validation_score": float(model.validation_score), **extra}
            return self._publish(staging, entries)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def _publish(self, staging: Path, entries: dict) -> str:
        existing = self.versions()
        number = int(existing[-1][1:]) + 1 if existing else 1
        for _ in range(1000):
            version = f"v{number:06d}"
            manifest = {"version": version, "created_at": round(time.time(), 3), "models": entries}
            if self.signing_key:
                manifest["signature"] = hmac.new(self.signing_key, _canonical(manifest), "sha256").hexdigest()
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
            try:
                os.rename(staging, self.root / version)
                return version
            except OSError:
                number += 1
        raise ModelRejected("could not allocate a registry version")

    def manifest(self, version: str) -> dict:
        """The checked manifest; versions are immutable, so a manifest that passed is kept in memory."""
        cached = self._manifests.get(version)
        if cached is not None:
            return cached
        manifest = self._read_manifest(version)
        with self._lock:
            self._manifests[version] = manifest
        return manifest

    def _read_manifest(self, version: str) -> dict:
        if not _VERSION.match(version):
            raise ModelNotFound(f"model version {version!r} does not exist")
        path = self.root / version / "manifest.json"
        if not path.is_file():
            raise ModelNotFound(f"model version {version!r} does not exist")
        if path.stat().st_size > _MANIFEST_MAX_BYTES:
            raise ModelRejected(f"manifest of {version} is over the size limit")
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ModelRejected(f"manifest of {version} is not valid JSON") from None
        if self.signing_key:
            supplied = str(manifest.get("signature", ""))
            expected = hmac.new(self.signing_key, _canonical(manifest), "sha256").hexdigest()
            if not hmac.compare_digest(supplied, expected):
                raise ModelRejected(f"manifest of {version} has a missing or wrong signature")
        if manifest.get("version") != version or not isinstance(manifest.get("models"), dict):
            raise ModelRejected(f"manifest of {version} is malformed")
        return manifest

    def find(self, metric: str, version: str | None) -> ModelEntry:
        """The entry for `metric` in `version`, or in the newest version that has it."""
        candidates = [version] if version else list(reversed(self.versions()))
        for candidate in candidates:
            models = self.manifest(candidate)["models"]
            if metric in models:
                return ModelEntry(candidate, metric, models[metric])
        where = f"version {version}" if version else "any version"
        raise ModelNotFound(f"no model for metric {metric!r} in {where}; train it first with POST /train")

    def load(self, entry: ModelEntry):
        from runtime.aiops.detectors import MetricModel

        key = (entry.version, entry.metric)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        path = self.root / entry.version / str(entry.info.get("file", ""))
        if path.parent != self.root / entry.version or not path.is_file():
            raise ModelRejected(f"model file for {entry.metric!r} in {entry.version} is missing")
        size = path.stat().st_size
        if size > self.max_model_bytes:
            raise ModelRejected(f"model file for {entry.metric!r} is {size} bytes, over the limit")
        data = path.read_bytes()
        if not hmac.compare_digest(hashlib.sha256(data).hexdigest(), str(entry.info.get("sha256", ""))):
            raise ModelRejected(f"model file for {entry.metric!r} in {entry.version} does not match its "
                                "manifest SHA-256; refusing to load it")
        try:
            untrusted = sio.get_untrusted_types(data=data)
        except Exception as exc:
            raise ModelRejected(f"model file for {entry.metric!r} is not a valid skops file: {exc}") from None
        refused = [name for name in untrusted if not name.startswith(_TRUSTED_PREFIXES)]
        if refused:
            raise ModelRejected(f"model file for {entry.metric!r} contains disallowed types: {refused}")
        model = MetricModel.from_state(sio.loads(data, trusted=untrusted))
        with self._lock:
            self._cache[key] = model
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return model

    def listing(self) -> list[dict]:
        out = []
        for version in reversed(self.versions()):
            try:
                manifest = self.manifest(version)
            except ModelRejected as exc:
                out.append({"version": version, "error": str(exc), "metrics": {}})
                continue
            out.append({"version": version, "created_at": manifest.get("created_at"),
                        "metrics": {metric: {key: info.get(key) for key in
                                             ("kind", "n_points", "validation_score", "service", "bytes")}
                                    for metric, info in sorted(manifest["models"].items())}})
        return out
