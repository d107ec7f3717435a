"""Golden files: the compiled output of every example spec, committed under tests/goldens/<service>/.

`pytest --update-goldens` rewrites them; review the diff like any other change. Files that belong to no single
service (cluster lists, team namespaces, the platform layer) are kept under tests/goldens/_shared/.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from compiler.api import render_project
from compiler.project import discover, load_project
from tests.tools import REPO

GOLDENS = REPO / "tests" / "goldens"
SHARED = "_shared"


def _owner(rel: str, services: set[str]) -> str:
    parts = rel.split("/")
    if parts[0] == "services" and len(parts) > 1 and parts[1] in services:
        return parts[1]
    stem = Path(rel).stem
    if stem in services:
        return stem
    return SHARED


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, dict[str, bytes]]:
    project = load_project(REPO / "specs")
    files = render_project(project, tmp_path_factory.mktemp("goldens") / "generated").files
    names = {s.name for s in project.services}
    grouped: dict[str, dict[str, bytes]] = {}
    for rel, content in files.items():
        grouped.setdefault(_owner(rel, names), {})[rel] = content
    return grouped


def _examples() -> list[str]:
    return [p.parent.name for p in discover(REPO / "specs")] + [SHARED]


@pytest.mark.parametrize("group", _examples())
def test_output_matches_goldens(group, rendered, update_goldens):
    expected_dir = GOLDENS / group
    actual = rendered.get(group, {})
    if update_goldens:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for rel, content in actual.items():
            (expected_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / rel).write_bytes(content)
        return
    assert expected_dir.is_dir(), f"no goldens for {group}: run `pytest --update-goldens`"
    on_disk = {p.relative_to(expected_dir).as_posix(): p.read_bytes()
               for p in expected_dir.rglob("*") if p.is_file()}
    assert sorted(on_disk) == sorted(actual), "the set of generated files changed (pytest --update-goldens)"
    for rel, content in actual.items():
        assert on_disk[rel].decode() == content.decode(), f"{group}/{rel} differs (pytest --update-goldens)"


def test_no_stale_golden_folders():
    known = set(_examples())
    stale = [p.name for p in GOLDENS.iterdir() if p.is_dir() and p.name not in known] if GOLDENS.is_dir() else []
    assert stale == [], f"goldens of removed examples: {stale} (pytest --update-goldens removes nothing: delete them)"
