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


@needs_pg
def test_a_manual_entry_waits_for_a_confirmation_in_flight(app, city, login, clock, make_task, claim, code_for, scan):
    """Staff edit an attendance while another's confirmation holds it: the edit waits, then sees it
    awarded (409) instead of writing minutes that the posted points no longer match."""
    import time

    from sqlalchemy import text, update

    task = make_task(points_per_hour=60)
    claim(task, city.member)
    member, staff = login("member"), login("staff1")
    clock(T0)
    assert scan(member, code_for(task, "in")).status_code == 201
    clock(T0 + timedelta(minutes=60))
    assert scan(member, code_for(task, "out")).status_code == 201
    a = Attendance.__table__
    with db.engine.connect() as other, db.engine.connect() as watch:
        tx = other.begin()  # the confirmation's claim on the row, not yet committed
        other.execute(update(a).where(a.c.task_id == task.id, a.c.awarded_at.is_(None))
                      .values(awarded_at=T0 + timedelta(hours=3), points=60))
        out = {}
        url = f"/api/v1/tasks/{task.id}/attendances/{city.member.id}/manual"
        editor = threading.Thread(target=lambda: out.update(resp=app.test_client().post(
            url, json={"minutes": 150, "reason": "补录"}, headers=staff)))
        editor.start()
        deadline = time.monotonic() + 30
        while not watch.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                     "AND datname = current_database()")).scalar():
            assert time.monotonic() < deadline and editor.is_alive(), "the edit did not wait for the row"
            watch.commit()
            threading.Event().wait(0.02)
        tx.commit()
        editor.join(30)
    resp = out["resp"]
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "INVALID_STATE"
    db.session.expire_all()
    row = db.session.scalar(select(Attendance))
    assert (row.minutes, row.points, row.source) == (60, 60, "scan")


@needs_pg
def test_a_scan_landing_between_the_staff_read_and_insert_is_edited_not_a_500(app, city, login, clock, make_task,
                                                                                claim, monkeypatch):
    from sqlalchemy import insert

    from backend.attendance import staff as staff_tools

    task = make_task()
    claim(task, city.member)
    clock(T0 + timedelta(minutes=5))
    real = staff_tools.active_claim

    def scan_lands_first(task_id, user_id):  # the member's check-in commits on its own connection now
        with db.engine.begin() as other:
            other.execute(insert(Attendance.__table__).values(
                task_id=task_id, user_id=user_id, community_id=task.community_id, status="checked_in",
                source="scan", checkin_at=T0 + timedelta(minutes=5), checkin_offline=False, checkout_offline=False,
                minutes=0, points=0, created_at=T0, updated_at=T0))
        return real(task_id, user_id)

    monkeypatch.setattr(staff_tools, "active_claim", scan_lands_first)
    resp = app.test_client().post(f"/api/v1/tasks/{task.id}/attendances/{city.member.id}/manual",
                                  json={"minutes": 100, "reason": "补录"}, headers=login("staff1"))
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["source"], resp.get_json()["minutes"]) == ("manual", 100)
    db.session.expire_all()
    row = db.session.scalar(select(Attendance))
    assert (row.status, row.minutes, row.checkin_at) == ("checked_out", 100, T0 + timedelta(minutes=5))
    from backend.audit.models import AuditLog

    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "attendance.manual"))
    assert audit.changes["before"]["status"] == "checked_in"
