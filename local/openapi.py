"""The API's OpenAPI document (``api/openapi.yaml``), shared by the docs, the local API Gateway's
route check and the API fuzz test.

The template's ``Api`` events are the routes that exist; this document says what they take and
answer. ``operations()`` is what tests compare with ``infra.template.api_routes()``, and
``json_schema()`` turns an OpenAPI 3.0 schema into plain JSON Schema (references inlined,
``nullable`` spelled as a ``null`` type) so any JSON Schema validator can apply it.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
OPENAPI_PATH = ROOT / "api" / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@cache
def load(path: Path = OPENAPI_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def operations(document: dict[str, Any] | None = None) -> set[tuple[str, str]]:
    """Every (METHOD, path template) the document describes, e.g. ("POST", "/events")."""
    document = document or load()
    return {(method.upper(), path) for path, item in document["paths"].items()
            for method in item if method in HTTP_METHODS}


def operation(method: str, path: str, document: dict[str, Any] | None = None) -> dict[str, Any]:
    return (document or load())["paths"][path][method.lower()]


def request_schema(method: str, path: str, document: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON body's schema of an operation, as plain JSON Schema."""
    document = document or load()
    body = operation(method, path, document)["requestBody"]["content"]["application/json"]["schema"]
    return json_schema(body, document)


def response_schema(method: str, path: str, status: int | str,
                    document: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON schema of one documented response, as plain JSON Schema."""
    document = document or load()
    response = _resolve(operation(method, path, document)["responses"][str(status)], document)
    return json_schema(response["content"]["application/json"]["schema"], document)


def json_schema(schema: Any, document: dict[str, Any] | None = None) -> Any:
    """Inline ``$ref``s and turn ``nullable: true`` into a ``null`` type (OpenAPI 3.0 → JSON Schema)."""
    document = document or load()
    if isinstance(schema, list):
        return [json_schema(item, document) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = _resolve(schema, document)
    out = {key: json_schema(value, document) if key != "properties" else
           {name: json_schema(sub, document) for name, sub in value.items()}
           for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def _resolve(node: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node
