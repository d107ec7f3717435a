"""The plan: what to build, for which service and environment.

A `Target` is one service seen from one environment (or from no environment: the Kustomize base).
Emitters receive Targets and nothing else, so they stay pure functions of the model.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import conventions as names
from .project import Project, ServicePlan
from .spec.config import Environment, PlatformConfig
from .spec.service import ServiceSpec


@dataclass(frozen=True)
class Target:
    service: ServicePlan
    spec: ServiceSpec
    env: Environment | None
    config: PlatformConfig

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def namespace(self) -> str:
        return self.service.team

    @property
    def production(self) -> bool:
        return self.env is not None and self.env.production

    @property
    def labels(self) -> dict[str, str]:
        return names.common_labels(self.service.name, self.service.team, self.service.tier)

    @property
    def replicas(self) -> int:
        """Replicas when fixed, or the floor the autoscaler keeps."""
        return self.spec.scaling.minReplicas if self.spec.scaling else self.spec.replicas

    def metadata(self, name: str | None = None, **extra) -> dict:
        meta = {"name": name or self.name, "namespace": self.namespace, "labels": dict(self.labels)}
        meta.update(extra)
        return meta


def base_target(service: ServicePlan, config: PlatformConfig) -> Target:
    return Target(service, service.base, None, config)


def env_targets(project: Project, service: ServicePlan) -> list[Target]:
    return [Target(service, service.envs[env.name], env, project.config) for env in project.environments]
