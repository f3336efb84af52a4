"""State transitions across objects: a transition called from a state it should not start from,
and what one object's transition leaves behind in the objects that hang off it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import time_machine
from sqlalchemy import func, select

from backend.db import utcnow
from backend.extensions import db
from backend.partywork.models_meetings import MeetingAttendee
from tests.helpers import error_code

START = datetime(2026, 11, 10, 6, 0, tzinfo=timezone.utc)  # 14:00 in Shanghai


def _task(client, staff, community_id, starts_at, hours=2, points_per_hour=60):
    body = {"title": "清扫楼道", "description": "", "category": "环境", "starts_at": starts_at.isoformat(),
            "ends_at": (starts_at + timedelta(hours=hours)).isoformat(), "location": {"name": "广场"},
            "capacity": 5, "points_per_hour": points_per_hour, "skills": []}
    resp = client.post(f"/api/v1/communities/{community_id}/tasks", json=body, headers=staff)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


# --- tasks: cancelled before anyone could serve -----------------------------------------------

def test_manual_minutes_for_a_task_cancelled_before_it_began_are_refused(client, login, city):
    """A task called off the day before was held by nobody: minutes entered for it afterwards
    were confirmed into points, for a task whose codes, scans and check-outs are all refused."""
    with time_machine.travel(START - timedelta(days=2), tick=False):
        staff, member = login("staff1"), login("member")
        task = _task(client, staff, city.c1.id, START)
        assert client.post(f"/api/v1/tasks/{task['id']}/claims", headers=member).status_code == 201
    with time_machine.travel(START - timedelta(days=1), tick=False):
        assert client.post(f"/api/v1/tasks/{task['id']}/cancel", json={"reason": "暴雨"},
                           headers=staff).status_code == 200
    with time_machine.travel(START + timedelta(hours=3), tick=False):
        resp = client.post(f"/api/v1/tasks/{task['id']}/attendances/{city.member.id}/manual",
                           json={"minutes": 120, "reason": "补录"}, headers=staff)
        assert resp.status_code == 409 and error_code(resp) == "TASK_CLOSED", resp.get_json()
        assert client.post(f"/api/v1/tasks/{task['id']}/confirm", headers=staff).get_json()["awarded"] == 0
        assert client.get("/api/v1/me/account", headers=member).get_json()["balance"] == 0


def test_manual_minutes_for_a_task_cancelled_midway_are_kept(client, login, city):
    """Cancelled once it had begun, people did serve until then: staff may still enter their minutes."""
    with time_machine.travel(START - timedelta(days=2), tick=False):
        staff, member = login("staff1"), login("member")
        task = _task(client, staff, city.c1.id, START)
        assert client.post(f"/api/v1/tasks/{task['id']}/claims", headers=member).status_code == 201
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        assert client.post(f"/api/v1/tasks/{task['id']}/cancel", json={"reason": "暴雨"},
                           headers=staff).status_code == 200
        resp = client.post(f"/api/v1/tasks/{task['id']}/attendances/{city.member.id}/manual",
                           json={"minutes": 60, "reason": "手机没电"}, headers=staff)
        assert resp.status_code == 200 and resp.get_json()["minutes"] == 60


# --- closing an account: invitations to meetings not yet held ---------------------------------

def test_closing_an_account_ends_its_invitations_to_meetings_not_yet_held(client, login, city):
    """Moving away drops a member's invitations to meetings not yet begun; closing the account
    left them, so the closed account was counted absent at every meeting already on the calendar."""
    with time_machine.travel(START - timedelta(days=2), tick=False):
        staff = login("staff1")
        meeting = client.post(f"/api/v1/communities/{city.c1.id}/meetings", headers=staff, json={
            "kind": "党课", "title": "党课", "starts_at": START.isoformat(),
            "ends_at": (START + timedelta(hours=1)).isoformat(), "location": "党群服务中心"}).get_json()
        assert {a["user_id"] for a in meeting["attendees"]} == {city.member.id, city.member2.id}
        assert client.delete("/api/v1/me", headers=login("member")).status_code == 204
    db.session.expire_all()
    left = db.session.scalar(select(func.count()).select_from(MeetingAttendee).where(
        MeetingAttendee.meeting_id == meeting["id"], MeetingAttendee.user_id == city.member.id))
    assert left == 0
    with time_machine.travel(START + timedelta(days=1), tick=False):
        report = client.get(f"/api/v1/communities/{city.c1.id}/meeting-attendance?period=2026-11",
                            headers=login("staff1")).get_json()
        assert report["expected"] == 1 and [m["absent"] for m in report["meetings"]] == [1]


# --- every transition a second time ------------------------------------------------------------

def test_every_staff_transition_called_twice_is_409_and_moves_nothing_more(client, login, city):
    """Decisions, cancellations, and completions repeated (a double tap, a retry) are
    refused the second time with 409 INVALID_STATE (or 404 where the thing is gone) and no 500."""
    staff, member, unit = login("staff1"), login("member"), login("unit1")
    api = "/api/v1"
    twice = []

    report = client.post(f"{api}/member-reports", headers=login("resident"), json={
        "community_id": city.c1.id, "unit_id": city.u1.id, "name": "李明", "phone": "13812345678",
        "skills": []}).get_json()
    twice.append(("POST", f"/member-reports/{report['id']}/decision", {"approve": True}, staff))
    ur = client.post(f"{api}/unit-reports", headers=unit, json={
        "unit_id": city.u1.id, "community_id": city.c1.id, "resources": ["场地"], "needs": []}).get_json()
    twice.append(("POST", f"/unit-reports/{ur['id']}/decision", {"approve": True}, staff))
    task = _task(client, staff, city.c1.id, utcnow() + timedelta(days=2))
    twice.append(("POST", f"/tasks/{task['id']}/cancel", {"reason": "暴雨"}, staff))
    post = client.post(f"{api}/communities/{city.c1.id}/duty-posts", headers=staff,
                       json={"name": "楼栋长", "duties": "", "seats": 2}).get_json()
    assert client.post(f"{api}/duty-posts/{post['id']}/holders", headers=member).status_code == 201
    twice.append(("POST", f"/duty-posts/{post['id']}/holders/{city.member.id}/decision", {"approve": True}, staff))
    need = client.post(f"{api}/communities/{city.c1.id}/needs", headers=staff,
                       json={"title": "场地", "category": "场地", "description": ""}).get_json()
    h = client.post(f"{api}/communities/{city.c1.id}/households", headers=staff,
                    json={"address": "幸福里1栋", "head_name": "王大爷", "tags": []}).get_json()
    assert client.post(f"{api}/households/{h['id']}/links", json={"user_id": city.member2.id},
                       headers=staff).status_code == 201
    twice.append(("DELETE", f"/households/{h['id']}/links/{city.member2.id}", None, staff))
    wish = client.post(f"{api}/communities/{city.c1.id}/wishes", headers=login("resident"),
                       json={"title": "读报", "type": "精神"}).get_json()
    twice.append(("POST", f"/wishes/{wish['id']}/decision", {"approve": True}, staff))

    for method, url, body, who in twice:
        first = client.open(api + url, method=method, json=body, headers=who)
        assert first.status_code < 300, (url, first.get_json())
        again = client.open(api + url, method=method, json=body, headers=who)
        assert again.status_code in (404, 409), (url, again.status_code, again.get_json())
        assert again.status_code == 404 or error_code(again) == "INVALID_STATE", (url, again.get_json())

    # a need: pledged, completed, then not completed again
    pledge = client.post(f"{api}/needs/{need['id']}/pledges", headers=unit,
                         json={"unit_id": city.u1.id, "resource": "场地", "note": ""})
    assert pledge.status_code == 201, pledge.get_json()
    assert client.post(f"{api}/needs/{need['id']}/complete", headers=staff).status_code == 200
    again = client.post(f"{api}/needs/{need['id']}/complete", headers=staff)
    assert again.status_code == 409 and error_code(again) == "INVALID_STATE"
