"""The example specs compiled once per session, and the dashboards and rules found in the output."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from compiler import conventions as names
from compiler.project import Project, load_project
from tests.tools import REPO


@dataclass(frozen=True)
class FoundDashboard:
    path: str
    """The generated file (relative to the output) whose ConfigMap holds the dashboard."""
    key: str
    text: str
    namespace: str

    @property
    def json(self) -> dict:
        return json.loads(self.text)


@pytest.fixture(scope="session")
def project() -> Project:
    return load_project(REPO / "specs")


@pytest.fixture(scope="session")
def output(compiled: Path) -> Path:
    return compiled


@pytest.fixture(scope="session")
def documents(output: Path) -> dict[str, dict]:
    """Every generated YAML document, by path relative to the output."""
    docs = {}
    for path in sorted(output.rglob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict):
            docs[path.relative_to(output).as_posix()] = doc
    return docs


@pytest.fixture(scope="session")
def dashboards(documents: dict[str, dict]) -> list[FoundDashboard]:
    found = []
    for rel, doc in documents.items():
        if doc.get("kind") == "ConfigMap" and \
                doc["metadata"].get("labels", {}).get(names.DASHBOARD_LABEL) == names.DASHBOARD_LABEL_VALUE:
            for key, text in doc["data"].items():
                found.append(FoundDashboard(rel, key, text, doc["metadata"]["namespace"]))
    assert found, "the examples compile to no dashboard"
    return found


@pytest.fixture(scope="session")
def recorded_series(documents: dict[str, dict]) -> set[str]:
    """Every series a generated recording rule records (any service, any environment)."""
    return {rule["record"] for doc in documents.values() if doc.get("kind") == "PrometheusRule"
            for group in doc["spec"]["groups"] for rule in group["rules"] if "record" in rule}


def panel_targets(dashboard: dict) -> list[tuple[dict, dict]]:
    """(panel, target) for every query of every panel, rows included."""
    out = []
    for panel in dashboard["panels"]:
        children = panel.get("panels", []) if panel.get("type") == "row" else [panel]
        for child in children:
            out += [(child, target) for target in child.get("targets", [])]
    return out
