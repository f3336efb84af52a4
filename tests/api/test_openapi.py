"""The OpenAPI document lists every endpoint the app serves, each with a summary and its schemas."""
import re

# Endpoints answering a file (PNG, PDF, xlsx) rather than JSON: no JSON schema to give.
FILE_RESPONSES = {
    ("get", "/api/v1/checkin-codes/{code}.png"),
    ("get", "/api/v1/me/certificate"),
    ("get", "/api/v1/files/{file_id}"),
}


def _served(app) -> set[tuple[str, str]]:
    out = set()
    for rule in app.url_map.iter_rules():
        path = rule.rule
        if not (path.startswith("/api/v1/") or path == "/healthz"):
            continue
        if path.startswith(("/api/v1/docs", "/api/v1/openapi.json")):
            continue
        templated = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", path)
        out |= {(m.lower(), templated) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return out


def test_every_endpoint_is_documented_with_schemas(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    served = _served(app)
    assert len(served) > 100
    documented = {(m, p) for p, ops in spec["paths"].items() for m in ops if m != "parameters"}
    assert served - documented == set()
    problems = []
    for method, path in sorted(served):
        op = spec["paths"][path][method]
        if not op.get("summary"):
            problems.append((method, path, "no summary"))
        for status, resp in op["responses"].items():
            if status.startswith("2") and status != "204" and "content" not in resp \
                    and (method, path) not in FILE_RESPONSES:
                problems.append((method, path, status, "no schema"))
        if "requestBody" in op and "schema" not in op["requestBody"]["content"]["application/json"]:
            problems.append((method, path, "request without schema"))
    assert problems == []


def test_request_and_error_schemas_are_in_the_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    login = spec["paths"]["/api/v1/auth/login"]["post"]
    ref = login["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schemas[ref.rsplit("/", 1)[1]]["required"] == ["code"]
    task = spec["paths"]["/api/v1/communities/{community_id}/tasks"]["post"]
    body = schemas[task["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert body["properties"]["capacity"]["minimum"] == 1 and body["properties"]["capacity"]["maximum"] == 10000
    report = spec["paths"]["/api/v1/member-reports"]["post"]
    body = schemas[report["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert "医疗护理" in body["properties"]["skills"]["items"]["enum"]  # the fixed skill list, documented
    assert "Error" in schemas or "ErrorSchema" in schemas


def test_health_is_documented_and_public(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/healthz"]["get"]
    assert op["security"] == [] and {"200", "503"} <= set(op["responses"])


def test_readme_documents_the_skill_list_the_api_serves(client, login):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    listed = readme.split("from a fixed list (", 1)[1].split(";", 1)[0].replace("\n", "")
    served = client.get("/api/v1/member-reports/skills", headers=login("reader")).get_json()["skills"]
    assert [s.strip() for s in listed.split(",")] == served
