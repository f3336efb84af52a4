"""What the client says it scans (task, meeting, action), and the settings that shape the rules:
CHECKIN_CODE_TTL, CHECKIN_EARLY_MIN and CHECKOUT_LATE_MIN."""
from datetime import timedelta

from backend.attendance.models import Attendance
from backend.extensions import db
from tests.attendance.conftest import T0
from tests.helpers import error_code


def test_a_code_of_another_task_is_invalid_when_the_page_names_the_task(city, login, clock, make_task, claim, scan,
                                                                        code_for):
    mine, other = make_task(), make_task(title="别的任务")
    claim(mine, city.member)
    claim(other, city.member)  # claimed both: only the expectation can tell the codes apart
    member = login("member")
    clock(T0)
    resp = scan(member, code_for(other, "in"), task_id=mine.id)
    assert resp.status_code == 422 and error_code(resp) == "CODE_INVALID"
    resp = scan(member, code_for(mine, "in", kind="M"), task_id=mine.id)  # a meeting code with the task's id
    assert resp.status_code == 422 and error_code(resp) == "CODE_INVALID"
    resp = scan(member, code_for(mine, "in"), meeting_id=mine.id)  # a task code where a meeting is expected
    assert resp.status_code == 422 and error_code(resp) == "CODE_INVALID"
    assert db.session.query(Attendance).count() == 0
    resp = scan(member, code_for(mine, "in"), task_id=mine.id, action="in")
    assert resp.status_code == 201 and resp.get_json()["task_id"] == mine.id


def test_a_check_in_code_pressed_as_check_out_is_invalid(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    member = login("member")
    clock(T0)
    assert scan(member, code_for(task, "in"), action="in").status_code == 201
    clock(T0 + timedelta(hours=1))
    resp = scan(member, code_for(task, "in"), action="out")
    assert resp.status_code == 422 and error_code(resp) == "CODE_INVALID"
    resp = scan(member, code_for(task, "out"), action="in")
    assert resp.status_code == 422 and error_code(resp) == "CODE_INVALID"
    assert db.session.query(Attendance).one().status == "checked_in"
    resp = scan(member, code_for(task, "out"), action="out", task_id=task.id)
    assert resp.status_code == 201 and resp.get_json()["minutes"] == 60


def test_expectations_are_validated(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    member = login("member")
    clock(T0)
    code = code_for(task, "in")
    for extra in ({"action": "sideways"}, {"task_id": 0}, {"task_id": "1"}, {"task_id": 1, "meeting_id": 1}):
        resp = scan(member, code, **extra)
        assert resp.status_code == 422 and error_code(resp) == "VALIDATION_ERROR", extra


def test_the_code_rotates_every_configured_ttl(app, city, client, login, clock, make_task, claim, scan, monkeypatch):
    monkeypatch.setitem(app.config, "CHECKIN_CODE_TTL", 60)
    task = make_task()
    claim(task, city.member)
    staff, member = login("staff1"), login("member")
    url = f"/api/v1/tasks/{task.id}/checkin-code?action=in"
    clock(T0)  # T0 is on a minute: a window starts here
    first = client.get(url, headers=staff).get_json()
    assert first["refresh_after"] == 60
    assert first["expires_at"].startswith("2026-11-14T09:02:00")  # this window and the next
    clock(T0 + timedelta(seconds=59))
    assert client.get(url, headers=staff).get_json()["code"] == first["code"]
    clock(T0 + timedelta(seconds=60))
    assert client.get(url, headers=staff).get_json()["code"] != first["code"]
    clock(T0 + timedelta(seconds=120))  # two windows on: expired
    resp = scan(member, first["code"])
    assert resp.status_code == 410 and error_code(resp) == "CODE_EXPIRED"
    clock(T0 + timedelta(seconds=119))  # still the previous window
    assert scan(member, first["code"]).status_code == 201


def test_check_in_and_out_windows_follow_the_settings(app, city, login, clock, make_task, claim, scan, code_for,
                                                      monkeypatch):
    monkeypatch.setitem(app.config, "CHECKIN_EARLY_MIN", 30)
    monkeypatch.setitem(app.config, "CHECKOUT_LATE_MIN", 15)
    task = make_task()  # 09:00-11:00
    claim(task, city.member)
    member = login("member")
    clock(T0 - timedelta(minutes=31))
    resp = scan(member, code_for(task, "in"))
    assert resp.status_code == 409 and error_code(resp) == "TASK_CLOSED"
    clock(T0 - timedelta(minutes=29))
    assert scan(member, code_for(task, "in")).status_code == 201
    clock(T0 + timedelta(hours=2, minutes=16))
    resp = scan(member, code_for(task, "out"))
    assert resp.status_code == 409 and error_code(resp) == "TASK_CLOSED"
    clock(T0 + timedelta(hours=2, minutes=14))
    resp = scan(member, code_for(task, "out"))
    assert resp.status_code == 201 and resp.get_json()["minutes"] == 120  # clipped to 09:00-11:00
