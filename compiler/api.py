"""The library behind the CLI: validate, compile and check, as plain functions."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import conventions as names
from .build import BuildOptions, build_tree
from .errors import Diagnostic, SpecError
from .project import Project, load_project
from .render import render_tree
from .writer import Changes, describe, diff_tree, owned_files, write_tree


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
        raise SpecError([Diagnostic("--env", 1, 1, f"unknown environment '{e}'; known: {', '.join(known)}")
                         for e in unknown])


def render_project(project: Project, out: Path, envs: list[str] | None = None) -> dict[str, bytes]:
    """Every file the compile owns, as bytes; with `envs`, other environments' files stay as they are on disk."""
    bootstrapped = frozenset(e.name for e in project.environments
                             if (out / names.cluster_dir(e.name) / names.FLUX_BOOTSTRAP_DIR).is_dir())
    files = render_tree(build_tree(project, BuildOptions(bootstrapped_envs=bootstrapped)))
    if not envs:
        return files
    selected = set(envs)
    files = {rel: data for rel, data in files.items() if _env_of(rel) in (None, *selected)}
    for rel in owned_files(out):
        env = _env_of(rel)
        if env is not None and env not in selected and (out / rel).is_file():
            files[rel] = (out / rel).read_bytes()
    listing = [line for line in sorted(files) if line != names.OWNED_FILES_LIST]
    files[names.OWNED_FILES_LIST] = files[names.OWNED_FILES_LIST].split(b"\n", 1)[0] + b"\n" + "".join(
        f"{p}\n" for p in sorted(listing + [names.OWNED_FILES_LIST])).encode()
    return files


def compile_specs(specs: Path, out: Path, *, envs: list[str] | None = None, check: bool = False) -> CompileResult:
    """Validate every spec, build the output and write it atomically (or, with `check`, only compare)."""
    project = load_project(specs)
    _select_envs(project, envs)
    files = render_project(project, out, envs)
    if check:
        changes = diff_tree(out, files)
        return CompileResult(project, changes, describe(out, files, changes))
    changes = write_tree(out, files)
    return CompileResult(project, changes, [])


def validate_paths(paths: list[Path], specs: Path) -> Project:
    """Validate the given spec files (or every spec under `specs` when none are given)."""
    files: list[Path] = []
    for path in paths:
        files += sorted(path.glob("*/platform.yaml")) if path.is_dir() else [path]
    return load_project(specs, files if paths else None)
