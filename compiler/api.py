"""The library behind the CLI: validate, compile and check, as plain functions."""
from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import conventions as names
from .build import BuildOptions, service_tree, shared_tree
from .cache import BuildCache, shared_fingerprint
from .errors import Diagnostic, PlatformError
from .project import Project, load_project
from .render import owned_listing, render_file
from .writer import Changes, describe, diff_tree, owned_files, write_tree


@dataclass
class Rendered:
    """The compile's output: bytes of every file to compare or write, and owned files known to be current."""

    files: dict[str, bytes] = field(default_factory=dict)
    unchanged: set[str] = field(default_factory=set)
    files_of: dict[str, list[str]] = field(default_factory=dict)
    """Per service: the paths of the files that depend on it alone."""


@dataclass
class CompileResult:
    project: Project
    changes: Changes
    report: list[str]

    @property
    def warnings(self) -> list[Diagnostic]:
        return self.project.warnings


def _env_of(rel: str) -> str | None:
    """The environment a generated path belongs to, or None for what every environment shares."""
    parts = rel.split("/")
    if parts[0] == names.CLUSTERS_DIR and len(parts) > 2:
        return parts[1]
    if parts[0] == names.SERVICES_DIR and len(parts) > 4 and parts[2] == names.OVERLAYS_DIR:
        return parts[3]
    return None


def _select_envs(project: Project, envs: list[str] | None) -> None:
    known = [e.name for e in project.environments]
    unknown = [e for e in envs or [] if e not in known]
    if unknown:
        raise PlatformError(f"--env {', '.join(unknown)}: unknown environment; the environments are "
                            f"{', '.join(known)} (set them in platform-config.yaml)")


PARALLEL_FROM = 48
"""Below this many services to build, one process is faster than starting workers."""

_FORKED_PROJECT: Project | None = None
"""The project a forked worker renders from (inherited through fork, never pickled)."""


def _render_chunk(names_: list[str]) -> list[tuple[str, dict[str, bytes]]]:
    project = _FORKED_PROJECT
    assert project is not None
    by_name = {s.name: s for s in project.services}
    return [(name, {rel: render_file(file) for rel, file in service_tree(project, by_name[name]).items()})
            for name in names_]


def _render_services(project: Project, to_build: list[str]) -> list[tuple[str, dict[str, bytes]]]:
    """Build and render the services' own files; on a multi-core machine, in forked worker processes.
    Each service's files depend on that service alone, so the split cannot change a byte of the output."""
    global _FORKED_PROJECT
    workers = min(os.cpu_count() or 1, 4)
    if len(to_build) < PARALLEL_FROM or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        _FORKED_PROJECT = project
        try:
            return _render_chunk(to_build)
        finally:
            _FORKED_PROJECT = None
    chunks = [to_build[i::workers * 4] for i in range(workers * 4)]
    _FORKED_PROJECT = project
    try:
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return [item for chunk in pool.map(_render_chunk, chunks) for item in chunk]
    finally:
        _FORKED_PROJECT = None


def render_project(project: Project, out: Path, envs: list[str] | None = None,
                   cache: BuildCache | None = None) -> Rendered:
    """Every file the compile owns. Services the cache vouches for are not rebuilt; with `envs`, other
    environments' files stay as they are on disk."""
    rendered = Rendered()
    to_build = []
    for service in project.services:
        reused = cache.unchanged_files(service, out) if cache else None
        if reused is not None:
            rendered.unchanged.update(reused)
            rendered.files_of[service.name] = reused
        else:
            to_build.append(service.name)
    for name, files in _render_services(project, to_build):
        rendered.files.update(files)
        rendered.files_of[name] = sorted(files)
    bootstrapped = frozenset(e.name for e in project.environments
                             if (out / names.cluster_dir(e.name) / names.FLUX_BOOTSTRAP_DIR).is_dir())
    shared = shared_tree(project, BuildOptions(bootstrapped_envs=bootstrapped))
    rendered.files.update((rel, render_file(file)) for rel, file in shared.items())
    if envs:
        selected = {None, *envs}
        rendered.files = {rel: data for rel, data in rendered.files.items() if _env_of(rel) in selected}
        rendered.unchanged = {rel for rel in rendered.unchanged if _env_of(rel) in selected}
        rendered.unchanged |= {rel for rel in owned_files(out)
                               if _env_of(rel) not in selected and (out / rel).is_file()}
    rendered.unchanged.discard(names.OWNED_FILES_LIST)
    rendered.files[names.OWNED_FILES_LIST] = owned_listing([*rendered.files, *rendered.unchanged])
    return rendered


def compile_specs(specs: Path, out: Path, *, envs: list[str] | None = None, check: bool = False,
                  use_cache: bool = True) -> CompileResult:
    """Validate every spec, build the output and write it atomically (or, with `check`, only compare)."""
    cache = BuildCache.load(out, shared_fingerprint(specs)) if use_cache else None
    project = load_project(specs, reuse=cache.lookup if cache else None)
    _select_envs(project, envs)
    rendered = render_project(project, out, envs, cache)
    unchanged = frozenset(rendered.unchanged)
    if check:
        changes = diff_tree(out, rendered.files, unchanged)
        return CompileResult(project, changes, describe(out, rendered.files, changes))
    changes = write_tree(out, rendered.files, unchanged)
    if cache is not None and not envs:
        cache.save(out, project.services, rendered.files_of, project.service_warnings)
    return CompileResult(project, changes, [])


def validate_paths(paths: list[Path], specs: Path) -> Project:
    """Validate the given spec files (or every spec under `specs` when none are given)."""
    files: list[Path] = []
    for path in paths:
        files += sorted(path.glob("*/platform.yaml")) if path.is_dir() else [path]
    return load_project(specs, files if paths else None)
