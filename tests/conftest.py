"""Shared test options and fixtures."""
from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite tests/goldens/ from the current compiler output instead of comparing")


@pytest.fixture(scope="session")
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example specs compiled once per session into a scratch `generated/` (read-only for tests)."""
    from compiler.api import compile_specs
    from tests.tools import REPO

    out = tmp_path_factory.mktemp("compiled") / "generated"
    compile_specs(REPO / "specs", out)
    return out
