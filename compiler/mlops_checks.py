"""Checks of the model and llm blocks that need files beside the spec or the service's SLOs
(registered in checks.CHECKS)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import Diagnostic
from .loader import LoadedDoc
from .spec.model import rollout_problems

if TYPE_CHECKING:
    from .project import ServicePlan
    from .spec.config import PlatformConfig

MAX_PROMPT_BYTES = 256 * 1024


def _prompt_problem(service: "ServicePlan", file: str) -> str | None:
    path = service.spec_dir / file
    if not path.resolve().is_relative_to(service.spec_dir.resolve()):
        return (f"prompt file '{file}' is outside the spec's folder; keep prompts beside platform.yaml "
                "(e.g. prompts/<name>.md) so the service owns them")
    if not path.is_file():
        return (f"prompt file '{file}' does not exist (looked for {path}); create it or fix the path, which is "
                "relative to the spec's folder")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return f"prompt file '{file}' cannot be read: {exc.strerror}"
    if len(raw) > MAX_PROMPT_BYTES:
        return f"prompt file '{file}' is {len(raw)} bytes; at most {MAX_PROMPT_BYTES} fit a ConfigMap comfortably"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return f"prompt file '{file}' is not UTF-8 text; save it as UTF-8"
    if not text.strip():
        return f"prompt file '{file}' is empty; write the prompt (the system message) into it"
    return None


def _specs(service: "ServicePlan"):
    """(location prefix, spec) for the base and every environment that changes the model or llm block:
    environment overrides are checked too, at their own position."""
    yield (), service.base
    for env, spec in sorted(service.envs.items()):
        override = service.base.environments.get(env) or {}
        if "model" in override or "llm" in override:
            yield ("environments", env), spec


def prompt_files(service: "ServicePlan", spec_doc: LoadedDoc, config: "PlatformConfig") -> list[Diagnostic]:
    """Every prompt file exists, is UTF-8 and not empty: the compiler copies it into a ConfigMap."""
    reported: set[str] = set()
    problems = []
    for prefix, spec in _specs(service):
        for i, prompt in enumerate(spec.llm.prompts if spec.llm else []):
            message = _prompt_problem(service, prompt.file)
            if message and prompt.file not in reported:
                reported.add(prompt.file)
                where = "spec." + ".".join(map(str, prefix + ("llm", "prompts"))) + f"[{i}].file"
                problems.append(spec_doc.diagnostic(prefix + ("llm", "prompts", i, "file"), f"{where}: {message}"))
    return problems


def rollback_limits(service: "ServicePlan", spec_doc: LoadedDoc, config: "PlatformConfig") -> list[Diagnostic]:
    seen: set[str] = set()
    problems = []
    for prefix, spec in _specs(service):
        for loc, message in rollout_problems(spec):
            text = "spec." + ".".join(map(str, prefix + loc)) + ": " + message
            if message not in seen:
                seen.add(message)
                problems.append(spec_doc.diagnostic(prefix + loc, text))
    return problems


def llm_slo_names(service: "ServicePlan", spec_doc: LoadedDoc, config: "PlatformConfig") -> list[Diagnostic]:
    """LLM SLOs share the SLO series namespace (`slo` label) with spec.slos, so names must not collide."""
    llm = service.base.llm
    if llm is None:
        return []
    taken = {slo.name for slo in service.base.slos}
    return [spec_doc.diagnostic(("llm", "slos", i, "name"), f"spec.llm.slos[{i}].name: '{slo.name}' is also the "
                                "name of an SLO in spec.slos; rename one of them")
            for i, slo in enumerate(llm.slos) if slo.name in taken]


def rollout_provider(service: "ServicePlan", spec_doc: LoadedDoc, config: "PlatformConfig") -> list[Diagnostic]:
    """A canary can only use the traffic provider the platform's Flagger was installed for."""
    platform = config.spec.platform.meshProvider
    problems = []
    for prefix, spec in _specs(service):
        rollout = spec.model.rollout if spec.model else None
        provider = rollout.provider if rollout else None
        if provider and provider != platform:
            where = "spec." + ".".join(map(str, prefix + ("model", "rollout", "provider")))
            problems.append(spec_doc.diagnostic(
                prefix + ("model", "rollout", "provider"),
                f"{where}: '{provider}' is not the platform's Flagger provider ('{platform}'); remove the field "
                f"or set platform.meshProvider: {provider} in platform-config.yaml (and install that mesh)"))
    return problems


MLOPS_CHECKS = [prompt_files, rollback_limits, llm_slo_names, rollout_provider]
