"""Factories for attendance tests: a task at a fixed time, claims, codes and scans."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from backend.attendance import codes
from backend.attendance.models import CHECKED_OUT, Attendance
from backend.auth.models import User
from backend.extensions import db
from backend.tasks.models import Task, TaskClaim

# Saturday 2026-11-14 09:00 in Shanghai; the task runs 09:00-11:00.
T0 = datetime(2026, 11, 14, 1, 0, tzinfo=timezone.utc)
PLACE = (30.5928, 114.3055)
NEAR = (30.5938, 114.3055)  # about 111 m north
FAR = (30.6028, 114.3055)  # about 1.1 km north


def finished(task, n, minutes=90) -> list[int]:
    """n new people with a finished (checked-out, unconfirmed) attendance of `minutes` at the task; their ids."""
    users = [User(openid=f"cf-{task.id}-{i}", nickname=f"志愿者{i}") for i in range(n)]
    db.session.add_all(users)
    db.session.flush()
    db.session.add_all([Attendance(task_id=task.id, user_id=u.id, community_id=task.community_id, status=CHECKED_OUT,
                                   checkin_at=T0, checkout_at=T0 + timedelta(minutes=minutes), minutes=minutes)
                        for u in users])
    db.session.commit()
    return [u.id for u in users]


@pytest.fixture
def clock(time_machine):
    """clock(dt): freeze time at dt (no ticking)."""

    def _at(dt):
        time_machine.move_to(dt, tick=False)

    _at(T0 - timedelta(days=1))
    return _at


@pytest.fixture
def make_task(city):
    """make_task(community=c1, starts=T0, hours=2, points_per_hour=60, lat/lng=PLACE) -> Task (committed)."""

    def _make(community=None, starts=T0, hours=2, points_per_hour=60, lat=PLACE[0], lng=PLACE[1], **kw):
        task = Task(community_id=(community or city.c1).id, title=kw.pop("title", "清扫楼道"), starts_at=starts,
                    ends_at=starts + timedelta(hours=hours), capacity=kw.pop("capacity", 60),
                    points_per_hour=points_per_hour, lat=lat, lng=lng, created_by_id=city.staff1.id, **kw)
        db.session.add(task)
        db.session.commit()
        return task

    return _make


@pytest.fixture
def claim():
    def _claim(task, *users):
        for u in users:
            db.session.add(TaskClaim(task_id=task.id, user_id=u.id))
            task.claimed_count += 1
        db.session.commit()

    return _claim


@pytest.fixture
def code_for(app):
    """code_for(task_or_id, "in"|"out", at=None, kind="T") -> a correctly signed code of the window of `at`."""

    def _code(subject, action, at=None, kind="T"):
        from backend.db import utcnow

        sid = subject if isinstance(subject, int) else subject.id
        window = codes.window_of(at or utcnow(), app.config["CHECKIN_CODE_TTL"])
        return codes.make(app.config["SECRET_KEY"], codes.Code(kind, sid, action, window))

    return _code


@pytest.fixture
def scan(client):
    """scan(headers, code, **extra) -> the response of POST /api/v1/checkins."""

    def _scan(headers, code, **extra):
        return client.post("/api/v1/checkins", json={"code": code, **extra}, headers=headers)

    return _scan
