"""Cross-field checks of SLOs and chaos experiments (registered in checks.CHECKS)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import conventions as names
from .errors import Diagnostic
from .loader import LoadedDoc

if TYPE_CHECKING:
    from .project import ServicePlan
    from .spec.config import PlatformConfig

CHAOS_SCHEDULE_NAME_MAX = 57
"""Chaos Mesh appends 6 characters to a Schedule's name for each experiment it creates."""


def _duplicates(items, what: str, field: str, spec_doc: LoadedDoc) -> list[Diagnostic]:
    seen: dict[str, int] = {}
    problems = []
    for i, item in enumerate(items):
        if item.name in seen:
            problems.append(spec_doc.diagnostic((field, i, "name"), f"{what} '{item.name}' is already defined "
                                                f"as {field}[{seen[item.name]}]; give each {what} its own name"))
        seen.setdefault(item.name, i)
    return problems


def unique_names(service: "ServicePlan", spec_doc: LoadedDoc, config: "PlatformConfig") -> list[Diagnostic]:
    return (_duplicates(service.base.slos, "SLO", "slos", spec_doc)
            + _duplicates(service.base.chaos, "chaos experiment", "chaos", spec_doc))


def latency_buckets(service: "ServicePlan", spec_doc: LoadedDoc, config: "PlatformConfig") -> list[Diagnostic]:
    """The runtime's standard histogram has known buckets (an error); others are unverifiable (a warning)."""
    problems = []
    for i, slo in enumerate(service.base.slos):
        latency = slo.sli.latency
        if latency is None or latency.buckets is not None:
            continue
        loc = ("slos", i, "sli", "latency", "threshold")
        if latency.metric == names.HTTP_REQUEST_DURATION:
            if latency.threshold not in names.HTTP_REQUEST_DURATION_BUCKETS:
                bounds = ", ".join(f"{b:g}" for b in names.HTTP_REQUEST_DURATION_BUCKETS)
                problems.append(spec_doc.diagnostic(loc, f"threshold {latency.threshold:g} is not a bucket bound "
                                                    f"of the runtime's {latency.metric} ({bounds}); pick one"))
            continue
        problems.append(spec_doc.diagnostic(
            loc, f"cannot check that threshold {latency.threshold:g} is a bucket bound of {latency.metric}; "
                 "declare the histogram's bounds in `buckets:` (a threshold between bounds counts nothing)",
            severity="warning"))
    return problems


def chaos_environments(service: "ServicePlan", spec_doc: LoadedDoc, config: "PlatformConfig") -> list[Diagnostic]:
    """Experiments name known environments, and never reach production unless they name it."""
    known = config.environment_names()
    production = {e.name for e in config.spec.environments if e.production}
    problems = []
    for i, exp in enumerate(service.base.chaos):
        name = names.chaos_schedule_name(service.name, exp.name)
        if len(name) > CHAOS_SCHEDULE_NAME_MAX:
            problems.append(spec_doc.diagnostic(("chaos", i, "name"), f"the Schedule name '{name}' is {len(name)} "
                                                f"characters; Chaos Mesh allows {CHAOS_SCHEDULE_NAME_MAX}: shorten it"))
        for j, env in enumerate(exp.environments or []):
            if env not in known:
                problems.append(spec_doc.diagnostic(("chaos", i, "environments", j),
                                                    f"unknown environment '{env}'; known: {', '.join(known)}"))
    for env in known:
        override = service.base.environments.get(env, {})
        if env not in production or not isinstance(override, dict) or not override.get("chaos"):
            continue
        for i, exp in enumerate(service.envs[env].chaos):
            if not exp.runs_in(env, True):
                problems.append(spec_doc.diagnostic(
                    ("environments", env, "chaos", i),
                    f"chaos experiment '{exp.name}' is set for production environment '{env}' but does not name it; "
                    f"add environments: [{env}] to run it there on purpose, or remove it from the {env} override"))
    return problems


SRE_CHECKS = (unique_names, latency_buckets, chaos_environments)
