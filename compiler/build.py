"""From the resolved project to the whole output tree, as data: {relative path: OutputFile}.

Per service: a Kustomize base built from the spec without overrides, and per environment an overlay of
JSON patches (what that environment changes), added objects and deletions, all in one flat folder
(`patch-*.yaml`, `delete-*.yaml`: on disk a new folder costs about ten times a new file). Per environment:
the Flux Kustomizations that reconcile every overlay. Nothing here touches the disk.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import conventions as names
from .emitters import PROJECT_EMITTERS, cluster, emit_service, platform_aiops
from .output import OutputFile, Tree
from .patch import json_patch
from .plan import base_target, env_targets
from .project import Project, ServicePlan


@dataclass
class BuildOptions:
    bootstrapped_envs: frozenset[str] = field(default_factory=frozenset)
    """Environments whose `clusters/<env>/flux-system/` exists (made by `flux bootstrap`): listed, never owned."""


def _object_key(doc: dict) -> tuple[str, str, str]:
    return doc["kind"], doc["metadata"].get("namespace", ""), doc["metadata"]["name"]


def _file_name(doc: dict) -> str:
    return f"{doc['kind'].lower()}-{doc['metadata']['name']}.yaml"


def _target(doc: dict) -> dict:
    group, _, version = doc["apiVersion"].rpartition("/")
    target = {"group": group, "version": version, "kind": doc["kind"], "name": doc["metadata"]["name"]}
    if "namespace" in doc["metadata"]:
        target["namespace"] = doc["metadata"]["namespace"]
    return {k: v for k, v in target.items() if v}


def kustomization(resources: list[str], **extra) -> dict:
    doc = {"apiVersion": names.KUSTOMIZE_API, "kind": "Kustomization", "resources": resources}
    doc.update({k: v for k, v in extra.items() if v})
    return doc


def _service_files(project: Project, service: ServicePlan) -> Tree:
    root = names.service_dir(service.name)
    src = service.source
    files: Tree = {}
    base_docs = emit_service(base_target(service, project.config))
    base = {_object_key(d): d for d in base_docs}
    for doc in base_docs:
        files[f"{root}/{names.BASE_DIR}/{_file_name(doc)}"] = OutputFile(src, doc)
    files[f"{root}/{names.BASE_DIR}/kustomization.yaml"] = OutputFile(
        src, kustomization(sorted(_file_name(d) for d in base_docs)))
    for target in env_targets(project, service):
        overlay = names.overlay_dir(service.name, target.env.name)
        env_docs = emit_service(target)
        env_keys = {_object_key(d) for d in env_docs}
        added, patches = [], []
        for doc in env_docs:
            key = _object_key(doc)
            if key not in base:
                files[f"{overlay}/{_file_name(doc)}"] = OutputFile(src, doc)
                added.append(_file_name(doc))
                continue
            ops = json_patch(base[key], doc)
            if ops:
                path = f"patch-{_file_name(doc)}"
                files[f"{overlay}/{path}"] = OutputFile(src, ops)
                patches.append({"path": path, "target": _target(doc)})
        for key, doc in base.items():
            if key not in env_keys:
                path = f"delete-{_file_name(doc)}"
                meta = {"name": doc["metadata"]["name"], "namespace": doc["metadata"]["namespace"]}
                files[f"{overlay}/{path}"] = OutputFile(
                    src, {"apiVersion": doc["apiVersion"], "kind": doc["kind"], "metadata": meta, "$patch": "delete"})
                patches.append({"path": path})
        labels = [{"pairs": {names.LABEL_ENV: target.env.name}, "includeSelectors": False, "includeTemplates": True}]
        files[f"{overlay}/kustomization.yaml"] = OutputFile(
            src, kustomization(["../../base", *sorted(added)], labels=labels,
                               patches=sorted(patches, key=lambda p: p["path"])))
    return files


def _team_files(project: Project, team: str, sources: str) -> Tree:
    root = f"{names.TEAMS_DIR}/{team}"
    return {f"{root}/namespace.yaml": OutputFile(sources, cluster.namespace(team)),
            f"{root}/kustomization.yaml": OutputFile(sources, kustomization(["namespace.yaml"]))}


def _cluster_service_files(project: Project, service: ServicePlan) -> Tree:
    return {f"{names.cluster_dir(env.name)}/services/{service.name}.yaml":
            OutputFile(service.source, cluster.service_kustomization(project, service, env))
            for env in project.environments}


def _cluster_files(project: Project, options: BuildOptions, teams: dict[str, list[str]]) -> Tree:
    files: Tree = {}
    for env in project.environments:
        root = names.cluster_dir(env.name)
        listed = []
        for team, sources in teams.items():
            rel = f"teams/{team}.yaml"
            files[f"{root}/{rel}"] = OutputFile(", ".join(sources), cluster.team_kustomization(project, team))
            listed.append(rel)
        listed += [f"services/{service.name}.yaml" for service in project.services]
        rel = f"{names.PLATFORM_DIR}.yaml"
        files[f"{root}/{rel}"] = OutputFile("specs/platform-config.yaml", cluster.platform_kustomization(project, env))
        listed.append(rel)
        rel = f"{names.AIOPS_DIR}.yaml"
        files[f"{root}/{rel}"] = OutputFile("specs/platform-config.yaml", cluster.aiops_kustomization(
            project, env, platform_aiops.flux_dependencies(project, env.name)))
        listed.append(rel)
        for doc in cluster.git_repository(project):
            rel = f"sources/{_file_name(doc)}"
            files[f"{root}/{rel}"] = OutputFile("specs/platform-config.yaml", doc)
            listed.append(rel)
        if env.name in options.bootstrapped_envs:
            listed.append(names.FLUX_BOOTSTRAP_DIR)
        files[f"{root}/kustomization.yaml"] = OutputFile("every spec in specs/", kustomization(sorted(listed)))
    return files


def service_tree(project: Project, service: ServicePlan) -> Tree:
    """Every file that depends on this one service alone (its base, overlays and Flux Kustomizations)."""
    return {**_service_files(project, service), **_cluster_service_files(project, service)}


def shared_tree(project: Project, options: BuildOptions) -> Tree:
    """Files that depend on several services or on none: team namespaces, cluster lists, project emitters."""
    files: Tree = {}
    teams: dict[str, list[str]] = {}
    for service in project.services:
        teams.setdefault(service.team, []).append(service.source)
    for team in sorted(teams):
        files.update(_team_files(project, team, ", ".join(teams[team])))
    files.update(_cluster_files(project, options, dict(sorted(teams.items()))))
    for emitter in PROJECT_EMITTERS:
        files.update(emitter(project))
    return files


def build_tree(project: Project, options: BuildOptions | None = None) -> Tree:
    files: Tree = {}
    for service in project.services:
        files.update(service_tree(project, service))
    files.update(shared_tree(project, options or BuildOptions()))
    return dict(sorted(files.items()))
