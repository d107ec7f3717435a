"""Acceptance 4: bad model/llm input is a `path:line:col` error pointing at the offending value."""
from __future__ import annotations

import re

import pytest
import yaml

from compiler.errors import SpecError
from compiler.project import load_project

PROMPT = "Summarize the conversation.\n"
SPEC = """\
apiVersion: platform/v1
kind: Service
metadata:
  name: scoring
  team: risk
spec:
  image: ghcr.io/acme/scoring:1.0.0
  port: 8080
  slos:
    - name: http
      objective: 99.5
      sli: {{availability: {{}}}}
    - name: latency
      objective: 99
      sli:
        latency: {{threshold: 0.25}}
  model:
    name: fraud-detector
    framework: {framework}
    registry: s3://acme-models/fraud
    version: "7"
    rollout:
      rollbackOn: {{errorRatio: {error_ratio}, latencyP99: {latency}}}
  llm:
    model: gpt-4o-mini
    upstream: https://api.openai.com/v1
    prompts:
      - {{name: summarize, file: {prompt_file}, version: 3, label: production}}
    tokenBudget: {{daily: {daily}}}
"""
GOOD = {"framework": "sklearn", "error_ratio": 0.5, "latency": "250ms", "prompt_file": "prompts/summarize.md",
        "daily": 100000}


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def _load(tmp_path, **changes) -> tuple[str, list[str]]:
    specs = tmp_path / "specs"
    (specs / "scoring" / "prompts").mkdir(parents=True)
    (specs / "scoring" / "prompts" / "summarize.md").write_text(PROMPT)
    (specs / "platform-config.yaml").write_text(yaml.safe_dump(
        {"apiVersion": "platform/v1", "kind": "PlatformConfig", "spec": {"environments": [{"name": "prod"}]}}))
    text = SPEC.format(**{**GOOD, **changes})
    (specs / "scoring" / "platform.yaml").write_text(text)
    try:
        load_project(specs)
    except SpecError as error:
        return text, [str(d) for d in error.diagnostics]
    return text, []


def test_the_good_spec_loads(tmp_path):
    assert _load(tmp_path) == (SPEC.format(**GOOD), [])


@pytest.mark.parametrize("change, needle, expected", [
    ({"framework": "tensorflow"}, "framework:", r"spec\.model\.framework: should be 'sklearn', 'xgboost', 'onnx' "
                                                 r"or 'custom'"),
    ({"prompt_file": "prompts/missing.md"}, "file: prompts/missing.md",
     r"spec\.llm\.prompts\[0\]\.file: prompt file 'prompts/missing\.md' does not exist"),
    ({"daily": 0}, "tokenBudget", r"spec\.llm\.tokenBudget\.daily: should be greater than 0"),
    ({"error_ratio": 2}, "rollbackOn", r"rollbackOn\.errorRatio 2% is looser than SLO 'http', which allows 0\.5% "
                                       r"errors"),
    ({"latency": "400ms"}, "rollbackOn", r"rollbackOn\.latencyP99 400ms is looser than SLO 'latency'"),
    ({"prompt_file": "../outside.md"}, "file: ../outside.md", r"must be a path relative to the spec's folder"),
])
def test_bad_input_is_a_path_line_col_error(tmp_path, change, needle, expected):
    text, problems = _load(tmp_path, **change)
    assert len(problems) == 1, problems
    match = re.match(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<message>.*)$", problems[0])
    assert match, problems[0]
    assert match["path"].endswith("scoring/platform.yaml")
    assert int(match["line"]) == _line_of(text, needle), problems[0]
    assert int(match["col"]) > 1
    assert re.search(expected, match["message"]), match["message"]


def test_an_environment_override_is_checked_at_its_own_position(tmp_path):
    text, problems = _load(tmp_path)
    assert problems == []
    override = ("  environments:\n    prod:\n      llm:\n        prompts:\n"
                "          - {name: summarize, file: prompts/prod.md, version: 4, label: production}\n"
                "      model:\n        rollout:\n          rollbackOn: {errorRatio: 3}\n")
    path = tmp_path / "specs" / "scoring" / "platform.yaml"
    path.write_text(text + override)
    with pytest.raises(SpecError) as caught:
        load_project(tmp_path / "specs")
    messages = sorted(str(d) for d in caught.value.diagnostics)
    full = path.read_text()
    assert len(messages) == 2, messages
    assert f":{_line_of(full, 'file: prompts/prod.md')}:" in messages[0] + messages[1]
    assert any("spec.environments.prod.llm.prompts[0].file: prompt file 'prompts/prod.md' does not exist" in m
               for m in messages)
    assert any(f":{_line_of(full, 'errorRatio: 3')}:" in m and "looser than SLO 'http'" in m for m in messages)
