"""Scans sent later with scanned_at: the code's own window bounds them, and the grace period."""
from datetime import timedelta

from backend.attendance import codes
from backend.attendance.models import Attendance
from backend.extensions import db
from tests.attendance.conftest import T0
from tests.helpers import error_code


def _iso(dt):
    return dt.isoformat()


def test_offline_check_in_and_out_count_at_scanned_at(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    member = login("member")
    scanned_in = T0 + timedelta(minutes=10, seconds=3)
    code_in = code_for(task, "in", at=scanned_in)
    scanned_out = T0 + timedelta(minutes=70, seconds=20)
    code_out = code_for(task, "out", at=scanned_out)
    clock(T0 + timedelta(hours=5))  # back in signal after the task ended
    resp = scan(member, code_in, scanned_at=_iso(scanned_in))
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["offline"] is True
    assert resp.get_json()["at"].startswith("2026-11-14T09:10:03")
    resp = scan(member, code_out, scanned_at=_iso(scanned_out))
    assert resp.status_code == 201 and resp.get_json()["minutes"] == 60 and resp.get_json()["offline"] is True
    row = db.session.query(Attendance).one()
    assert row.checkin_at == scanned_in and row.checkin_received_at == T0 + timedelta(hours=5)
    assert row.checkin_offline and row.checkout_offline
    # a repeat of the queued scan answers the same
    again = scan(member, code_out, scanned_at=_iso(scanned_out))
    assert again.status_code == 200 and again.get_json()["minutes"] == 60


def test_scanned_at_outside_the_codes_window_is_invalid(city, app, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    member = login("member")
    ttl = app.config["CHECKIN_CODE_TTL"]
    at = T0 + timedelta(minutes=10)
    code = code_for(task, "in", at=at)
    w = codes.window_of(at, ttl)
    clock(T0 + timedelta(hours=1))
    for claimed in (codes.window_start(w, ttl) - timedelta(seconds=1), codes.window_end(w, ttl) + timedelta(seconds=1),
                    T0 + timedelta(minutes=50)):
        resp = scan(member, code, scanned_at=_iso(claimed))
        assert resp.status_code == 422 and error_code(resp) == "CODE_INVALID", claimed
    assert db.session.query(Attendance).count() == 0
    assert scan(member, code, scanned_at=_iso(codes.window_start(w, ttl))).status_code == 201


def test_scanned_at_in_the_future_is_a_validation_error(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    clock(T0)
    future = T0 + timedelta(minutes=3)
    resp = scan(login("member"), code_for(task, "in", at=future), scanned_at=_iso(future))
    assert resp.status_code == 422 and error_code(resp) == "VALIDATION_ERROR"
    assert "scanned_at" in resp.get_json()["error"]["details"]


def test_beyond_the_grace_period_the_scan_is_expired(city, app, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    member = login("member")
    at = T0 + timedelta(minutes=5)
    code = code_for(task, "in", at=at)
    grace = app.config["CHECKIN_OFFLINE_GRACE"]
    clock(at + timedelta(seconds=grace + 1))
    resp = scan(member, code, scanned_at=_iso(at))
    assert resp.status_code == 410 and error_code(resp) == "CODE_EXPIRED"
    clock(at + timedelta(seconds=grace))
    assert scan(member, code, scanned_at=_iso(at)).status_code == 201


def test_a_late_check_out_cannot_claim_more_than_its_codes_window(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    member = login("member")
    clock(T0)
    scan(member, code_for(task, "in"))
    early_out = T0 + timedelta(minutes=30)
    code = code_for(task, "out", at=early_out)  # the code of 09:30, kept and sent at 12:00
    clock(T0 + timedelta(hours=3))
    cheat = scan(member, code, scanned_at=_iso(T0 + timedelta(minutes=119)))
    assert cheat.status_code == 422 and error_code(cheat) == "CODE_INVALID"
    assert error_code(scan(member, code)) == "CODE_EXPIRED"  # nor without scanned_at
    honest = scan(member, code, scanned_at=_iso(early_out))
    assert honest.status_code == 201 and honest.get_json()["minutes"] == 30


def test_an_offline_check_in_is_judged_against_the_task_at_scanned_at(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    too_early = T0 - timedelta(hours=3)
    code = code_for(task, "in", at=too_early)
    clock(T0 + timedelta(minutes=10))  # arrives during the task, but was scanned before the window opened
    resp = scan(login("member"), code, scanned_at=_iso(too_early))
    assert resp.status_code == 409 and error_code(resp) == "TASK_CLOSED"
