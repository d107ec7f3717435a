"""A no-change recompile skips the work for every service whose inputs did not change.

For each service the cache keeps a fingerprint of its inputs (every file in its spec folder, the platform
config, the compiler's own source and the library versions), its resolved plan as JSON, its warnings, and the
size and mtime of each file it generated. A service is reused only when the fingerprint matches and every one
of its generated files still has the recorded size and mtime (a hand-edited file is rebuilt and overwritten).
The cache lives beside the output folder in `.platformc-cache/` (never committed); losing it only costs time.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .errors import Diagnostic
from .project import CONFIG_FILE, ServicePlan
from .spec.service import ServiceSpec

CACHE_FORMAT = 1
CACHE_DIR = ".platformc-cache"


def _hash_tree(digest: "hashlib._Hash", root: Path, pattern: str = "**/*") -> None:
    for path in sorted(p for p in root.glob(pattern) if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")


def shared_fingerprint(specs: Path, extra: str = "") -> str:
    """What every service's output depends on besides its own folder."""
    import pydantic
    import yaml

    digest = hashlib.sha256(f"{CACHE_FORMAT}|{sys.version}|{pydantic.VERSION}|{yaml.__version__}|{extra}".encode())
    _hash_tree(digest, Path(__file__).parent)
    config = specs / CONFIG_FILE
    digest.update(config.read_bytes() if config.is_file() else b"-")
    return digest.hexdigest()


def _seal(entry: dict) -> str:
    """A digest of an entry's content (without its seal): an entry edited after it was saved is ignored."""
    content = {k: v for k, v in entry.items() if k != "seal"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _stat_of(root: str, rel: str) -> tuple[int, int]:
    """Size and mtime of a generated file (plain strings: pathlib costs more than the stat itself here)."""
    stat = os.stat(f"{root}/{rel}")
    return stat.st_size, stat.st_mtime_ns


def plan_to_json(plan: ServicePlan) -> dict:
    return {"name": plan.name, "team": plan.team, "tier": plan.tier, "source": plan.source,
            "base": plan.base.model_dump(mode="json"),
            "envs": {env: spec.model_dump(mode="json") for env, spec in plan.envs.items()}}


def plan_from_json(data: dict, spec_dir: Path) -> ServicePlan:
    return ServicePlan(data["name"], data["team"], data["tier"], data["source"], spec_dir,
                       ServiceSpec.model_validate(data["base"]),
                       {env: ServiceSpec.model_validate(spec) for env, spec in data["envs"].items()})


@dataclass
class BuildCache:
    path: Path
    shared: str
    entries: dict[str, dict] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, out: Path, shared: str) -> "BuildCache":
        path = out.absolute().parent / CACHE_DIR / f"{out.absolute().name}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = data["services"] if data.get("shared") == shared else {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            entries = {}
        if not isinstance(entries, dict):
            entries = {}
        # A damaged or hand-edited entry must never fail a compile nor be trusted: keep only sealed ones.
        return cls(path, shared, {k: v for k, v in entries.items()
                                  if isinstance(v, dict) and v.get("seal") == _seal(v)})

    def _fingerprint(self, spec_dir: Path) -> str:
        key = spec_dir.as_posix()
        if key not in self.fingerprints:
            digest = hashlib.sha256(self.shared.encode())
            _hash_tree(digest, spec_dir)
            self.fingerprints[key] = digest.hexdigest()
        return self.fingerprints[key]

    def lookup(self, spec_file: Path) -> tuple[ServicePlan, list[Diagnostic]] | None:
        """The cached plan of this spec file when its inputs are unchanged (used by load_project)."""
        entry = self.entries.get(spec_file.parent.as_posix())
        if not entry or entry.get("fingerprint") != self._fingerprint(spec_file.parent):
            return None
        try:
            plan = plan_from_json(entry["plan"], spec_file.parent)
            warnings = [Diagnostic(*w) for w in entry["warnings"]]
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
        return plan, warnings

    def unchanged_files(self, plan: ServicePlan, out: Path) -> list[str] | None:
        """The service's generated files when every one is still exactly as this cache last saw it."""
        entry = self.entries.get(plan.spec_dir.as_posix())
        if not entry or entry.get("fingerprint") != self._fingerprint(plan.spec_dir):
            return None
        try:
            recorded = {rel: (size, mtime) for rel, (size, mtime) in entry["files"].items()}
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
        root = os.fspath(out)
        for rel, recorded_stat in recorded.items():
            try:
                if _stat_of(root, rel) != recorded_stat:
                    return None
            except (OSError, TypeError, ValueError):
                return None
        return sorted(recorded)

    def save(self, out: Path, services: list[ServicePlan], files_of: dict[str, list[str]],
             warnings_of: dict[str, list[Diagnostic]]) -> None:
        """Record every service's plan and the current stat of its files (after they were written)."""
        entries = {}
        root = os.fspath(out)
        for plan in services:
            stats = {rel: list(_stat_of(root, rel)) for rel in files_of[plan.name]}
            entry = {
                "fingerprint": self._fingerprint(plan.spec_dir), "plan": plan_to_json(plan), "files": stats,
                "warnings": [[d.path, d.line, d.col, d.message, d.severity] for d in warnings_of.get(plan.name, [])]}
            entries[plan.spec_dir.as_posix()] = {**entry, "seal": _seal(entry)}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".tmp-{os.getpid()}")
            tmp.write_text(json.dumps({"shared": self.shared, "services": entries}), encoding="utf-8")
            tmp.replace(self.path)
        except OSError:
            pass  # a cache that cannot be written only costs time on the next compile
