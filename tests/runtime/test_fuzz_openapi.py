"""Schemathesis fuzzes both roles' OpenAPI schemas in process: no request, valid or not, may give a 5xx
or an undocumented status code, and answers must match their documented schemas.

Excluded check: "schema-valid request rejected" (ST202). Some rules cannot live in a JSON Schema
(exactly one of `series`/`queries`, a service must have configured metrics), so such requests get a
documented 422 with the field path, which is the intended answer.

413 counts as rejecting invalid data: an invalid request that is also over `server.max_body_bytes` (the
fuzzer makes multi-megabyte `messages` lists) is refused for its size before it is parsed.
"""
from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402

from runtime.app import create_app  # noqa: E402
from runtime.config import RuntimeConfig  # noqa: E402
from tests.runtime.conftest import AUTH, TOKEN  # noqa: E402
from tests.runtime.servers import free_port  # noqa: E402

FUZZ = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def _schema(role: str, tmp_dir: str):
    """The schema of an app built at collection time (schemathesis parametrizes from it), with the token
    the autouse fixture sets for every test."""
    import os

    os.environ["RUNTIME_API_TOKEN"] = TOKEN
    config = RuntimeConfig.model_validate({
        "server": {"state_dir": tmp_dir},
        "aiops": {"prometheus": {"url": f"http://127.0.0.1:{free_port()}", "timeout_seconds": 2}},
        "llm": {"rag": {"embedder": "hashing"}}})
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(role, config))
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    return schema


def _checks():
    from schemathesis.specs.openapi.checks import positive_data_acceptance
    return [positive_data_acceptance]


aiops_schema = _schema("aiops", __import__("tempfile").mkdtemp(prefix="fuzz-aiops-"))
llm_schema = _schema("llm", __import__("tempfile").mkdtemp(prefix="fuzz-llm-"))


@aiops_schema.parametrize()
@FUZZ
def test_aiops_api_conforms(case):
    case.call_and_validate(headers=AUTH, excluded_checks=_checks())


@llm_schema.parametrize()
@FUZZ
def test_llm_api_conforms(case):
    case.call_and_validate(headers=AUTH, excluded_checks=_checks())
