"""CI refuses a stale generated/ or schemas/: both must be exactly what the committed specs compile to."""
from __future__ import annotations

import subprocess
import sys

from tests.tools import REPO


def _platformc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from compiler.cli import main; main()", *args],
                          cwd=REPO, capture_output=True, text=True)


def test_generated_tree_is_fresh():
    result = _platformc("compile", "--check")
    assert result.returncode == 0, result.stderr + result.stdout


def test_schema_is_fresh():
    result = _platformc("schema", "--check")
    assert result.returncode == 0, result.stderr + result.stdout
