"""Reading JSON bodies without FastAPI's generic path, for the hot endpoints.

pydantic-core parses and validates JSON bytes in one pass, much faster than `json.loads` followed by
validation; errors still come back as 422 with `body.`-prefixed field paths. The models stay in the OpenAPI
schema through `documented_body` and `register_schemas`.
"""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError


def as_request_error(exc: ValidationError) -> RequestValidationError:
    errors = []
    for item in exc.errors(include_url=False):
        location = item.get("loc", ())
        errors.append({**item, "loc": ("body", *location)})
    return RequestValidationError(errors)


async def parse_body(request: Request, model: type[BaseModel]):
    raw = await request.body()
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise as_request_error(exc) from None


def documented_body(model: type[BaseModel]) -> dict:
    """`openapi_extra` naming `model` as the JSON request body."""
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}


def register_schemas(app: FastAPI, models: list[type[BaseModel]]) -> None:
    """Add `models` (and the models they use) to the generated OpenAPI components."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in models:
            body = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, definition in body.pop("$defs", {}).items():
                components.setdefault(name, definition)
            components.setdefault(model.__name__, body)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
