"""The library behind the CLI: validate, compile and check, as plain functions."""
from __future__ import annotations

import functools
import multiprocessing
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

from . import conventions as names
from .build import BuildOptions, service_tree, shared_tree
from .cache import BuildCache, shared_fingerprint
from .errors import Diagnostic, PlatformError
from .libc import die_with_parent
from .project import Project, ServicePlan, load_project
from .render import owned_listing, render_file
from .writer import Changes, StagedTree, describe, diff_tree, owned_files, staged_tree


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

CHUNK = 8
"""Services per task handed to a worker: small, so the work stays spread evenly to the end."""


@dataclass
class _Job:
    """What a (forked) worker renders from: inherited through fork, never pickled."""

    project: Project
    selected: set[str | None] | None
    """The environments written (None: all); files of others are neither staged nor returned."""
    staged: StagedTree | None

    @functools.cached_property
    def services(self) -> dict[str, ServicePlan]:
        return {s.name: s for s in self.project.services}


_JOB: _Job | None = None

Built = tuple[str, dict[str, bytes], dict[str, str | None]]
"""A service's name, its files, and for each file what staging it did ("added", "changed" or None)."""


def _build_chunk(names_: list[str]) -> list[Built]:
    """Build and render these services; with a stage, also write each file that differs from the old tree
    into it. Creating folders and files is kernel work that costs about as much as rendering (ext4: ~0.5 ms a
    folder); workers writing into distinct service folders spread it over the cores (measured: 2 workers,
    half the time), where the parent alone could not."""
    job = _JOB
    assert job is not None
    built = []
    for name in names_:
        files = {rel: render_file(file) for rel, file in service_tree(job.project, job.services[name]).items()
                 if job.selected is None or _env_of(rel) in job.selected}
        staging = {rel: job.staged.stage_file(rel, data) for rel, data in files.items()} if job.staged else {}
        built.append((name, files, staging))
    return built


def _worker_init() -> None:
    """Workers leave Ctrl-C to the parent (which stops them) and die with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()


def _build_services(job: _Job, to_build: list[str]):
    """Every service's Built, as each is done; on a multi-core machine from forked worker processes. Each
    service's files depend on that service alone, so the split cannot change a byte of the output."""
    global _JOB
    workers = min(os.cpu_count() or 1, 4)
    _JOB = job
    try:
        if len(to_build) < PARALLEL_FROM or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
            for name in to_build:
                yield from _build_chunk([name])
            return
        chunks = [to_build[i:i + CHUNK] for i in range(0, len(to_build), CHUNK)]
        with multiprocessing.get_context("fork").Pool(workers, initializer=_worker_init) as pool:
            for built in pool.imap_unordered(_build_chunk, chunks):
                yield from built
    finally:
        _JOB = None


def render_project(project: Project, out: Path, envs: list[str] | None = None,
                   cache: BuildCache | None = None, staged: StagedTree | None = None) -> Rendered:
    """Every file the compile owns. Services the cache vouches for are not rebuilt; with `envs`, other
    environments' files stay as they are on disk. With `staged`, each file is staged as soon as it exists."""
    rendered = Rendered()
    selected = {None, *envs} if envs else None
    to_build = []
    for service in project.services:
        reused = cache.unchanged_files(service, out) if cache else None
        if reused is not None:
            rendered.unchanged.update(reused)
            rendered.files_of[service.name] = reused
        else:
            to_build.append(service.name)
    for name, files, staging in _build_services(_Job(project, selected, staged), to_build):
        rendered.files.update(files)
        rendered.files_of[name] = sorted(files)
        if staged is not None:
            for rel, kind in staging.items():
                staged.record(rel, kind)
    bootstrapped = frozenset(e.name for e in project.environments
                             if (out / names.cluster_dir(e.name) / names.FLUX_BOOTSTRAP_DIR).is_dir())
    shared = shared_tree(project, BuildOptions(bootstrapped_envs=bootstrapped))
    rendered.files.update((rel, render_file(file)) for rel, file in shared.items()
                          if selected is None or _env_of(rel) in selected)
    if selected is not None:
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
    if check:
        rendered = render_project(project, out, envs, cache)
        changes = diff_tree(out, rendered.files, frozenset(rendered.unchanged))
        return CompileResult(project, changes, describe(out, rendered.files, changes))
    with staged_tree(out) as staged:
        rendered = render_project(project, out, envs, cache, staged)
        changes = staged.finish(rendered.files, frozenset(rendered.unchanged))
    if cache is not None and not envs:
        cache.save(out, project.services, rendered.files_of, project.service_warnings)
    return CompileResult(project, changes, [])


def validate_paths(paths: list[Path], specs: Path) -> Project:
    """Validate the given spec files (or every spec under `specs` when none are given)."""
    files: list[Path] = []
    for path in paths:
        files += sorted(path.glob("*/platform.yaml")) if path.is_dir() else [path]
    return load_project(specs, files if paths else None)
