"""Reading the app's own OpenAPI document: its operations, and plausible bodies for them.

The reliability suites are built from the spec so that a new endpoint is covered the day it
lands. `body_for` makes a request body that passes shape validation as often as it can, using
the field's name for the values a schema cannot tell (times, ids, phone numbers).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

METHODS = ("get", "post", "put", "patch", "delete")
# Public by design (no token): login and the picture of a live check-in code (the code is its
# own credential). Any other operation the spec marks `security: []` fails the matrix.
PUBLIC = {
    ("post", "/api/v1/auth/login"),
    ("get", "/api/v1/checkin-codes/{code}.png"),
    ("get", "/api/v1/certificates/{code}"),  # a certificate's verification code is its own credential
    ("get", "/healthz"),  # load balancers probe it without a login
}


def spec_of(app) -> dict:
    return app.extensions["smorest_api"].spec.to_dict()


def operations(spec: dict):
    """(method, path, operation) for every operation in the document."""
    for path, ops in sorted(spec["paths"].items()):
        for method in METHODS:
            if method in ops:
                yield method, path, ops[method]


def is_public(op: dict) -> bool:
    return op.get("security") == []


def path_params(path: str) -> list[str]:
    return re.findall(r"{([^}]+)}", path)


def resolve(spec: dict, schema: dict | None) -> dict:
    while schema and "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema or {}


def request_schema(spec: dict, op: dict) -> dict | None:
    content = (op.get("requestBody") or {}).get("content", {})
    media = content.get("application/json") or next(iter(content.values()), None)
    return resolve(spec, media.get("schema")) if media else None


def _now(days: int = 0, hours: int = 0) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=days, hours=hours)).replace(microsecond=0).isoformat()


def value_for(spec: dict, name: str, schema: dict, ids: dict):
    """A plausible value for field `name`; `ids` maps id-like names to the ids to use."""
    schema = resolve(spec, schema)
    if "allOf" in schema:
        schema = resolve(spec, schema["allOf"][0])
    if name in ids:
        return ids[name]
    if "enum" in schema:
        return next((e for e in schema["enum"] if e is not None), None)
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    typ = schema.get("type")
    typ = typ[0] if isinstance(typ, list) else typ
    fmt = schema.get("format")
    if fmt == "date-time" or name.endswith("_at"):
        if name.startswith(("ends", "until", "to")):
            return _now(days=2, hours=2)
        if name in ("visited_at", "scanned_at"):
            return _now(hours=-1)
        return _now(days=2)
    if fmt == "date" or name == "date":
        return (datetime.now(timezone.utc) - timedelta(days=1)).date().isoformat()
    if name == "period":
        return f"{datetime.now().year}-Q{(datetime.now().month - 1) // 3 + 1}"
    if name == "phone":
        return "13800001111"
    if name == "pickup_code":
        return "12345678"
    if name in ("lat",):
        return 30.5
    if name in ("lng",):
        return 114.3
    if typ == "integer":
        lo = schema.get("minimum", 1)
        return max(int(lo), min(5, int(schema.get("maximum", 5))))
    if typ == "number":
        return float(schema.get("minimum", 1))
    if typ == "boolean":
        return True
    if typ == "array":
        n = max(1, schema.get("minItems", 0)) if schema.get("minItems") else 0
        return [value_for(spec, name[:-1], schema.get("items", {}), ids) for _ in range(n)]
    if typ == "object" or "properties" in schema:
        return body_from(spec, schema, ids)
    if typ == "string" or typ is None:
        n = max(2, schema.get("minLength", 2))
        text = "测试" + name.replace("_", "")
        return (text * n)[: max(n, min(len(text), schema.get("maxLength", 40)))]
    return None


def body_from(spec: dict, schema: dict, ids: dict) -> dict:
    schema = resolve(spec, schema)
    out = {}
    for name, prop in (schema.get("properties") or {}).items():
        if resolve(spec, prop).get("readOnly"):
            continue
        if name in schema.get("required", []) or name in ids:
            out[name] = value_for(spec, name, prop, ids)
    if not out:  # a PATCH with nothing required still wants one change
        for name, prop in (schema.get("properties") or {}).items():
            if not resolve(spec, prop).get("readOnly") and name not in ("id",):
                out[name] = value_for(spec, name, prop, ids)
                break
    return out


def body_for(spec: dict, op: dict, ids: dict) -> dict | None:
    schema = request_schema(spec, op)
    return body_from(spec, schema, ids) if schema is not None else None


def query_for(op: dict, ids: dict) -> dict:
    """Required query parameters, plus any id-like one we know."""
    out = {}
    for p in op.get("parameters", []):
        if p.get("in") != "query":
            continue
        name = p["name"]
        if name in ids:
            out[name] = ids[name]
        elif p.get("required"):
            out[name] = value_for({"components": {"schemas": {}}}, name, p.get("schema", {}), ids)
    return out
