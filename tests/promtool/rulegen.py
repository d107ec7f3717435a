"""Compile a one-service spec with the real compiler and write its PrometheusRule as a Prometheus rules file."""
from __future__ import annotations

from pathlib import Path

import yaml

from compiler.emitters import slo as slo_emitter
from compiler.plan import env_targets
from compiler.project import load_project

SERVICE = "shop"
TEAM = "web"
ENV = "dev"
CONFIG = {"apiVersion": "platform/v1", "kind": "PlatformConfig",
          "spec": {"environments": [{"name": ENV}, {"name": "prod", "production": True}]}}


def service_spec(slos: list[dict], policy: dict | None = None, *, name: str = SERVICE, team: str = TEAM,
                 **extra) -> dict:
    spec = {"image": f"ghcr.io/acme/{name}:1.0.0", "port": 8080, "slos": slos, **extra}
    if policy is not None:
        spec["errorBudgetPolicy"] = policy
    return {"apiVersion": "platform/v1", "kind": "Service", "metadata": {"name": name, "team": team},
            "spec": spec}


def write_specs(folder: Path, spec: dict) -> Path:
    specs = folder / "specs"
    name = spec["metadata"]["name"]
    (specs / name).mkdir(parents=True, exist_ok=True)
    (specs / "platform-config.yaml").write_text(yaml.safe_dump(CONFIG))
    (specs / name / "platform.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return specs


def prometheus_rule(folder: Path, spec: dict, env: str = ENV) -> dict:
    project = load_project(write_specs(folder, spec))
    target = next(t for t in env_targets(project, project.services[0]) if t.env.name == env)
    (rule,) = slo_emitter.prometheus_rule(target)
    return rule


def write_rules_file(path: Path, rule: dict) -> Path:
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False))
    return path
