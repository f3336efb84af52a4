"""Creating, editing, cancelling and listing tasks through the API."""
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.db import utcnow
from backend.extensions import db
from backend.notifications.models import Notification
from backend.tasks.models import Task
from tests.helpers import error_code
from tests.tasks.conftest import task_body


def test_staff_creates_task(client, city, login):
    resp = client.post(f"/api/v1/communities/{city.c1.id}/tasks", json=task_body(), headers=login("staff1"))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["title"] == "敬老院探访"
    assert body["location"] == {"name": "幸福里敬老院", "lat": 30.59, "lng": 114.30}
    assert body["claimed_count"] == 0 and body["status"] == "open" and body["my_claim"] is None
    assert body["starts_at"].endswith("+08:00")
    task = db.session.get(Task, body["id"])
    assert task.community_id == city.c1.id and task.skills == ["医疗", "陪伴"]
    log = db.session.scalar(select(AuditLog).where(AuditLog.action == "task.create"))
    assert log.object_id == task.id and log.actor_id == city.staff1.id


@pytest.mark.parametrize("who", ["staff2", "member", "resident", "unit1", "streetadm"])
def test_only_staff_of_that_community_creates(client, city, login, who):
    resp = client.post(f"/api/v1/communities/{city.c1.id}/tasks", json=task_body(), headers=login(who))
    assert resp.status_code == 403 and error_code(resp) == "FORBIDDEN"
    assert db.session.scalar(select(Task)) is None


def test_create_needs_login_and_known_community(client, city, login):
    assert client.post(f"/api/v1/communities/{city.c1.id}/tasks", json=task_body()).status_code == 401
    resp = client.post("/api/v1/communities/9999/tasks", json=task_body(), headers=login("admin"))
    assert resp.status_code == 404


@pytest.mark.parametrize("over, field", [
    ({"ends_at": None}, "ends_at"),  # replaced below by ends == starts
    ({"capacity": 0}, "capacity"),
    ({"capacity": -3}, "capacity"),
    ({"capacity": 10001}, "capacity"),
    ({"capacity": "ten"}, "capacity"),
    ({"capacity": 2.5}, "capacity"),
    ({"points_per_hour": -1}, "points_per_hour"),
    ({"points_per_hour": 1001}, "points_per_hour"),
    ({"location": {"name": "x", "lat": 60.0, "lng": 114.3}}, "location"),
    ({"location": {"name": "x", "lat": 30.0, "lng": 140.0}}, "location"),
    ({"location": {"name": "x", "lat": 30.0}}, "location"),
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "长" * 101}, "title"),
    ({"starts_at": "not a date"}, "starts_at"),
    ({"colour": "red"}, "colour"),
    ({"skills": "医疗"}, "skills"),
])
def test_bad_task_input_is_422_with_field(client, city, login, over, field):
    body = task_body(**over)
    if over == {"ends_at": None}:
        body["ends_at"] = body["starts_at"]
    resp = client.post(f"/api/v1/communities/{city.c1.id}/tasks", json=body, headers=login("staff1"))
    assert resp.status_code == 422, resp.get_json()
    assert error_code(resp) == "VALIDATION_ERROR"
    assert field in resp.get_json()["error"]["details"]


def test_end_before_start_is_422(client, city, login):
    body = task_body(ends_at=(utcnow() + timedelta(days=1)).isoformat())
    resp = client.post(f"/api/v1/communities/{city.c1.id}/tasks", json=body, headers=login("staff1"))
    assert resp.status_code == 422 and "ends_at" in resp.get_json()["error"]["details"]


def test_a_task_already_over_is_not_posted_one_under_way_is(client, city, login):
    over = task_body(starts_at=(utcnow() - timedelta(hours=3)).isoformat(),
                     ends_at=(utcnow() - timedelta(hours=1)).isoformat())
    resp = client.post(f"/api/v1/communities/{city.c1.id}/tasks", json=over, headers=login("staff1"))
    assert resp.status_code == 422 and resp.get_json()["error"]["details"]["ends_at"] == ["结束时间已过，请检查日期"]
    assert db.session.scalar(select(Task).where(Task.title == over["title"])) is None
    under_way = task_body(starts_at=(utcnow() - timedelta(minutes=30)).isoformat(),
                          ends_at=(utcnow() + timedelta(hours=1)).isoformat())
    resp = client.post(f"/api/v1/communities/{city.c1.id}/tasks", json=under_way, headers=login("staff1"))
    assert resp.status_code == 201, resp.get_json()


def test_missing_fields_are_422(client, city, login):
    resp = client.post(f"/api/v1/communities/{city.c1.id}/tasks", json={}, headers=login("staff1"))
    assert resp.status_code == 422
    assert {"title", "starts_at", "ends_at", "capacity", "location"} <= set(resp.get_json()["error"]["details"])


def test_patch_before_start(client, city, login, make_task):
    task = make_task(capacity=5)
    resp = client.patch(f"/api/v1/tasks/{task.id}", json={"title": "新标题", "capacity": 8,
                                                          "location": {"name": "新地点", "lat": 31.0, "lng": 115.0}},
                        headers=login("staff1"))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["title"] == "新标题" and body["capacity"] == 8 and body["location"]["name"] == "新地点"
    log = db.session.scalar(select(AuditLog).where(AuditLog.action == "task.update"))
    assert log.changes["before"]["capacity"] == 5 and log.changes["after"]["capacity"] == 8
    assert "description" not in log.changes["after"]


def test_patch_other_community_is_403(client, city, login, make_task):
    task = make_task()
    for who in ("staff2", "member"):
        resp = client.patch(f"/api/v1/tasks/{task.id}", json={"title": "x"}, headers=login(who))
        assert resp.status_code == 403
    assert client.patch("/api/v1/tasks/999", json={"title": "x"}, headers=login("staff1")).status_code == 404


def test_patch_end_before_existing_start_is_422(client, city, login, make_task):
    task = make_task()
    resp = client.patch(f"/api/v1/tasks/{task.id}", json={"ends_at": (task.starts_at - timedelta(hours=1)).isoformat()},
                        headers=login("staff1"))
    assert resp.status_code == 422 and "ends_at" in resp.get_json()["error"]["details"]
    past = (utcnow() - timedelta(hours=1)).isoformat()
    resp = client.patch(f"/api/v1/tasks/{task.id}", json={"starts_at": past}, headers=login("staff1"))
    assert resp.status_code == 422 and "starts_at" in resp.get_json()["error"]["details"]
    resp = client.patch(f"/api/v1/tasks/{task.id}", json={"capacity": 0, "nope": 1}, headers=login("staff1"))
    assert resp.status_code == 422 and {"capacity", "nope"} <= set(resp.get_json()["error"]["details"])


def test_patch_capacity_below_claimed_is_422(client, city, login, make_task):
    task = make_task(capacity=5)
    for who in ("member", "member2", "resident"):
        assert client.post(f"/api/v1/tasks/{task.id}/claims", headers=login(who)).status_code == 201
    resp = client.patch(f"/api/v1/tasks/{task.id}", json={"capacity": 2}, headers=login("staff1"))
    assert resp.status_code == 422 and "capacity" in resp.get_json()["error"]["details"]
    assert client.patch(f"/api/v1/tasks/{task.id}", json={"capacity": 3}, headers=login("staff1")).status_code == 200


def test_patch_after_start_is_409(client, city, login, make_task):
    task = make_task(starts_in=timedelta(hours=1))
    headers = login("staff1")
    with time_machine.travel(utcnow() + timedelta(hours=2)):
        resp = client.patch(f"/api/v1/tasks/{task.id}", json={"title": "晚了"}, headers=headers)
    assert resp.status_code == 409 and error_code(resp) == "TASK_CLOSED"
    db.session.expire_all()
    assert db.session.get(Task, task.id).title == "清扫楼道"


def test_cancel_notifies_claimers(client, city, login, make_task):
    task = make_task()
    client.post(f"/api/v1/tasks/{task.id}/claims", headers=login("member"))
    client.post(f"/api/v1/tasks/{task.id}/claims", headers=login("resident"))
    client.post(f"/api/v1/tasks/{task.id}/claims", headers=login("member2"))
    client.delete(f"/api/v1/tasks/{task.id}/claims/me", headers=login("member2"))
    resp = client.post(f"/api/v1/tasks/{task.id}/cancel", json={"reason": "暴雨"}, headers=login("staff1"))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "cancelled" and resp.get_json()["cancel_reason"] == "暴雨"
    notes = db.session.scalars(select(Notification).where(Notification.kind == "task_cancelled")).all()
    assert sorted(n.user_id for n in notes) == sorted([city.member.id, city.resident.id])
    assert notes[0].data["reason"] == "暴雨" and notes[0].ref_id == task.id
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "task.cancel")).object_id == task.id
    again = client.post(f"/api/v1/tasks/{task.id}/cancel", json={"reason": "再次"}, headers=login("staff1"))
    assert again.status_code == 409 and error_code(again) == "INVALID_STATE"


def test_cancel_rules(client, city, login, make_task):
    task = make_task()
    assert client.post(f"/api/v1/tasks/{task.id}/cancel", json={"reason": "x"}, headers=login("staff2")).status_code == 403
    resp = client.post(f"/api/v1/tasks/{task.id}/cancel", json={}, headers=login("staff1"))
    assert resp.status_code == 422 and "reason" in resp.get_json()["error"]["details"]
    headers = login("staff1")
    with time_machine.travel(utcnow() + timedelta(days=2)):
        resp = client.post(f"/api/v1/tasks/{task.id}/cancel", json={"reason": "x"}, headers=headers)
    assert resp.status_code == 409 and error_code(resp) == "INVALID_STATE"


def test_get_task_with_my_claim(client, city, login, make_task):
    task = make_task(capacity=3)
    h = login("member")
    claim = client.post(f"/api/v1/tasks/{task.id}/claims", headers=h).get_json()
    mine = client.get(f"/api/v1/tasks/{task.id}", headers=h).get_json()
    assert mine["claimed_count"] == 1
    assert mine["my_claim"] == {"id": claim["id"], "status": "active", "created_at": claim["created_at"]}
    other = client.get(f"/api/v1/tasks/{task.id}", headers=login("resident")).get_json()
    assert other["my_claim"] is None and other["claimed_count"] == 1
    assert client.get("/api/v1/tasks/999", headers=h).status_code == 404
    assert client.get(f"/api/v1/tasks/{task.id}").status_code == 401


def test_staff_lists_claimers(client, city, login, make_task):
    task = make_task()
    client.post(f"/api/v1/tasks/{task.id}/claims", headers=login("member"))
    body = client.get(f"/api/v1/tasks/{task.id}/claims", headers=login("staff1")).get_json()
    assert [c["user_id"] for c in body["items"]] == [city.member.id]
    assert body["items"][0]["name"] == "member"
    assert client.get(f"/api/v1/tasks/{task.id}/claims", headers=login("member")).status_code == 403
