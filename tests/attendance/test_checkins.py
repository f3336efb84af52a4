"""POST /api/v1/checkins and the code endpoint: the attacks of the issue, time limits, geofence, repeats."""
from datetime import timedelta

from backend.attendance import services
from backend.attendance.models import Attendance
from backend.extensions import db
from tests.attendance.conftest import FAR, NEAR, PLACE, T0
from tests.helpers import error_code


def _code(client, headers, task_id, action):
    resp = client.get(f"/api/v1/tasks/{task_id}/checkin-code?action={action}", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_staff_get_a_rotating_code_that_a_claimer_scans_in_and_out(city, client, login, clock, make_task, claim, scan):
    task = make_task()
    claim(task, city.member)
    staff, member = login("staff1"), login("member")
    clock(T0 + timedelta(minutes=5))
    issued = _code(client, staff, task.id, "in")
    assert len(issued["code"]) <= 32
    assert issued["image_url"].endswith(f"/checkin-codes/{issued['code']}.png")
    assert 0 < issued["refresh_after"] <= 30
    assert issued["expires_at"].endswith("+08:00")
    resp = scan(member, issued["code"], lat=NEAR[0], lng=NEAR[1])
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["task_id"] == task.id and body["action"] == "in" and body["offline"] is False
    assert body["at"].startswith("2026-11-14T09:05:00")
    assert 100 <= body["distance_m"] <= 125
    clock(T0 + timedelta(minutes=95, seconds=7))
    out = scan(member, _code(client, staff, task.id, "out")["code"])
    assert out.status_code == 201
    assert out.get_json()["minutes"] == 90
    row = db.session.query(Attendance).one()
    assert (row.status, row.minutes, row.source, row.checkin_distance_m) == ("checked_out", 90, "scan", body["distance_m"])


def test_the_code_rotates_and_the_previous_window_is_still_accepted(city, client, login, clock, make_task, claim, scan):
    task = make_task()
    claim(task, city.member)
    staff = login("staff1")
    clock(T0)
    first = _code(client, staff, task.id, "in")["code"]
    clock(T0 + timedelta(seconds=31))
    assert _code(client, staff, task.id, "in")["code"] != first
    assert scan(login("member"), first).status_code == 201


def test_a_code_older_than_two_windows_is_expired(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    member = login("member")
    clock(T0 + timedelta(minutes=1))
    old = code_for(task, "in")
    clock(T0 + timedelta(minutes=2))
    resp = scan(member, old)
    assert resp.status_code == 410 and error_code(resp) == "CODE_EXPIRED"
    assert db.session.query(Attendance).count() == 0


def test_signature_altered_by_one_character_is_invalid(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    member = login("member")
    clock(T0)
    good = code_for(task, "in")
    bad = good[:-1] + ("A" if good[-1] != "A" else "B")
    resp = scan(member, bad)
    assert resp.status_code == 422 and error_code(resp) == "CODE_INVALID"
    forged = good[:1] + "zz" + good[good.index("."):]  # another task id, same signature
    assert error_code(scan(member, forged)) == "CODE_INVALID"
    assert scan(member, "not a code at all").status_code == 422


def test_a_future_window_is_invalid(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    clock(T0)
    future = code_for(task, "in", at=T0 + timedelta(minutes=5))
    resp = scan(login("member"), future)
    assert resp.status_code == 422 and error_code(resp) == "CODE_INVALID"


def test_a_code_for_another_task_checks_in_there_not_here(city, login, clock, make_task, claim, scan, code_for):
    mine, other = make_task(), make_task(title="别的任务")
    claim(mine, city.member)
    clock(T0)
    resp = scan(login("member"), code_for(other, "in"))
    assert resp.status_code == 409 and error_code(resp) == "NOT_CLAIMED"
    assert db.session.query(Attendance).count() == 0


def test_a_meeting_code_is_never_a_task_code(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    clock(T0)
    member = login("member")
    resp = scan(member, code_for(task.id, "in", kind="Q"))  # an unregistered subject type
    assert resp.status_code == 422 and error_code(resp) == "CODE_INVALID"
    resp = scan(member, code_for(task.id, "in", kind="M"))  # no meeting has the task's id
    assert resp.status_code == 422 and error_code(resp) == "CODE_INVALID"
    assert db.session.query(Attendance).count() == 0
    seen, meetings = [], services._HANDLERS.get("M")
    services.register_subject("M", lambda user, s, **kw: (seen.append((s.subject_type, s.subject_id)) or
                                                          ({"meeting_id": s.subject_id, "action": s.action, "at": s.at}, True)))
    try:
        resp = scan(member, code_for(task.id, "in", kind="M"))
        assert resp.status_code == 201 and resp.get_json()["meeting_id"] == task.id
        assert seen == [("M", task.id)]
        assert db.session.query(Attendance).count() == 0  # the task was not touched
    finally:
        services._HANDLERS.pop("M", None)
        if meetings is not None:
            services.register_subject("M", meetings)


def test_check_in_code_used_for_check_out_only_checks_in_again(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    member = login("member")
    clock(T0)
    assert scan(member, code_for(task, "in")).status_code == 201
    clock(T0 + timedelta(hours=1))
    resp = scan(member, code_for(task, "in"))
    assert resp.status_code == 200 and resp.get_json()["action"] == "in"
    assert resp.get_json()["at"].startswith("2026-11-14T09:00:00")
    assert db.session.query(Attendance).one().status == "checked_in"


def test_scan_by_someone_who_did_not_claim(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    clock(T0)
    for action in ("in", "out"):
        resp = scan(login("member2"), code_for(task, action))
        assert resp.status_code == 409 and error_code(resp) == "NOT_CLAIMED"


def test_check_out_before_check_in(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    clock(T0 + timedelta(minutes=30))
    resp = scan(login("member"), code_for(task, "out"))
    assert resp.status_code == 409 and error_code(resp) == "NOT_CHECKED_IN"


def test_out_of_range_is_refused_and_in_range_distance_is_kept(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    member = login("member")
    clock(T0)
    resp = scan(member, code_for(task, "in"), lat=FAR[0], lng=FAR[1])
    assert resp.status_code == 422 and error_code(resp) == "OUT_OF_RANGE"
    assert resp.get_json()["error"]["details"]["distance_m"] > 1000
    assert db.session.query(Attendance).count() == 0
    assert scan(member, code_for(task, "in"), lat=PLACE[0], lng=PLACE[1]).get_json()["distance_m"] == 0


def test_no_coordinates_on_either_side_skips_the_fence(city, login, clock, make_task, claim, scan, code_for):
    task = make_task(lat=None, lng=None)
    claim(task, city.member)
    clock(T0)
    resp = scan(login("member"), code_for(task, "in"), lat=FAR[0], lng=FAR[1])
    assert resp.status_code == 201 and resp.get_json()["distance_m"] is None


def test_check_in_window_opens_two_hours_before_and_closes_at_the_end(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    member = login("member")
    clock(T0 - timedelta(minutes=121))
    assert error_code(scan(member, code_for(task, "in"))) == "TASK_CLOSED"
    clock(T0 + timedelta(hours=2, seconds=1))
    assert error_code(scan(member, code_for(task, "in"))) == "TASK_CLOSED"
    clock(T0 - timedelta(minutes=119))
    assert scan(member, code_for(task, "in")).status_code == 201


def test_check_out_closes_two_hours_after_the_end_and_minutes_are_clipped(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member, city.member2)
    m1, m2 = login("member"), login("member2")
    clock(T0 - timedelta(minutes=60))  # early arrivals count from the start
    scan(m1, code_for(task, "in"))
    scan(m2, code_for(task, "in"))
    clock(T0 + timedelta(hours=4, seconds=1))
    assert error_code(scan(m2, code_for(task, "out"))) == "TASK_CLOSED"
    clock(T0 + timedelta(hours=3, minutes=59))
    resp = scan(m1, code_for(task, "out"))
    assert resp.status_code == 201 and resp.get_json()["minutes"] == 120


def test_repeated_scans_answer_200_with_the_first_record(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    member = login("member")
    clock(T0 + timedelta(minutes=1))
    first = scan(member, code_for(task, "in"))
    again = scan(member, code_for(task, "in"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json() == again.get_json()
    clock(T0 + timedelta(minutes=61))
    out1 = scan(member, code_for(task, "out"))
    clock(T0 + timedelta(minutes=90))
    out2 = scan(member, code_for(task, "out"))
    assert (out1.status_code, out2.status_code) == (201, 200)
    assert out1.get_json() == out2.get_json() and out2.get_json()["minutes"] == 60
    assert db.session.query(Attendance).count() == 1


def test_code_issued_by_staff_of_another_community_is_forbidden(city, client, login, clock, make_task):
    task = make_task()
    for who, status in (("staff2", 403), ("staff3", 403), ("member", 403), ("staff1", 200), ("admin", 200)):
        resp = client.get(f"/api/v1/tasks/{task.id}/checkin-code?action=in", headers=login(who))
        assert resp.status_code == status, who
    assert client.get("/api/v1/tasks/999/checkin-code?action=in", headers=login("staff1")).status_code == 404


def test_bad_input_is_a_validation_error(city, client, login, make_task):
    task = make_task()
    staff, member = login("staff1"), login("member")
    assert error_code(client.get(f"/api/v1/tasks/{task.id}/checkin-code?action=sideways", headers=staff)) == "VALIDATION_ERROR"
    for body in ({}, {"code": ""}, {"code": "x", "lat": 91, "lng": 0}, {"code": "x", "lat": 30.0},
                 {"code": "x", "scanned_at": "yesterday"}, {"code": 5}):
        resp = client.post("/api/v1/checkins", json=body, headers=member)
        assert resp.status_code == 422 and error_code(resp) == "VALIDATION_ERROR", body
    assert client.post("/api/v1/checkins", json={"code": "x"}).status_code == 401


def test_cancelled_task_refuses_codes_and_scans(city, client, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    task.status = "cancelled"
    db.session.commit()
    clock(T0)
    assert error_code(client.get(f"/api/v1/tasks/{task.id}/checkin-code?action=in", headers=login("staff1"))) == "TASK_CLOSED"
    assert error_code(scan(login("member"), code_for(task, "in"))) == "TASK_CLOSED"
