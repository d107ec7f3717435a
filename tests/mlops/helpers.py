"""Compile example or hand-written specs with the real compiler and pick out what the MLOps/LLMOps emitters made."""
from __future__ import annotations

from pathlib import Path

import yaml

from compiler.emitters import emit_service
from compiler.plan import Target, env_targets
from compiler.project import load_project
from tests.tools import REPO

EXAMPLES = REPO / "specs"
CONFIG = {"apiVersion": "platform/v1", "kind": "PlatformConfig",
          "spec": {"environments": [{"name": "dev"}, {"name": "prod", "production": True}]}}


def example_target(service: str, env: str = "prod") -> Target:
    project = load_project(EXAMPLES)
    plan = next(s for s in project.services if s.name == service)
    return next(t for t in env_targets(project, plan) if t.env.name == env)


def write_service(folder: Path, name: str, team: str, spec: dict, files: dict[str, str] | None = None) -> Path:
    """A specs folder holding one service (and files beside it); returns the specs folder."""
    specs = folder / "specs"
    (specs / name).mkdir(parents=True, exist_ok=True)
    (specs / "platform-config.yaml").write_text(yaml.safe_dump(CONFIG))
    doc = {"apiVersion": "platform/v1", "kind": "Service", "metadata": {"name": name, "team": team}, "spec": spec}
    (specs / name / "platform.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    for rel, text in (files or {}).items():
        (specs / name / rel).parent.mkdir(parents=True, exist_ok=True)
        (specs / name / rel).write_text(text)
    return specs


def target_of(specs: Path, env: str = "prod") -> Target:
    project = load_project(specs)
    return next(t for t in env_targets(project, project.services[0]) if t.env.name == env)


def objects(t: Target) -> list[dict]:
    return emit_service(t)


def find(docs: list[dict], kind: str, name: str | None = None) -> dict:
    matches = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {[d['metadata']['name'] for d in matches]}"
    return matches[0]


def rules_file(rules: list[dict], path: Path, *, keep_annotations: bool = True) -> Path:
    """PrometheusRule objects as one Prometheus rules file (what the operator hands Prometheus)."""
    groups = []
    for rule in rules:
        for group in rule["spec"]["groups"]:
            items = [r if keep_annotations else {k: v for k, v in r.items() if k != "annotations"}
                     for r in group["rules"]]
            groups.append({**group, "rules": items})
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path
