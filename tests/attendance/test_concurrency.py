"""Simultaneous identical scans and simultaneous confirmations, with real threads on PostgreSQL."""
import threading
from datetime import timedelta

from sqlalchemy import select

from backend.attendance.models import Attendance
from backend.extensions import db
from tests.attendance.conftest import T0
from tests.helpers import needs_pg


def _together(app, n, send):
    """Run send(client) in n threads released at once; the status codes."""
    barrier, out = threading.Barrier(n), []
    lock = threading.Lock()

    def run():
        c = app.test_client()
        barrier.wait()
        status = send(c)
        with lock:
            out.append(status)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return sorted(out)


@needs_pg
def test_fifty_identical_scans_leave_one_row(app, city, login, clock, make_task, claim, code_for):
    task = make_task()
    claim(task, city.member)
    member = login("member")
    clock(T0 + timedelta(minutes=1))
    code = code_for(task, "in")
    statuses = _together(app, 50, lambda c: c.post("/api/v1/checkins", json={"code": code}, headers=member).status_code)
    assert statuses.count(201) == 1 and statuses.count(200) == 49, statuses
    db.session.expire_all()
    assert db.session.query(Attendance).count() == 1
    clock(T0 + timedelta(minutes=61))
    code = code_for(task, "out")
    statuses = _together(app, 50, lambda c: c.post("/api/v1/checkins", json={"code": code}, headers=member).status_code)
    assert statuses.count(201) == 1 and statuses.count(200) == 49, statuses
    db.session.expire_all()
    row = db.session.scalar(select(Attendance))
    assert row.status == "checked_out" and row.minutes == 60


@needs_pg
def test_two_staff_confirming_at_once_award_once(app, city, login, clock, make_task, claim, code_for, scan):
    task = make_task(points_per_hour=60)
    people = [city.member, city.member2, city.resident]
    claim(task, *people)
    heads = [login(code) for code in ("member", "member2", "resident")]
    clock(T0)
    for h in heads:
        assert scan(h, code_for(task, "in")).status_code == 201
    clock(T0 + timedelta(minutes=45))
    for h in heads:
        assert scan(h, code_for(task, "out")).status_code == 201
    staff = login("staff1")
    admin = login("admin")
    bodies, lock, url = [], threading.Lock(), f"/api/v1/tasks/{task.id}/confirm"
    who = iter([staff, admin] * 4)

    def press(c):
        with lock:
            headers = next(who)
        resp = c.post(url, headers=headers)
        with lock:
            bodies.append(resp.get_json())
        return resp.status_code

    assert _together(app, 8, press) == [200] * 8
    assert sum(b["points"] for b in bodies) == 3 * 45
    assert sum(b["awarded"] for b in bodies) == 3
    from backend.timebank.models import Transfer

    db.session.expire_all()
    assert db.session.query(Transfer).filter(Transfer.ref_type == "attendance").count() == 3
