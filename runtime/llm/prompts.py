"""Prompt registry: named prompts with versions and labels, read from files or mounted ConfigMaps.

On-disk layout. `llm.prompt_paths` lists files and/or directories. In a directory every `*.yaml`, `*.yml`
and `*.json` file is read (names starting with `.` are skipped, so a ConfigMap volume's `..data` links are
ignored and each key mounted as `<dir>/<key>` counts once). Each file holds one prompt:

    name: summarise                  # [A-Za-z0-9_.-]+, unique across all files
    versions:
      - version: "3"                 # unique within the prompt
        labels: [production]         # a label names at most one version of a prompt
        model: gpt-4o-mini           # optional: used when the request names no model
        messages:                    # placed before the request's own messages
          - role: system
            content: "Summarise in a {{style}} tone."   # {{variable}} filled from the request
      - version: "4"
        labels: [staging]
        messages: [...]

A request picks a prompt with the body field `"prompt": {"name", "label" | "version", "variables"}` or the
headers `x-prompt-name`, `x-prompt-label`, `x-prompt-version`; the label defaults to `production`. The
resolved name and version become the `prompt` and `prompt_version` labels of every LLM metric.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from runtime.web.errors import InputError

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
DEFAULT_LABEL = "production"


class PromptFileError(ValueError):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PromptMessage(_Strict):
    role: Literal["system", "developer", "user", "assistant"]
    content: str


class PromptVersionFile(_Strict):
    version: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    labels: list[str] = Field(default_factory=list)
    model: str | None = None
    messages: list[PromptMessage] = Field(min_length=1)


class PromptFile(_Strict):
    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")
    versions: list[PromptVersionFile] = Field(min_length=1)


@dataclass(frozen=True)
class ResolvedPrompt:
    name: str
    version: str
    model: str | None
    messages: list[dict]


@dataclass
class PromptRegistry:
    prompts: dict[str, PromptFile] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, paths: list[Path]) -> PromptRegistry:
        registry = cls()
        for path in paths:
            if path.is_dir():
                files = sorted(item for item in path.iterdir() if not item.name.startswith(".")
                               and item.suffix in (".yaml", ".yml", ".json") and item.is_file())
            elif path.is_file():
                files = [path]
            else:
                raise PromptFileError(f"prompt path {path} does not exist")
            for file in files:
                registry._add(file)
        return registry

    def _add(self, file: Path) -> None:
        try:
            text = file.read_text(encoding="utf-8")
            data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
            prompt = PromptFile.model_validate(data)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            if isinstance(exc, ValidationError):
                detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            else:
                detail = str(exc)
            raise PromptFileError(f"prompt file {file}: {detail}") from None
        if prompt.name in self.prompts:
            raise PromptFileError(f"prompt {prompt.name!r} defined in both {self.sources[prompt.name]} and {file}")
        seen_versions, seen_labels = set(), {}
        for version in prompt.versions:
            if version.version in seen_versions:
                raise PromptFileError(f"prompt file {file}: version {version.version!r} appears twice")
            seen_versions.add(version.version)
            for label in version.labels:
                if label in seen_labels:
                    raise PromptFileError(f"prompt file {file}: label {label!r} on versions "
                                          f"{seen_labels[label]!r} and {version.version!r}")
                seen_labels[label] = version.version
        self.prompts[prompt.name] = prompt
        self.sources[prompt.name] = str(file)

    def resolve(self, name: str, label: str | None, version: str | None, variables: dict[str, str]) -> ResolvedPrompt:
        prompt = self.prompts.get(name)
        if prompt is None:
            raise InputError("body.prompt.name", f"unknown prompt {name!r}; known: {sorted(self.prompts)}",
                             status_code=404)
        if version is not None:
            chosen = next((item for item in prompt.versions if item.version == version), None)
            if chosen is None:
                raise InputError("body.prompt.version", f"prompt {name!r} has no version {version!r}",
                                 status_code=404)
        else:
            wanted = label or DEFAULT_LABEL
            chosen = next((item for item in prompt.versions if wanted in item.labels), None)
            if chosen is None:
                raise InputError("body.prompt.label", f"prompt {name!r} has no version labelled {wanted!r}",
                                 status_code=404)
        messages = [{"role": message.role, "content": _render(message.content, variables)}
                    for message in chosen.messages]
        return ResolvedPrompt(name=name, version=chosen.version, model=chosen.model, messages=messages)

    def summary(self) -> dict:
        return {name: {version.version: version.labels for version in prompt.versions}
                for name, prompt in sorted(self.prompts.items())}


def _render(template: str, variables: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        key = match.group(1)
        if key not in variables:
            raise InputError(f"body.prompt.variables.{key}", f"prompt variable {key!r} is missing")
        return str(variables[key])
    return _VARIABLE.sub(replace, template)
