"""The JSON Schema of platform.yaml, generated from the pydantic models (never written by hand)."""
from __future__ import annotations

import json

from .spec.service import ServiceFile

SCHEMA_ID = "https://platform.acme.dev/schemas/platform.schema.json"


def service_schema() -> dict:
    schema = ServiceFile.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "platform.yaml (platform/v1 Service)", **schema}


def schema_bytes() -> bytes:
    return (json.dumps(service_schema(), indent=2, sort_keys=True) + "\n").encode()
