"""Confirming a big task is set-based: a bounded number of statements, each attendance once."""
from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import event, func, select

from backend.attendance.models import Attendance
from backend.extensions import db
from backend.timebank.models import Transfer
from backend.timebank.service import wallet_summary
from backend.timebank.verify import verify
from tests.attendance.conftest import T0, finished
from tests.helpers import needs_pg



def test_confirm_of_300_uses_a_bounded_number_of_statements(city, client, login, make_task, clock):
    task = make_task(points_per_hour=20)
    ids = finished(task, 300)
    staff = login("staff1")
    clock(T0 + timedelta(hours=6))
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        resp = client.post(f"/api/v1/tasks/{task.id}/confirm", headers=staff)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert resp.status_code == 200 and resp.get_json() == {"awarded": 300, "points": 300 * 30, "confirmed": 300}
    assert len(statements) <= 40, len(statements)
    assert sum(1 for s in statements if s.lstrip().upper().startswith("UPDATE ATTENDANCES")) == 1
    assert wallet_summary(db.session, ids[0]) == {"balance": 30, "earned_total": 30, "spent_total": 0}
    assert db.session.scalar(select(func.count()).select_from(Attendance).where(Attendance.points == 30,
                                                                                Attendance.awarded_at.is_not(None))) == 300
    assert client.post(f"/api/v1/tasks/{task.id}/confirm", headers=staff).get_json() == \
        {"awarded": 0, "points": 0, "confirmed": 0}
    assert verify(db.session)["ok"]


@needs_pg
def test_two_staff_confirming_at_once_award_each_attendance_once(app, city, login, make_task, clock):
    task = make_task(points_per_hour=60)
    finished(task, 200, minutes=30)
    headers, url = [login("staff1"), login("staff1")], f"/api/v1/tasks/{task.id}/confirm"
    clock(T0 + timedelta(hours=6))
    barrier, out = threading.Barrier(2), [None, None]

    def press(i):
        with app.test_client() as c:
            barrier.wait()
            out[i] = c.post(url, headers=headers[i]).get_json()

    threads = [threading.Thread(target=press, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(o["awarded"] for o in out) == [0, 200], out
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Transfer)) == 200
    assert verify(db.session)["ok"]


def test_confirm_refreshes_only_the_claimed_attendances_the_session_had_loaded(city, make_task, clock):
    from sqlalchemy import inspect

    from backend.attendance import staff

    task, other = make_task(points_per_hour=20), make_task(points_per_hour=20)
    finished(task, 3)
    finished(other, 1)
    loaded = db.session.scalars(select(Attendance).where(Attendance.task_id == task.id).order_by(Attendance.id)).all()
    [untouched] = db.session.scalars(select(Attendance).where(Attendance.task_id == other.id)).all()
    assert all(a.awarded_at is None and a.points == 0 for a in loaded)
    clock(T0 + timedelta(hours=6))
    assert staff.confirm(city.staff1, task.id) == {"awarded": 3, "points": 90, "confirmed": 3}
    assert not inspect(untouched).expired_attributes  # another task's row is left as loaded
    assert [(a.points, a.awarded_at is not None) for a in loaded] == [(30, True)] * 3  # re-read, not stale
    db.session.commit()
    assert verify(db.session)["ok"]
