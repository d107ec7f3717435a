"""Per-environment cluster objects: team namespaces and the Flux objects that reconcile every service."""
from __future__ import annotations

from .. import conventions as names
from ..project import Project, ServicePlan
from ..spec.config import Environment


def namespace(team: str) -> dict:
    """A team's namespace, enforcing the `restricted` pod security standard."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": team, "labels": {
                names.LABEL_TEAM: team, names.LABEL_MANAGED_BY: names.MANAGED_BY,
                names.LABEL_POD_SECURITY: "restricted", names.LABEL_POD_SECURITY_VERSION: "latest",
                "pod-security.kubernetes.io/audit": "restricted", "pod-security.kubernetes.io/warn": "restricted"}}}


def _flux_kustomization(project: Project, name: str, path: str, depends_on: list[str], labels: dict) -> dict:
    cfg = project.config.spec
    spec = {"interval": cfg.interval, "retryInterval": "1m", "timeout": "5m", "path": path, "prune": True,
            "wait": True, "sourceRef": {"kind": "GitRepository", "name": cfg.git.sourceName}}
    if depends_on:
        spec["dependsOn"] = [{"name": d} for d in depends_on]
    return {"apiVersion": names.FLUX_KUSTOMIZATION_API, "kind": "Kustomization",
            "metadata": {"name": name, "namespace": cfg.fluxNamespace, "labels": labels}, "spec": spec}


def team_kustomization(project: Project, team: str) -> dict:
    labels = {names.LABEL_TEAM: team, names.LABEL_MANAGED_BY: names.MANAGED_BY}
    path = names.flux_path(f"{names.TEAMS_DIR}/{team}", project.config.spec.git.path)
    return _flux_kustomization(project, names.team_kustomization(team), path, [], labels)


def service_kustomization(project: Project, service: ServicePlan, env: Environment) -> dict:
    labels = {names.LABEL_NAME: service.name, names.LABEL_TEAM: service.team,
              names.LABEL_MANAGED_BY: names.MANAGED_BY}
    path = names.flux_path(names.overlay_dir(service.name, env.name), project.config.spec.git.path)
    depends_on = [names.team_kustomization(service.team), names.PLATFORM_KUSTOMIZATION]
    return _flux_kustomization(project, service.name, path, depends_on, labels)


def platform_kustomization(project: Project, env: Environment) -> dict:
    """The shared stack (CRDs, Prometheus, Grafana, ...): never post-build substituted (dashboards hold `${var}`)."""
    labels = {names.LABEL_PART_OF: names.PLATFORM_DIR, names.LABEL_MANAGED_BY: names.MANAGED_BY}
    path = names.flux_path(names.platform_dir(env.name), project.config.spec.git.path)
    doc = _flux_kustomization(project, names.PLATFORM_KUSTOMIZATION, path, [], labels)
    doc["spec"]["timeout"] = "20m"
    return doc


def aiops_kustomization(project: Project, env: Environment, depends_on: list[str]) -> dict:
    """The AIOps runtime (platform/<env>/aiops/): after the platform, whose CRDs its ServiceMonitor needs."""
    labels = {names.LABEL_PART_OF: names.PLATFORM_DIR, names.LABEL_MANAGED_BY: names.MANAGED_BY}
    path = names.flux_path(f"{names.platform_dir(env.name)}/{names.AIOPS_DIR}", project.config.spec.git.path)
    return _flux_kustomization(project, names.AIOPS_DIR, path, depends_on, labels)


def git_repository(project: Project) -> list[dict]:
    """Only when the config asks for it: `flux bootstrap` already creates the `flux-system` source."""
    git = project.config.spec.git
    if not git.createSource:
        return []
    return [{"apiVersion": names.FLUX_SOURCE_API, "kind": "GitRepository",
             "metadata": {"name": git.sourceName, "namespace": project.config.spec.fluxNamespace,
                          "labels": {names.LABEL_MANAGED_BY: names.MANAGED_BY}},
             "spec": {"interval": "1m", "url": git.url, "ref": {"branch": git.branch}}}]
