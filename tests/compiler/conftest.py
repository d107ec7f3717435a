"""Fixtures that compile the example specs once per test session and build them with real tools."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.tools import require_tool, run_tool

FLUX_PREFIX = "./generated/"


@dataclass
class BuiltTree:
    out: Path
    clusters: dict[str, list[dict]]
    """Per environment: the objects `kubectl kustomize generated/clusters/<env>` renders."""
    folders: dict[str, list[dict]]
    """Per folder a Flux Kustomization points at (relative to the output): the objects it renders."""

    def all_objects(self) -> list[dict]:
        return [doc for docs in self.folders.values() for doc in docs]


def kustomize(kubectl: str, folder: Path) -> list[dict]:
    result = run_tool([kubectl, "kustomize", str(folder)])
    assert result.returncode == 0, f"kubectl kustomize {folder} failed:\n{result.stderr}"
    return [d for d in yaml.safe_load_all(result.stdout) if d]


@pytest.fixture(scope="session")
def built(compiled: Path) -> BuiltTree:
    kubectl = require_tool("kubectl")
    clusters, folders = {}, {}
    for env_dir in sorted((compiled / "clusters").iterdir()):
        docs = kustomize(kubectl, env_dir)
        clusters[env_dir.name] = docs
        for doc in docs:
            if doc["kind"] == "Kustomization" and doc["apiVersion"].startswith("kustomize.toolkit.fluxcd.io/"):
                path = doc["spec"]["path"]
                assert path.startswith(FLUX_PREFIX), f"{doc['metadata']['name']}: path {path} is outside generated/"
                rel = path[len(FLUX_PREFIX):]
                if rel not in folders:
                    folders[rel] = kustomize(kubectl, compiled / rel)
    return BuiltTree(compiled, clusters, folders)
