"""The audit log: written by staff actions, append-only, filtered and scoped."""
import pytest
from sqlalchemy import text

from backend.audit import services as audit
from backend.audit.models import AuditLog
from backend.extensions import db
from tests.helpers import error_code


def _row(city, community, action="task.create", actor=None):
    row = audit.record((actor or city.staff1).id, action, "task", 1, before={}, after={"title": "x"},
                       community_id=community.id)
    db.session.commit()
    return row


def test_record_sets_street_from_community(city):
    row = _row(city, city.c1)
    assert row.street_id == city.street.id
    assert row.changes == {"before": {}, "after": {"title": "x"}}


def test_role_grant_via_api_is_listed_with_request_id(client, city, login):
    h = login("admin")
    _row(city, city.c1, "report.approve")
    grant = client.post("/api/v1/roles", json={"user_id": city.resident.id, "role": "staff", "community_id": city.c1.id},
                        headers={**h, "X-Request-Id": "abc"}).get_json()
    resp = client.get("/api/v1/admin/audit?action=role.grant&object_type=role_grant", headers=h)
    assert resp.status_code == 200
    [item] = [i for i in resp.get_json()["items"] if i["actor_id"] == city.admin.id]
    assert (item["object_id"], item["request_id"], item["ip"]) == (grant["id"], "abc", "127.0.0.1")
    assert item["changes"]["after"] == {"user_id": city.resident.id, "role": "staff", "community_id": city.c1.id}
    items = client.get("/api/v1/admin/audit?action=report.approve", headers=h).get_json()["items"]
    assert [i["action"] for i in items] == ["report.approve"]


def test_street_admin_sees_only_own_street(client, city, login):
    _row(city, city.c1)
    _row(city, city.c3, actor=city.staff3)
    items = client.get("/api/v1/admin/audit?object_type=task", headers=login("streetadm")).get_json()["items"]
    assert {i["community_id"] for i in items} == {city.c1.id}
    all_items = client.get("/api/v1/admin/audit?object_type=task", headers=login("admin")).get_json()["items"]
    assert {i["community_id"] for i in all_items} == {city.c1.id, city.c3.id}


def test_staff_cannot_read_audit(client, city, login):
    resp = client.get("/api/v1/admin/audit", headers=login("staff1"))
    assert resp.status_code == 403 and error_code(resp) == "FORBIDDEN"


def test_cursor_paging(client, city, login):
    for i in range(5):
        _row(city, city.c1, f"a{i}")
    h = login("admin")
    first = client.get("/api/v1/admin/audit?limit=2&object_type=task", headers=h).get_json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    seen = [i["id"] for i in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(f"/api/v1/admin/audit?limit=2&object_type=task&cursor={cursor}", headers=h).get_json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert seen == sorted(seen, reverse=True) and len(seen) == 5


def test_filters_by_actor_and_time(client, city, login):
    _row(city, city.c1)
    _row(city, city.c3, actor=city.staff3)
    h = login("admin")
    items = client.get(f"/api/v1/admin/audit?actor_id={city.staff3.id}", headers=h).get_json()["items"]
    assert [i["object_type"] for i in items] == ["task"]
    assert [i["actor_id"] for i in items] == [city.staff3.id]
    none = client.get("/api/v1/admin/audit?since=2999-01-01T00:00:00%2B08:00", headers=h).get_json()["items"]
    assert none == []


def test_orm_refuses_update_and_delete(city):
    row = _row(city, city.c1)
    row.action = "changed"
    with pytest.raises(RuntimeError):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(RuntimeError):
        db.session.delete(db.session.get(AuditLog, row.id))
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("sql", ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"])
def test_database_refuses_update_and_delete(city, sql):
    _row(city, city.c1)
    with pytest.raises(Exception) as exc:
        db.session.execute(text(sql))
    assert "append-only" in str(exc.value)
    db.session.rollback()
    assert db.session.query(AuditLog).filter(AuditLog.object_type == "task").count() == 1


def test_behind_a_trusted_proxy_the_audit_records_the_client_ip(app, wechat, city, login):
    """TRUSTED_PROXIES=1: the client's address comes from the proxy's X-Forwarded-For; without it
    (the default) a forged header changes nothing."""
    from backend import create_app
    from backend.config import TestConfig

    class Proxied(TestConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        REDIS_URL = app.config["REDIS_URL_RESOLVED"]
        WECHAT_API_BASE = wechat.url
        FILES_DIR = app.config["FILES_DIR"]
        TRUSTED_PROXIES = 1

    h = login("admin")
    body = {"user_id": city.resident.id, "role": "staff", "community_id": city.c1.id}
    forwarded = {**h, "X-Forwarded-For": "203.0.113.7"}
    proxied = create_app(Proxied).test_client()
    assert proxied.post("/api/v1/roles", json=body, headers=forwarded,
                        environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 201
    direct = app.test_client().post("/api/v1/roles", json={**body, "community_id": city.c2.id}, headers=forwarded)
    assert direct.status_code == 201
    items = app.test_client().get("/api/v1/admin/audit?action=role.grant", headers=h).get_json()["items"]
    ips = {i["changes"]["after"]["community_id"]: i["ip"] for i in items if i["actor_id"] == city.admin.id}
    assert ips == {city.c1.id: "203.0.113.7", city.c2.id: "127.0.0.1"}


def test_times_in_the_changes_read_as_the_api_writes_them(client, city, login):
    """A task moved by staff: the audit row's before/after times carry +08:00, as every time the
    API answers with, and name the same instants."""
    from datetime import datetime

    h = login("staff1")
    task = client.post(f"/api/v1/communities/{city.c1.id}/tasks", headers=h, json={
        "title": "清扫楼道", "starts_at": "2026-12-20T09:00:00+08:00", "ends_at": "2026-12-20T11:00:00+08:00",
        "capacity": 5, "points_per_hour": 10, "location": {"name": "3栋"}}).get_json()
    moved = client.patch(f"/api/v1/tasks/{task['id']}", headers=h, json={"starts_at": "2026-12-20T10:00:00+08:00"})
    assert moved.status_code == 200, moved.get_json()
    items = client.get("/api/v1/admin/audit?action=task.update", headers=login("admin")).get_json()["items"]
    changes = items[0]["changes"]
    assert changes["before"]["starts_at"] == "2026-12-20T09:00:00+08:00"
    assert changes["after"]["starts_at"] == "2026-12-20T10:00:00+08:00"
    assert datetime.fromisoformat(changes["after"]["starts_at"]) == datetime.fromisoformat(moved.get_json()["starts_at"])
