"""Helpers the compiler robustness tests share: run the real CLI in a child process, snapshot output trees."""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.tools import REPO

CLI_ENTRY = "from compiler.cli import main; main()"

MINIMAL_SPEC = """\
apiVersion: platform/v1
kind: Service
metadata:
  name: {name}
  team: {team}
spec:
  image: ghcr.io/acme/{name}:1.0.0
  port: 8080
  replicas: {replicas}
"""


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child Python that imports this checkout's `compiler`, from any working folder."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def run_platformc(args: list[str], cwd: Path, *, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """`platformc ARGS` exactly as a user runs it (`compiler.cli.main`, exit codes included), in a child process."""
    return subprocess.run([sys.executable, "-c", CLI_ENTRY, *args], cwd=cwd, env=child_env(**env),
                          capture_output=True, text=True, timeout=timeout)


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str


def call_platformc(args: list[str], cwd: Path) -> CliRun:
    """`platformc ARGS` through `compiler.cli.main` in this process (exit code from SystemExit), from `cwd`.

    Much faster than a child process; any exception other than SystemExit escapes and fails the test.
    """
    from compiler.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    saved_argv, saved_cwd = sys.argv, os.getcwd()
    sys.argv = ["platformc", *args]
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                main()
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        sys.argv = saved_argv
        os.chdir(saved_cwd)
    return CliRun(code, stdout.getvalue(), stderr.getvalue())


def write_service(specs: Path, name: str, *, team: str = "payments", replicas: int = 2) -> Path:
    path = specs / name / "platform.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(MINIMAL_SPEC.format(name=name, team=team, replicas=replicas), encoding="utf-8")
    return path


def tree_bytes(root: Path) -> dict[str, bytes | str]:
    """Every file (its bytes), symlink (its target) and folder ('<dir>') under `root`, by relative path."""
    found: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for name in dirnames:
            rel = (here / name).relative_to(root).as_posix()
            found[rel] = f"-> {os.readlink(here / name)}" if (here / name).is_symlink() else "<dir>"
        for name in filenames:
            path = here / name
            rel = path.relative_to(root).as_posix()
            found[rel] = f"-> {os.readlink(path)}" if path.is_symlink() else path.read_bytes()
    return found


def tree_stats(root: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime in ns) of every file under `root`: unchanged means not rewritten, not even touched."""
    stats = {}
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            st = path.stat(follow_symlinks=False)
            stats[path.relative_to(root).as_posix()] = (st.st_ino, st.st_mtime_ns)
    return stats


def leftovers(out: Path) -> list[str]:
    """Staging or backup folders a compile left beside `out`."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))
