"""Compiles are deterministic: the same specs give byte-identical trees whatever the hash seed or the order in
which the file system lists files, and a recompile with nothing changed leaves every file untouched."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.compiler.harness import child_env, leftovers, tree_bytes, tree_stats
from tests.tools import REPO

# A child `platformc` that sees every directory listing in reverse order (os.scandir feeds pathlib's glob
# and os.walk; os.listdir feeds Path.iterdir).
REVERSED_LISTINGS = """
import os, sys
_scandir, _listdir = os.scandir, os.listdir

class _Reversed:
    def __init__(self, iterator):
        with iterator:
            self._entries = iter(list(iterator)[::-1])
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return False
    def __iter__(self):
        return self
    def __next__(self):
        return next(self._entries)
    def close(self):
        pass

os.scandir = lambda path=".": _Reversed(_scandir(path))
os.listdir = lambda path=".": _listdir(path)[::-1]
sys.argv = ["platformc", *sys.argv[1:]]
from compiler.cli import main
main()
"""
PLAIN = "import sys; sys.argv = ['platformc', *sys.argv[1:]]; from compiler.cli import main; main()"


def copy_specs(target: Path, *, reverse: bool) -> Path:
    """The repository's specs, with files and folders created in sorted or in reverse order."""
    source = REPO / "specs"
    files = sorted(p for p in source.rglob("*") if p.is_file())
    for path in reversed(files) if reverse else files:
        dest = target / "specs" / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    return target


def compile_in_child(root: Path, script: str, hash_seed: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-c", script, "compile", "--specs", "specs", "--out", "generated"],
                            cwd=root, env=child_env(PYTHONHASHSEED=hash_seed), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


@pytest.fixture(scope="module")
def two_compiles(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    first = copy_specs(tmp_path_factory.mktemp("first"), reverse=False)
    second = copy_specs(tmp_path_factory.mktemp("second"), reverse=True)
    compile_in_child(first, PLAIN, "1")
    # The second tree is reached by an update (so the writer walks an existing tree, in reverse order too).
    held_back = sorted((second / "specs").glob("*/platform.yaml"))[0].parent
    held_back.rename(second / "held-back")
    compile_in_child(second, PLAIN, "7")
    (second / "held-back").rename(held_back)
    compile_in_child(second, REVERSED_LISTINGS, "4242")
    return first / "generated", second / "generated"


def test_different_hash_seeds_and_listing_orders_give_identical_trees(two_compiles):
    first, second = two_compiles
    one, other = tree_bytes(first), tree_bytes(second)
    assert len(one) > 20
    assert sorted(one) == sorted(other)
    differing = [rel for rel in one if one[rel] != other[rel]]
    assert differing == []


def test_a_recompile_without_changes_touches_nothing(two_compiles):
    out = two_compiles[0]
    files_before, stats_before = tree_bytes(out), tree_stats(out)
    folder_before = out.stat()
    result = compile_in_child(out.parent, PLAIN, "99")
    assert ": 0 added, 0 changed, 0 removed" in result.stdout
    assert tree_bytes(out) == files_before
    assert tree_stats(out) == stats_before  # same inode and mtime: not rewritten, not even touched
    assert (out.stat().st_ino, out.stat().st_mtime_ns) == (folder_before.st_ino, folder_before.st_mtime_ns)
    assert leftovers(out) == []


def test_the_output_has_no_timestamps_or_absolute_paths(two_compiles):
    out = two_compiles[0]
    for rel, content in tree_bytes(out).items():
        if isinstance(content, bytes):
            text = content.decode("utf-8")
            assert str(out.parent) not in text, rel
            assert "creationTimestamp" not in text, rel


def test_building_in_worker_processes_gives_the_same_bytes_as_one_process(tmp_path: Path, monkeypatch):
    """Enough services to take the forked-worker path, compared with the single-process path."""
    import compiler.api as api
    from compiler.api import compile_specs
    from tests.compiler.harness import write_service

    specs = tmp_path / "specs"
    count = api.PARALLEL_FROM + 5
    for i in range(count):
        write_service(specs, f"svc-{i:03d}", team=f"team-{i % 4}", replicas=1 + i % 3)
    compile_specs(specs, tmp_path / "parallel" / "generated", use_cache=False)
    monkeypatch.setattr(api, "PARALLEL_FROM", 10**9)
    compile_specs(specs, tmp_path / "serial" / "generated", use_cache=False)
    parallel = tree_bytes(tmp_path / "parallel" / "generated")
    assert len(parallel) > 10 * count
    assert parallel == tree_bytes(tmp_path / "serial" / "generated")
