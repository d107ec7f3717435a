"""Checks that need more than one field, a file beside the spec, or the platform config.

Each check is a function `(service, spec_doc, config) -> list[Diagnostic]`, where `spec_doc` is the spec
part of the file with its marks (use `spec_doc.diagnostic(loc, message)` to point at the offending value;
`loc` is relative to `spec`). It runs once per valid service, on the base spec. Register it in CHECKS.
Warnings are Diagnostics with severity="warning": they are printed and do not fail the compile.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import Diagnostic
from .loader import LoadedDoc

if TYPE_CHECKING:
    from .project import ServicePlan
    from .spec.config import PlatformConfig

Check = Callable[["ServicePlan", LoadedDoc, "PlatformConfig"], list[Diagnostic]]

CHECKS: list[Check] = []


def run_checks(service: "ServicePlan", spec_doc: LoadedDoc, config: "PlatformConfig") -> list[Diagnostic]:
    return [d for check in CHECKS for d in check(service, spec_doc, config)]


from .sre_checks import SRE_CHECKS  # noqa: E402  (its checks import nothing from here)

CHECKS.extend(SRE_CHECKS)

from .mlops_checks import MLOPS_CHECKS  # noqa: E402  (its checks import nothing from here)

CHECKS.extend(MLOPS_CHECKS)
