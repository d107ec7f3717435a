"""Locations of the delivery files, and loading of the CI helper scripts as modules."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from tests.tools import REPO

TERRAFORM = REPO / "terraform"
ENVIRONMENTS = ("dev", "staging", "prod")
WORKFLOWS = REPO / ".github" / "workflows"
SCRIPTS = REPO / ".github" / "scripts"
SECURITY = REPO / ".security"
CI_RUN = REPO / ".ci" / "run"


def load_script(name: str) -> ModuleType:
    """Import `.github/scripts/<name>.py` (the folder is not a package: it holds CI entry points)."""
    path = SCRIPTS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"ci_scripts_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def terraform_files() -> list[Path]:
    return sorted(TERRAFORM.rglob("*.tf"))
