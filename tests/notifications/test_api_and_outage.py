"""The notification endpoints, and the outbox surviving a Redis outage during a request."""
from __future__ import annotations

import pytest
import redis
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.extensions import db
from backend.jobs import drain, get_queue
from backend.jobs.models import OutboxJob
from backend.notifications.models import Notification
from tests.helpers import error_code
from tests.jobs.util import run_worker

SEND = "/cgi-bin/message/subscribe/send"


def _send(client, headers, user_id, **extra):
    body = {"user_id": user_id, "kind": "report_reminder",
            "data": {"message": "您的双报到信息已超过半年未更新，请及时更新", "unit": "一单位"}, **extra}
    return client.post("/api/v1/admin/notifications", json=body, headers=headers)


def test_redis_down_during_the_request_nothing_is_lost(app, client, login, city, wechat):
    admin = login("admin")
    good = app.extensions["redis"]
    app.extensions["redis"] = redis.Redis(port=1, retry=None)  # Redis is down
    try:
        resp = _send(client, admin, city.member.id)
        again = _send(client, admin, city.member2.id)  # later requests skip Redis for a while
    finally:
        app.extensions["redis"] = good
    assert resp.status_code == 201, resp.get_json()
    assert again.status_code == 201
    nid = resp.get_json()["id"]
    db.session.expire_all()
    rows = db.session.scalars(select(OutboxJob)).all()
    assert len(rows) == 2 and all(r.enqueued_at is None and r.done_at is None for r in rows)
    assert get_queue(app).count == 0
    assert db.session.get(Notification, nid).status == "pending"
    # Redis is back: the cron's drain pushes the rows and a worker sends them
    assert drain(app) == 2
    run_worker(app)
    calls = wechat.calls(SEND)
    assert sorted(c["body"]["touser"] for c in calls) == ["mock-member", "mock-member2"]
    assert calls[0]["body"]["data"]["thing1"]["value"].endswith("…")
    db.session.expire_all()
    assert db.session.get(Notification, nid).status == "sent"
    assert drain(app) == 0


def test_admin_send_is_audited_and_listed(app, client, login, city, wechat):
    admin = login("admin")
    resp = _send(client, admin, city.member.id)
    assert resp.status_code == 201
    nid = resp.get_json()["id"]
    assert resp.get_json()["status"] == "pending"
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "notification.send")).one()
    assert audit.object_id == nid and audit.actor_id == city.admin.id
    run_worker(app)
    listed = client.get("/api/v1/admin/notifications?status=sent", headers=admin).get_json()
    assert [i["id"] for i in listed["items"]] == [nid]
    assert listed["items"][0]["attempt_log"][0]["errcode"] == 0
    mine = client.get("/api/v1/me/notifications", headers=login("member")).get_json()
    assert [(i["id"], i["status"]) for i in mine["items"]] == [(nid, "sent")]
    assert client.get("/api/v1/me/notifications", headers=login("member2")).get_json()["items"] == []


def test_only_admin_may_send_or_list(client, login, city):
    staff = login("staff1")
    assert error_code(_send(client, staff, city.member.id)) == "FORBIDDEN"
    assert client.get("/api/v1/admin/notifications", headers=staff).status_code == 403
    assert client.get("/api/v1/me/notifications").status_code == 401
    assert db.session.scalars(select(Notification)).all() == []


def test_bad_input_is_422(client, login, city):
    admin = login("admin")
    resp = _send(client, admin, city.member.id, kind="spam")
    assert resp.status_code == 422 and "kind" in str(resp.get_json()["error"]["details"])
    assert client.get("/api/v1/admin/notifications?status=weird", headers=admin).status_code == 422
    assert _send(client, admin, 999999).status_code == 404


def test_retry_a_failed_notification(app, client, login, city, wechat):
    admin = login("admin")
    wechat.fail(SEND, 40003)
    nid = _send(client, admin, city.member.id).get_json()["id"]
    run_worker(app)
    db.session.expire_all()
    assert db.session.get(Notification, nid).status == "failed"
    resp = client.post(f"/api/v1/admin/notifications/{nid}/retry", headers=admin)
    assert resp.status_code == 200 and resp.get_json()["status"] == "pending"
    run_worker(app)
    db.session.expire_all()
    assert db.session.get(Notification, nid).status == "sent"
    again = client.post(f"/api/v1/admin/notifications/{nid}/retry", headers=admin)
    assert again.status_code == 409 and error_code(again) == "INVALID_STATE"
    assert len(wechat.calls(SEND)) == 2
