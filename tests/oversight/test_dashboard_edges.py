"""Dashboard figures at the edges of the Asia/Shanghai calendar: months and quarters begin at
local midnight (16:00 UTC the day before), on SQLite and PostgreSQL alike."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import time_machine

from backend.attendance.models import CHECKED_OUT, SOURCE_MANUAL, Attendance
from backend.extensions import db
from backend.tasks.models import Task, TaskClaim

TZ = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=TZ).astimezone(timezone.utc)


def _finished(city, user, out_at: datetime, minutes: int, *, source="scan", confirmed=True, status=CHECKED_OUT):
    task = Task(community_id=city.c1.id, title="边界", starts_at=out_at - timedelta(minutes=minutes),
                ends_at=out_at, capacity=5, points_per_hour=0)
    db.session.add(task)
    db.session.flush()
    db.session.add(TaskClaim(task_id=task.id, user_id=user.id))
    db.session.add(Attendance(task_id=task.id, user_id=user.id, community_id=city.c1.id, status=status, source=source,
                              checkin_at=task.starts_at, checkout_at=out_at if source == "scan" else None,
                              minutes=minutes, awarded_at=out_at + timedelta(days=1) if confirmed else None))
    return task


def test_minutes_fall_in_the_local_month_and_quarter(client, login, city):
    _finished(city, city.member, local(2026, 9, 30, 23, 50), 10)  # Q3, though 2026-09-30 15:50 UTC
    _finished(city, city.member, local(2026, 10, 1, 0, 10), 20)  # Q4, though 2026-09-30 16:10 UTC
    _finished(city, city.member, local(2026, 11, 30, 23, 59), 30)  # November
    _finished(city, city.member2, local(2026, 12, 1, 0, 1), 40)  # December, though 2026-11-30 16:01 UTC
    _finished(city, city.member2, local(2026, 12, 31, 23, 0), 50, source=SOURCE_MANUAL)  # manual: at the task's end
    _finished(city, city.member2, local(2026, 11, 2, 10), 60, confirmed=False)  # not confirmed: not counted
    _finished(city, city.member2, local(2027, 1, 1, 0, 0), 70)  # next year
    db.session.commit()
    url = f"/api/v1/communities/{city.c1.id}/dashboard"
    with time_machine.travel(local(2027, 1, 15), tick=False):
        h = login("staff1")
        q4 = client.get(url, query_string={"period": "2026-Q4"}, headers=h).get_json()
        q3 = client.get(url, query_string={"period": "2026-Q3"}, headers=h).get_json()
        dec = client.get(url, query_string={"period": "2026-12"}, headers=h).get_json()
    assert q4["minutes_by_month"] == [{"month": "2026-10", "scanned": 20, "manual": 0},
                                      {"month": "2026-11", "scanned": 30, "manual": 0},
                                      {"month": "2026-12", "scanned": 40, "manual": 50}]
    assert q3["minutes_by_month"][-1] == {"month": "2026-09", "scanned": 10, "manual": 0}
    assert sum(m["scanned"] + m["manual"] for m in q3["minutes_by_month"]) == 10
    assert dec["minutes_by_month"] == [{"month": "2026-12", "scanned": 40, "manual": 50}]
    # tasks count by their local start (out_at - minutes): the 00:10 one began on 09-30 at 23:50
    assert (q4["tasks"], q3["tasks"], dec["tasks"]) == (5, 2, 2)
    assert (q4["members_active"], dec["members_active"]) == (2, 1)  # by check-in time: 12-31 manual has one
