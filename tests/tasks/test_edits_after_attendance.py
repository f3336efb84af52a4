"""Task paging cursors, claims and edits once people have checked in, check-outs
before the start, manual minutes ahead of a task, and partial location edits."""
import base64
import json
from datetime import timedelta

import pytest

from backend.attendance import codes
from backend.attendance.models import Attendance
from backend.db import utcnow
from backend.extensions import db
from backend.tasks.models import Task
from tests.helpers import error_code


def _cursor(value):
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _code(app, task_id, action):
    window = codes.window_of(utcnow(), app.config["CHECKIN_CODE_TTL"])
    return codes.make(app.config["SECRET_KEY"], codes.Code("T", task_id, action, window))


def _scan(client, app, headers, task_id, action):
    return client.post("/api/v1/checkins", json={"code": _code(app, task_id, action)}, headers=headers)


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00"])
@pytest.mark.parametrize("path", ["/api/v1/me/tasks?status=all", "/api/v1/tasks?status=all"])
def test_a_cursor_with_a_time_out_of_range_is_422_not_500(client, city, login, make_task, path, stamp):
    make_task()
    resp = client.get(f"{path}&cursor={_cursor([stamp, 1])}", headers=login("member"))
    assert resp.status_code == 422, resp.get_json()
    assert "cursor" in resp.get_json()["error"]["details"]


def test_a_cursor_in_another_offset_pages_the_same(client, city, login, make_task):
    """The cursor's time is compared as an instant, whatever offset it was written in."""
    member = login("member")
    a, b = make_task(starts_in=timedelta(days=1)), make_task(starts_in=timedelta(days=2))
    first = client.get("/api/v1/tasks?limit=1", headers=member).get_json()
    ts, last = json.loads(base64.urlsafe_b64decode(first["next_cursor"] + "=="))
    from datetime import datetime, timezone
    shifted = datetime.fromisoformat(ts).astimezone(timezone(timedelta(hours=-5))).isoformat()
    rest = client.get(f"/api/v1/tasks?limit=1&cursor={_cursor([shifted, last])}", headers=member).get_json()
    assert [t["id"] for t in first["items"] + rest["items"]] == [a.id, b.id]


def test_unclaim_after_an_early_check_in_is_refused(app, client, city, login, make_task):
    """Check-in opens before the start; giving the seat back then left an attendance without a
    claim that still checked out and was awarded, while someone else took the seat."""
    member = login("member")
    task = make_task(starts_in=timedelta(minutes=30), capacity=1)
    assert client.post(f"/api/v1/tasks/{task.id}/claims", headers=member).status_code == 201
    assert _scan(client, app, member, task.id, "in").status_code == 201
    resp = client.delete(f"/api/v1/tasks/{task.id}/claims/me", headers=member)
    assert resp.status_code == 409 and error_code(resp) == "INVALID_STATE"
    db.session.expire_all()
    assert db.session.get(Task, task.id).claimed_count == 1
    full = client.post(f"/api/v1/tasks/{task.id}/claims", headers=login("member2"))
    assert full.status_code == 409 and error_code(full) == "TASK_FULL"
    item = client.get(f"/api/v1/tasks/{task.id}/attendances", headers=login("staff1")).get_json()["items"]
    assert [(i["user_id"], i["claimed"], i["status"]) for i in item] == [(city.member.id, True, "checked_in")]


def test_unclaim_without_attendance_still_works(client, city, login, make_task):
    member = login("member")
    task = make_task(starts_in=timedelta(minutes=30))
    client.post(f"/api/v1/tasks/{task.id}/claims", headers=member)
    assert client.delete(f"/api/v1/tasks/{task.id}/claims/me", headers=member).status_code == 204


def test_a_check_out_before_the_start_is_refused_and_the_check_in_stays(app, client, city, login, make_task,
                                                                          time_machine):
    """A check-out before the start counted 0 minutes and ended the attendance: the member
    could neither check in nor out again and lost the whole service."""
    member = login("member")
    task = make_task(starts_in=timedelta(minutes=30), hours=2)
    client.post(f"/api/v1/tasks/{task.id}/claims", headers=member)
    assert _scan(client, app, member, task.id, "in").status_code == 201
    early = _scan(client, app, member, task.id, "out")
    assert early.status_code == 409 and error_code(early) == "TASK_CLOSED"
    assert db.session.query(Attendance).one().status == "checked_in"
    time_machine.move_to(task.starts_at + timedelta(minutes=60), tick=False)
    out = _scan(client, app, member, task.id, "out")
    assert out.status_code == 201 and out.get_json()["minutes"] == 60


def test_moving_a_task_someone_checked_in_to_is_refused(app, client, city, login, make_task, time_machine):
    """A postponed task kept yesterday's check-in: checking out at the new end counted the whole
    new span, however late the member really came."""
    member, staff = login("member"), login("staff1")
    task = make_task(starts_in=timedelta(minutes=30), hours=2)
    client.post(f"/api/v1/tasks/{task.id}/claims", headers=member)
    assert _scan(client, app, member, task.id, "in").status_code == 201
    later = (task.starts_at + timedelta(days=1)).isoformat()
    resp = client.patch(f"/api/v1/tasks/{task.id}", json={"starts_at": later,
                                                          "ends_at": (task.ends_at + timedelta(days=1)).isoformat()},
                        headers=staff)
    assert resp.status_code == 409 and error_code(resp) == "INVALID_STATE"
    assert client.patch(f"/api/v1/tasks/{task.id}", json={"title": "清扫楼道（改）"}, headers=staff).status_code == 200
    db.session.expire_all()
    assert db.session.get(Task, task.id).starts_at == task.starts_at


def test_manual_minutes_days_before_a_task_are_refused(client, city, login, make_task):
    """Minutes entered for a task days away were confirmed into points (and the task could still be
    edited or cancelled, the member could unclaim) for service not yet given."""
    member, staff = login("member"), login("staff1")
    task = make_task(starts_in=timedelta(days=3))
    client.post(f"/api/v1/tasks/{task.id}/claims", headers=member)
    resp = client.post(f"/api/v1/tasks/{task.id}/attendances/{city.member.id}/manual",
                       json={"minutes": 600, "reason": "补录"}, headers=staff)
    assert resp.status_code == 409 and error_code(resp) == "TASK_CLOSED"
    assert client.post(f"/api/v1/tasks/{task.id}/confirm", headers=staff).get_json()["awarded"] == 0
    assert client.get("/api/v1/me/account", headers=member).get_json()["balance"] == 0
    assert db.session.query(Attendance).count() == 0


def test_manual_minutes_once_check_in_is_open_are_kept(client, city, login, make_task):
    member, staff = login("member"), login("staff1")
    task = make_task(starts_in=timedelta(minutes=30))
    client.post(f"/api/v1/tasks/{task.id}/claims", headers=member)
    resp = client.post(f"/api/v1/tasks/{task.id}/attendances/{city.member.id}/manual",
                       json={"minutes": 60, "reason": "补录"}, headers=staff)
    assert resp.status_code == 200 and resp.get_json()["minutes"] == 60


def test_patching_the_place_name_keeps_the_coordinates(client, city, login, make_task):
    """Renaming the place of a task wiped its coordinates, and with them the check-in geofence."""
    staff = login("staff1")
    task = make_task()
    resp = client.patch(f"/api/v1/tasks/{task.id}", json={"location": {"name": "新地点"}}, headers=staff)
    assert resp.status_code == 200
    assert resp.get_json()["location"] == {"name": "新地点", "lat": 30.5928, "lng": 114.3055}
    moved = client.patch(f"/api/v1/tasks/{task.id}", json={"location": {"lat": 30.6, "lng": 114.31}}, headers=staff)
    assert moved.get_json()["location"] == {"name": "新地点", "lat": 30.6, "lng": 114.31}
    half = client.patch(f"/api/v1/tasks/{task.id}", json={"location": {"lat": 30.7}}, headers=staff)
    assert half.status_code == 422
    cleared = client.patch(f"/api/v1/tasks/{task.id}", json={"location": {"lat": None, "lng": None}}, headers=staff)
    assert cleared.get_json()["location"] == {"name": "新地点", "lat": None, "lng": None}


def test_checkout_all_of_a_task_cancelled_midway_stops_at_the_cancellation(app, client, city, login, make_task,
                                                                            time_machine):
    """The member's own check-out is refused once the task is cancelled, yet the bulk check-out
    credited everyone up to the scheduled end: 110 minutes for 10 served before the rain."""
    member, staff = login("member"), login("staff1")
    task = make_task(starts_in=timedelta(minutes=30), hours=2, points_per_hour=60)
    client.post(f"/api/v1/tasks/{task.id}/claims", headers=member)
    time_machine.move_to(task.starts_at + timedelta(minutes=10), tick=False)
    assert _scan(client, app, member, task.id, "in").status_code == 201
    time_machine.move_to(task.starts_at + timedelta(minutes=20), tick=False)
    assert client.post(f"/api/v1/tasks/{task.id}/cancel", json={"reason": "下雨"}, headers=staff).status_code == 200
    assert error_code(_scan(client, app, member, task.id, "out")) == "TASK_CLOSED"
    resp = client.post(f"/api/v1/tasks/{task.id}/checkout-all", headers=staff)
    assert resp.status_code == 200 and resp.get_json()["user_ids"] == [city.member.id]
    row = db.session.query(Attendance).one()
    assert row.minutes == 10 and row.checkout_at == task.starts_at + timedelta(minutes=20)
    assert client.post(f"/api/v1/tasks/{task.id}/confirm", headers=staff).get_json()["points"] == 10
