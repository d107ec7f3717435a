"""Which replica owns a piece of work: rendezvous (highest random weight) hashing over the replicas.

Stable across processes and restarts (SHA-256, not Python's salted `hash`), and when the replica count
changes only the keys of the added/removed replica move.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

_POD_ORDINAL = re.compile(r"-(\d+)$")


def _weight(key: str, replica: int) -> int:
    digest = hashlib.sha256(f"{replica}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def owner_of(key: str, count: int) -> int:
    if count <= 1:
        return 0
    return max(range(count), key=lambda replica: _weight(key, replica))


@dataclass(frozen=True)
class ReplicaIdentity:
    ordinal: int
    count: int

    def owns(self, key: str) -> bool:
        return owner_of(key, self.count) == self.ordinal

    @classmethod
    def resolve(cls, ordinal: int | None, count: int | None, env: dict | None = None) -> ReplicaIdentity:
        """Config first, then RUNTIME_REPLICA_ORDINAL/RUNTIME_REPLICA_COUNT, then HOSTNAME's `-N` suffix."""
        env = os.environ if env is None else env
        if count is None:
            raw = env.get("RUNTIME_REPLICA_COUNT", "")
            count = int(raw) if raw.isdigit() and int(raw) > 0 else 1
        if ordinal is None and env.get("RUNTIME_REPLICA_ORDINAL", "").isdigit():
            ordinal = int(env["RUNTIME_REPLICA_ORDINAL"])
        if ordinal is None:
            match = _POD_ORDINAL.search(env.get("HOSTNAME", ""))
            ordinal = int(match.group(1)) if match and count > 1 else 0
        if ordinal >= count:
            raise ValueError(f"replica ordinal {ordinal} is not below the replica count {count}")
        return cls(ordinal=ordinal, count=count)
