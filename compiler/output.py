"""What every emitter and the writer agree on: one generated file as data."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutputFile:
    """One generated file: a single document (YAML, or JSON for dashboards) and the spec(s) it came from."""

    source: str
    doc: object
    format: str = "yaml"


Tree = dict[str, OutputFile]
