"""One error shape for every failure under /api/, and the health check."""
import redis

from tests.helpers import error_code


def _shape(resp):
    body = resp.get_json()
    assert resp.content_type.startswith("application/json")
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def test_404_is_json(client):
    resp = client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404
    assert _shape(resp)["code"] == "NOT_FOUND"


def test_unknown_object_is_404(client, login):
    resp = client.get("/api/v1/communities/999999", headers=login("x"))
    assert resp.status_code == 404 and error_code(resp) == "NOT_FOUND"


def test_405_is_json(client):
    resp = client.delete("/api/v1/auth/login")
    assert resp.status_code == 405
    err = _shape(resp)
    assert err["code"] == "METHOD_NOT_ALLOWED"
    assert "POST" in err["details"]["allowed"]


def test_422_missing_field(client):
    resp = client.post("/api/v1/auth/login", json={})
    assert resp.status_code == 422
    err = _shape(resp)
    assert err["code"] == "VALIDATION_ERROR"
    assert "code" in err["details"]


def test_422_wrong_type_and_unknown_field(client):
    resp = client.post("/api/v1/auth/login", json={"code": 12, "extra": 1})
    assert resp.status_code == 422
    details = _shape(resp)["details"]
    assert "code" in details and "extra" in details


def test_422_malformed_json(client):
    resp = client.post("/api/v1/auth/login", data="{not json", content_type="application/json")
    assert resp.status_code == 422
    assert _shape(resp)["code"] == "VALIDATION_ERROR"


def test_422_oversized_name(client, city, login):
    resp = client.post("/api/v1/communities", json={"name": "社" * 1_000_000, "street_id": city.street.id},
                       headers=login("admin"))
    assert resp.status_code == 422
    assert "name" in _shape(resp)["details"]


def test_500_is_json_without_stack_trace(client, login, monkeypatch):
    headers = login("y")
    import backend.orgs.services as orgs

    def boom(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(orgs, "search_query", boom)
    resp = client.get("/api/v1/communities", headers=headers)
    assert resp.status_code == 500
    err = _shape(resp)
    assert err["code"] == "INTERNAL_ERROR"
    assert "secret internals" not in resp.get_data(as_text=True)
    assert "Traceback" not in resp.get_data(as_text=True)


def test_openapi_and_docs(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/auth/login" in spec["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"swagger" in docs.data.lower()
    assert client.get("/api/v1/docs-static/swagger-ui-bundle.js").status_code == 200


def test_health_ok(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "db": "ok", "redis": "ok"}


def test_health_fails_when_redis_down(app, client, monkeypatch):
    monkeypatch.setitem(app.extensions, "redis", redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2))
    resp = client.get("/healthz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["db"] == "ok" and body["redis"] != "ok" and body["status"] == "error"


def test_id_past_the_integer_range_is_404_not_500(client, login):
    resp = client.get("/api/v1/communities/99999999999999999999", headers=login("z"))
    assert resp.status_code == 404 and error_code(resp) == "NOT_FOUND"


def test_query_value_past_the_integer_range_is_422(client, city, login):
    resp = client.get("/api/v1/admin/audit?actor_id=99999999999999999999", headers=login("admin"))
    assert resp.status_code in (200, 422)
    assert resp.status_code != 500


def test_field_details_are_chinese(client, city, login):
    resp = client.post("/api/v1/communities", json={"name": "", "street_id": "x", "bogus": 1}, headers=login("admin"))
    details = resp.get_json()["error"]["details"]
    assert details["name"] == ["长度应在 1 到 100 之间"]
    assert details["street_id"] == ["应为整数"]
    assert details["bogus"] == ["未知字段"]


MB = "名" * 349_525  # a 1 MB (UTF-8) name, under the 4 MB request limit


def _oversized_cases(city):
    from tests.tasks.conftest import task_body

    report = {"community_id": city.c1.id, "unit_id": city.u1.id, "name": MB, "phone": "13812345678"}
    return [
        ("resident", "/api/v1/member-reports", report, "name"),
        ("resident", "/api/v1/member-reports", {**report, "name": "李明", "skills_other": MB}, "skills_other"),
        ("staff1", f"/api/v1/communities/{city.c1.id}/tasks", task_body(title=MB), "title"),
        ("staff1", f"/api/v1/communities/{city.c1.id}/tasks", task_body(skills=[MB]), "skills"),
        ("resident", f"/api/v1/communities/{city.c1.id}/wishes", {"title": MB, "type": "物质"}, "title"),
        ("staff1", f"/api/v1/communities/{city.c1.id}/grids", {"name": MB}, "name"),
        ("admin", "/api/v1/units", {"name": MB}, "name"),
        ("unit1", "/api/v1/unit-reports", {"unit_id": city.u1.id, "community_id": city.c1.id,
                                           "resources": [MB]}, "resources"),
        (None, "/api/v1/auth/login", {"code": MB}, "code"),
    ]


def test_1mb_fields_are_422_with_the_field(client, city, login):
    assert 1_000_000 <= len(MB.encode()) < 4 * 1024 * 1024
    for who, url, body, field in _oversized_cases(city):
        resp = client.post(url, json=body, headers=login(who) if who else {})
        assert resp.status_code == 422, (url, resp.status_code)
        assert field in _shape(resp)["details"], (url, resp.get_json()["error"]["details"].keys())


def test_body_over_the_limit_is_413_json(client, login):
    resp = client.post("/api/v1/member-reports", data="x" * (5 * 1024 * 1024), content_type="application/json",
                       headers=login("big"))
    assert resp.status_code == 413 and _shape(resp)["code"] == "PAYLOAD_TOO_LARGE"


def test_health_fails_when_the_database_is_down(client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from backend.extensions import db

    def down(*a, **k):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", down)
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "error", "db": "error: OperationalError", "redis": "ok"}
