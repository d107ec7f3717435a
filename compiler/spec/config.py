"""The optional repository-level `specs/platform-config.yaml`."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .base import DnsLabel, Duration, ObjectName, SpecModel, SpecValueError
from .platform import PlatformStack


class Environment(SpecModel):
    name: DnsLabel
    production: bool = Field(False, description="Production defaults: topology spread, stricter disruption budget.")


class GitSource(SpecModel):
    url: str = Field("ssh://git@github.com/acme/platform.git", description="Repository Flux reads.")
    branch: str = "main"
    sourceName: ObjectName = Field("flux-system", description="GitRepository object Flux Kustomizations read from; "
                                   "'flux-system' is the one `flux bootstrap` creates.")
    path: str = Field("generated", pattern=r"^[A-Za-z0-9_.][A-Za-z0-9_./-]*$",
                      description="Where the compiled output lives inside the repository (Flux paths start here).")
    createSource: bool = Field(False, description="Emit the GitRepository object (when it is not bootstrapped).")


class PlatformConfigSpec(SpecModel):
    environments: list[Environment] = Field(
        default_factory=lambda: [Environment(name="dev"), Environment(name="staging"),
                                 Environment(name="prod", production=True)])
    git: GitSource = GitSource()
    monitoringNamespace: DnsLabel = "monitoring"
    fluxNamespace: DnsLabel = "flux-system"
    interval: Duration = Field("10m", description="How often Flux re-applies the generated objects.")
    defaults: dict[str, Any] = Field(default_factory=dict, description="Spec values merged under every service spec.")
    platform: PlatformStack = Field(PlatformStack(), description="The shared observability and delivery stack "
                                    "(generated/platform/<env>/): sizing per environment and alert receivers.")

    @field_validator("environments")
    @classmethod
    def _unique_environments(cls, envs: list[Environment]) -> list[Environment]:
        names = [e.name for e in envs]
        if not names:
            raise ValueError("at least one environment is needed")
        for index, name in enumerate(names):
            if name in names[:index]:
                raise SpecValueError(f"environment '{name}' is already listed (entry {names.index(name) + 1}); "
                                     "remove this entry", at=(index, "name"))
        return envs

    @model_validator(mode="after")
    def _platform_environments_known(self) -> "PlatformConfigSpec":
        names = [e.name for e in self.environments]
        unknown = sorted(set(self.platform.environments) - set(names))
        if unknown:
            raise SpecValueError(f"platform.environments names unknown environment(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(names)}", at=("platform", "environments", unknown[0]),
                                 on_key=True)
        for index, env in enumerate(self.platform.aiops.remediateIn):
            if env not in names:
                raise SpecValueError(f"platform.aiops.remediateIn names unknown environment '{env}'; "
                                     f"known: {', '.join(names)}", at=("platform", "aiops", "remediateIn", index))
        return self


class PlatformConfig(SpecModel):
    apiVersion: Literal["platform/v1"] = "platform/v1"
    kind: Literal["PlatformConfig"] = "PlatformConfig"
    spec: PlatformConfigSpec = PlatformConfigSpec()

    def environment_names(self) -> list[str]:
        return [e.name for e in self.spec.environments]
