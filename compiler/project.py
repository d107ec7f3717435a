"""Loading and validating every spec of a repository into one resolved, per-environment model.

raw YAML (with marks) -> ServiceFile (pydantic) -> one ServiceSpec per environment (overrides merged,
validated again) -> cross-file checks. Every problem in every file is collected before anything fails.
"""
from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from .checks import run_checks
from .diagnose import validation_diagnostics
from .errors import Diagnostic, PlatformError, SpecError
from .loader import LoadedDoc, load_yaml
from .merge import deep_merge, subdoc, without
from .spec.base import DNS_LABEL
from .spec.config import Environment, PlatformConfig
from .spec.service import ServiceFile, ServiceSpec

SPEC_FILE = "platform.yaml"
CONFIG_FILE = "platform-config.yaml"


@dataclass(frozen=True)
class ServicePlan:
    """One service, resolved: its base spec and its spec in every environment."""

    name: str
    team: str
    tier: str
    source: str  # repository-relative spec path, the same on every machine (it is written into headers)
    spec_dir: Path
    base: ServiceSpec
    envs: dict[str, ServiceSpec]


@dataclass
class Project:
    config: PlatformConfig
    services: list[ServicePlan]
    warnings: list[Diagnostic] = field(default_factory=list)
    service_warnings: dict[str, list[Diagnostic]] = field(default_factory=dict)

    @property
    def environments(self) -> list[Environment]:
        return list(self.config.spec.environments)


def display_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(path)


def discover(specs_dir: Path) -> list[Path]:
    """Every `specs/<service>/platform.yaml`, in a stable order whatever the file system lists first."""
    return sorted(p for p in specs_dir.glob(f"*/{SPEC_FILE}") if p.is_file())


def misnamed_files(specs_dir: Path) -> list[Diagnostic]:
    """Spec and config files under a near-miss name (platform.yml, Platform.yaml, ...), which would be skipped:
    a skipped spec gets its service pruned, a skipped config silently swaps in the default environments."""
    wanted = [(specs_dir, CONFIG_FILE)] + [(d, SPEC_FILE) for d in sorted(specs_dir.iterdir()) if d.is_dir()]
    problems = []
    for folder, name in wanted:
        if (folder / name).is_file():
            continue
        stem = name.rsplit(".", 1)[0]
        for candidate in sorted(folder.iterdir()):
            if candidate.is_file() and candidate.name.lower() in (f"{stem}.yml", f"{stem}.yaml"):
                problems.append(Diagnostic(display_path(candidate), 1, 1, f"this file is not read: name it "
                                           f"'{name}' (exactly) so platformc finds it"))
    return problems


def load_config(specs_dir: Path) -> tuple[PlatformConfig, LoadedDoc | None]:
    file = specs_dir / CONFIG_FILE
    if not file.exists():
        return PlatformConfig(), None
    doc = load_yaml(file, display_path(file))
    try:
        return PlatformConfig.model_validate(doc.data), doc
    except ValidationError as exc:
        raise SpecError(validation_diagnostics(exc, doc, PlatformConfig)) from None


def _as_default(problem: Diagnostic) -> Diagnostic:
    """A problem in a value from platform-config.yaml's `spec.defaults`, named the way it is written there."""
    if problem.message.startswith("spec."):
        return dataclasses.replace(problem, message="spec.defaults." + problem.message[len("spec."):])
    return problem


def _declared_name(doc: LoadedDoc) -> str | None:
    """`metadata.name` when it is a plausible name, even if the rest of the spec is invalid."""
    metadata = doc.data.get("metadata") if isinstance(doc.data, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) and DNS_LABEL.match(name) else None


def _resolve_service(doc: LoadedDoc, config: PlatformConfig, defaults: LoadedDoc | None,
                     file: Path) -> tuple[ServicePlan | None, list[Diagnostic]]:
    if not isinstance(doc.data, dict):
        return None, [doc.diagnostic((), "a spec must be a mapping with apiVersion, kind, metadata and spec")]
    if defaults is not None and isinstance(doc.data.get("spec"), dict):
        merged_spec = deep_merge(defaults, subdoc(doc, ("spec",)))
        doc = _replace_spec(doc, merged_spec)
    try:
        service = ServiceFile.model_validate(doc.data)
    except ValidationError as exc:
        return None, validation_diagnostics(exc, doc, ServiceFile)
    problems: list[Diagnostic] = []
    folder = file.parent.name
    if service.metadata.name != folder:
        problems.append(doc.diagnostic(("metadata", "name"),
                                       f"metadata.name: '{service.metadata.name}' does not match the folder "
                                       f"'{folder}' the spec is in; a spec lives in <specs>/<name>/{SPEC_FILE}, so "
                                       "rename the folder or the service"))
    spec_doc = subdoc(doc, ("spec",))
    envs, env_problems = _resolve_environments(service.spec, spec_doc, config)
    problems += env_problems
    if problems:
        return None, problems
    source = f"{file.parent.parent.resolve().name}/{folder}/{file.name}"
    plan = ServicePlan(service.metadata.name, service.metadata.team, service.metadata.tier,
                       source, file.parent, service.spec, envs)
    return plan, run_checks(plan, spec_doc, config)


def _replace_spec(doc: LoadedDoc, spec: LoadedDoc) -> LoadedDoc:
    data = dict(doc.data, spec=spec.data)
    marks = {k: m for k, m in doc.marks.items() if k[:1] != ("spec",)}
    marks.update({("spec",) + k: m for k, m in spec.marks.items()})
    key_marks = {k: m for k, m in doc.key_marks.items() if k[:1] != ("spec",) or len(k) == 1}
    key_marks.update({("spec",) + k: m for k, m in spec.key_marks.items()})
    return LoadedDoc(doc.path, data, marks, key_marks)


def _resolve_environments(base: ServiceSpec, spec_doc: LoadedDoc,
                          config: PlatformConfig) -> tuple[dict[str, ServiceSpec], list[Diagnostic]]:
    names = config.environment_names()
    problems = []
    for env in base.environments:
        if env not in names:
            close = difflib.get_close_matches(env, names, n=1) or [n for n in names if env.startswith(n)][:1]
            hint = f"did you mean '{close[0]}'?" if close else f"known environments: {', '.join(names)}"
            problems.append(spec_doc.diagnostic(("environments", env),
                                                f"spec.environments.{env}: unknown environment '{env}'; {hint}",
                                                key=True))
        elif "environments" in base.environments[env]:
            problems.append(spec_doc.diagnostic(("environments", env, "environments"),
                                                f"spec.environments.{env}.environments: an override cannot contain "
                                                "'environments'; move these overrides up one level", key=True))
    if problems:
        return {}, problems
    common = without(spec_doc, "environments")
    resolved = {}
    for env in names:
        override = base.environments.get(env)
        if override is None:
            resolved[env] = base.model_copy(update={"environments": {}})
            continue
        over_doc = subdoc(spec_doc, ("environments", env))
        if "replicas" in override and "scaling" not in override:
            over_doc = LoadedDoc(over_doc.path, dict(over_doc.data, scaling=None), over_doc.marks, over_doc.key_marks)
        merged = deep_merge(common, over_doc)
        try:
            resolved[env] = ServiceSpec.model_validate(merged.data)
        except ValidationError as exc:
            problems += validation_diagnostics(exc, merged, ServiceSpec, ("spec",),
                                               where_note=f" (environment '{env}')")
    return resolved, problems


Reuse = Callable[[Path], "tuple[ServicePlan, list[Diagnostic]] | None"]


def load_project(specs_dir: Path, files: list[Path] | None = None, reuse: Reuse | None = None) -> Project:
    """Load, validate and resolve the specs; raise SpecError with every problem found in every file.

    `reuse(spec_file)` may return an already resolved plan (and its warnings) for a spec whose inputs did
    not change since it was last validated; see compiler/cache.py.
    """
    if files is None and not specs_dir.is_dir():
        # Compiling "no services" here would prune every service from the output.
        raise PlatformError(f"the specs folder '{specs_dir}' does not exist; run platformc from the repository "
                            "root or pass --specs DIR")
    problems: list[Diagnostic] = misnamed_files(specs_dir) if files is None else []
    try:
        config, config_doc = load_config(specs_dir)
    except SpecError as exc:
        problems += exc.diagnostics
        config, config_doc = PlatformConfig(), None
    defaults = subdoc(config_doc, ("spec", "defaults")) if config_doc and config.spec.defaults else None
    services: list[ServicePlan] = []
    service_warnings: dict[str, list[Diagnostic]] = {}
    seen: dict[str, str] = {}
    for file in sorted(files) if files is not None else discover(specs_dir):
        cached = reuse(file) if reuse else None
        if cached is not None and cached[0].name not in seen:
            plan, found = cached
            seen[plan.name] = display_path(file)
            services.append(plan)
            problems += found
            service_warnings[plan.name] = found
            continue
        try:
            doc = load_yaml(file, display_path(file))
        except SpecError as exc:
            problems += exc.diagnostics
            continue
        name = _declared_name(doc)
        duplicate = name in seen
        if duplicate:
            problems.append(doc.diagnostic(("metadata", "name"),
                                           f"metadata.name: a service named '{name}' is already defined in "
                                           f"{seen[name]}; service names must be unique"))
        elif name is not None:
            seen[name] = doc.path
        plan, found = _resolve_service(doc, config, defaults, file)
        problems += [_as_default(p) if p.path != doc.path else p for p in found]
        if plan is None or duplicate or any(p.severity == "error" for p in found):
            continue
        services.append(plan)
        service_warnings[plan.name] = found
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise SpecError(problems)
    return Project(config, sorted(services, key=lambda s: s.name), [p for p in problems if p.severity != "error"],
                   service_warnings)
