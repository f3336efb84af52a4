"""Duty posts: seats, applications, appointments, history, logs and confirmation (award once)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import time_machine

from backend.extensions import db
from backend.partywork import duty
from tests.helpers import error_code
from tests.partywork.conftest import audit_actions, balance

NOW = datetime(2026, 11, 10, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _post(client, headers, community_id, **kw):
    body = {"name": "楼栋长", "duties": "联系本楼居民", "seats": 1, "points_per_month": 30, **kw}
    return client.post(f"/api/v1/communities/{community_id}/duty-posts", json=body, headers=headers)


def test_staff_create_post_and_members_apply_approve_log_confirm(client, login, city):
    staff, member = login("staff1"), login("member")
    resp = _post(client, staff, city.c1.id, grid_id=city.g1.id, building="3栋")
    assert resp.status_code == 201, resp.get_json()
    post = resp.get_json()
    assert post["free_seats"] == 1 and post["building"] == "3栋"

    r = client.post(f"/api/v1/duty-posts/{post['id']}/holders", json={}, headers=member)
    assert r.status_code == 201 and r.get_json()["status"] == "pending"
    r = client.post(f"/api/v1/duty-posts/{post['id']}/holders/{city.member.id}/decision",
                    json={"approve": True}, headers=staff)
    assert r.status_code == 200 and r.get_json()["status"] == "active"
    listed = client.get(f"/api/v1/communities/{city.c1.id}/duty-posts", headers=member).get_json()["items"]
    assert listed[0]["free_seats"] == 0 and listed[0]["holders"][0]["user_id"] == city.member.id

    r = client.post(f"/api/v1/duty-posts/{post['id']}/logs",
                    json={"date": "2026-11-10", "minutes": 120, "note": "巡查楼道"}, headers=member)
    assert r.status_code == 201, r.get_json()
    log_id = r.get_json()["id"]
    r = client.post(f"/api/v1/communities/{city.c1.id}/duty-logs/confirm", json={"log_ids": [log_id]}, headers=staff)
    assert r.get_json() == {"awarded": 1, "points": 20}  # 120 min × 10/h
    again = client.post(f"/api/v1/communities/{city.c1.id}/duty-logs/confirm", json={"log_ids": [log_id]},
                        headers=staff)
    assert again.status_code == 200 and again.get_json() == {"awarded": 0, "points": 0}
    assert balance(city.member.id) == 20
    assert {"duty_post.create", "duty_post.approve", "duty_log.confirm"} <= set(audit_actions())


def test_points_per_month_caps_a_holder_and_post_without_points_earns_none(city):
    post = duty.create_post(city.staff1, city.c1.id, name="文明劝导岗", seats=2, points_per_month=25)
    free = duty.create_post(city.staff1, city.c1.id, name="党员示范岗", seats=2)
    for p in (post, free):
        duty.apply_or_appoint(city.staff1, p.id, city.member.id)
    logs = [duty.add_log(city.member, post.id, date_=date(2026, 11, 10), minutes=120, note=f"第{i}班")
            for i in (1, 2)]
    unpaid = duty.add_log(city.member, free.id, date_=date(2026, 11, 10), minutes=60)
    out = duty.confirm_logs(city.staff1, city.c1.id, [l.id for l in logs] + [unpaid.id])
    db.session.commit()
    assert out == {"awarded": 3, "points": 25}  # 20 + 5 (capped at 25 for November), 0 for the free post
    assert [l.points for l in logs] == [20, 5] and unpaid.points == 0
    assert balance(city.member.id) == 25


def test_seats_appointment_and_history(client, login, city):
    staff = login("staff1")
    post = _post(client, staff, city.c1.id).get_json()
    r = client.post(f"/api/v1/duty-posts/{post['id']}/holders", json={"user_id": city.member.id}, headers=staff)
    assert r.status_code == 201 and r.get_json()["status"] == "active" and r.get_json()["appointed"]
    full = client.post(f"/api/v1/duty-posts/{post['id']}/holders", json={"user_id": city.member2.id}, headers=staff)
    assert full.status_code == 409 and error_code(full) == "POST_FULL"
    # member2 applies, cannot be approved while the seat is taken; member steps down, then it works
    assert client.post(f"/api/v1/duty-posts/{post['id']}/holders", json={}, headers=login("member2")).status_code == 201
    url = f"/api/v1/duty-posts/{post['id']}/holders/{city.member2.id}/decision"
    assert error_code(client.post(url, json={"approve": True}, headers=staff)) == "POST_FULL"
    assert client.delete(f"/api/v1/duty-posts/{post['id']}/holders/me", headers=login("member")).status_code == 204
    assert client.post(url, json={"approve": True}, headers=staff).get_json()["status"] == "active"
    hist = client.get(f"/api/v1/duty-posts/{post['id']}/holders", headers=staff).get_json()["items"]
    assert [(h["user_id"], h["status"]) for h in hist] == [(city.member.id, "ended"), (city.member2.id, "active")]
    assert hist[0]["ended_at"] is not None
    twice = client.post(f"/api/v1/duty-posts/{post['id']}/holders", json={}, headers=login("member2"))
    assert twice.status_code == 409


def test_bad_input(client, login, city, other_member):
    staff, member = login("staff1"), login("member")
    assert _post(client, login("staff2"), city.c1.id).status_code == 403
    bad = _post(client, staff, city.c1.id, seats=0)
    assert bad.status_code == 422 and "seats" in bad.get_json()["error"]["details"]
    post = _post(client, staff, city.c1.id, seats=3).get_json()
    logs = f"/api/v1/duty-posts/{post['id']}/logs"
    # not a holder
    r = client.post(logs, json={"date": "2026-11-10", "minutes": 30, "note": ""}, headers=member)
    assert r.status_code == 403 and error_code(r) == "FORBIDDEN"
    # a member of another community cannot apply; staff cannot appoint them
    assert client.post(f"/api/v1/duty-posts/{post['id']}/holders", json={}, headers=login("member-c2")).status_code == 403
    r = client.post(f"/api/v1/duty-posts/{post['id']}/holders", json={"user_id": other_member.id}, headers=staff)
    assert r.status_code == 422 and "user_id" in r.get_json()["error"]["details"]
    client.post(f"/api/v1/duty-posts/{post['id']}/holders", json={"user_id": city.member.id}, headers=staff)
    for minutes in (0, -5, 1441, "abc"):
        r = client.post(logs, json={"date": "2026-11-10", "minutes": minutes}, headers=member)
        assert r.status_code == 422 and "minutes" in r.get_json()["error"]["details"], minutes
    for day in ("2026-11-11", "2026-11-09"):  # the future; before the appointment
        r = client.post(logs, json={"date": day, "minutes": 30}, headers=member)
        assert r.status_code == 422 and "date" in r.get_json()["error"]["details"]
    ok = client.post(logs, json={"date": "2026-11-10", "minutes": 1440}, headers=member)
    assert ok.status_code == 201
    # another community's staff cannot confirm it; unknown ids are a 422
    r = client.post(f"/api/v1/communities/{city.c2.id}/duty-logs/confirm", json={"log_ids": [ok.get_json()["id"]]},
                    headers=login("staff2"))
    assert r.status_code == 422
    r = client.post(f"/api/v1/communities/{city.c1.id}/duty-logs/confirm", json={"log_ids": []}, headers=staff)
    assert r.status_code == 422


def test_my_posts_and_pending_logs_for_staff(client, login, city):
    staff, member = login("staff1"), login("member")
    post = _post(client, staff, city.c1.id).get_json()
    client.post(f"/api/v1/duty-posts/{post['id']}/holders", json={"user_id": city.member.id}, headers=staff)
    client.post(f"/api/v1/duty-posts/{post['id']}/logs", json={"date": "2026-11-10", "minutes": 45}, headers=member)
    mine = client.get("/api/v1/me/duty-posts", headers=member).get_json()["items"]
    assert mine[0]["post"]["name"] == "楼栋长" and mine[0]["status"] == "active"
    pending = client.get(f"/api/v1/communities/{city.c1.id}/duty-logs?status=pending", headers=staff).get_json()
    assert [l["minutes"] for l in pending["items"]] == [45]
    assert client.get(f"/api/v1/communities/{city.c1.id}/duty-logs", headers=member).status_code == 403
    assert client.get("/api/v1/me/duty-logs", headers=member).get_json()["items"][0]["status"] == "pending"
