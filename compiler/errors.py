"""One error hierarchy for the compiler; the CLI maps it to exit codes in one place."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Diagnostic:
    """A problem at a place in a spec file: rendered as `path:line:col: message` (1-based line and column)."""

    path: str
    line: int
    col: int
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.path}:{self.line}:{self.col}: {prefix}{self.message}"


class PlatformError(Exception):
    """Base of every error the CLI reports without a traceback."""

    exit_code = 1

    def lines(self) -> list[str]:
        return [str(self)]


class SpecError(PlatformError):
    """One or more problems in the specs; nothing was written."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(set(diagnostics))  # a shared default can fail once per service
        super().__init__(f"{len(self.diagnostics)} problem(s) in the specs")

    def lines(self) -> list[str]:
        errors = [d for d in self.diagnostics if d.severity == "error"]
        return [str(d) for d in self.diagnostics] + [
            f"{len(errors)} error(s); nothing was written"
        ]


class StaleOutputError(PlatformError):
    """`compile --check` found that the committed output differs from what the specs compile to."""

    def __init__(self, report: list[str], fix: str = "generated/ is stale: run `platformc compile` and commit the result"):
        self.report = report
        self.fix = fix
        super().__init__("generated output is stale")

    def lines(self) -> list[str]:
        return self.report + [self.fix]


class OutputError(PlatformError):
    """The output folder could not be written (permissions, a file where a folder should be, ...)."""


class BudgetGateError(PlatformError):
    """An error budget is below its freeze threshold: the deploy gate says no."""


class PrometheusQueryError(PlatformError):
    """Prometheus could not be reached or answered with an error."""

    exit_code = 2
