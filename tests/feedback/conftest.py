"""Factories for feedback tests: reports, confirmed services in 2026-Q4, consents, a real worker."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from rq import SimpleWorker

from backend.extensions import db
from backend.jobs import get_queue
from backend.reports.models import APPROVED, MemberReport
from backend.tasks.models import Task

# Saturday 2026-11-14 10:00 in Shanghai: inside 2026-Q4.
Q4_DAY = datetime(2026, 11, 14, 2, 0, tzinfo=timezone.utc)
Q3_DAY = datetime(2026, 8, 20, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _q4(time_machine):
    """Tests run a few days after Q4_DAY (the clock ticks, so RQ and timeouts behave)."""
    time_machine.move_to(Q4_DAY + timedelta(days=3))


@pytest.fixture
def report():
    """report(user, community, unit, phone=..., status="approved", name=None) -> MemberReport (committed)."""

    def _report(user, community, unit, phone="13812345678", status=APPROVED, name=None):
        r = MemberReport(user_id=user.id, community_id=community.id, unit_id=unit.id, name=name or f"{user.name}姓名",
                         phone=phone, status=status)
        db.session.add(r)
        db.session.commit()
        return r

    return _report


@pytest.fixture
def serve(city):
    """serve(user, community, minutes, source="scan", at=Q4_DAY, title=..., points_per_hour=60, confirm=True):
    a finished attendance at a new task, confirmed by an admin through the attendance service."""
    from backend.attendance.models import CHECKED_OUT, Attendance
    from backend.attendance.staff import confirm as confirm_task

    def _serve(user, community, minutes, source="scan", at=Q4_DAY, title="清扫楼道", points_per_hour=60,
               confirm=True):
        task = Task(community_id=community.id, title=title, starts_at=at - timedelta(minutes=minutes),
                    ends_at=at, capacity=10, points_per_hour=points_per_hour, created_by_id=city.admin.id)
        db.session.add(task)
        db.session.flush()
        db.session.add(Attendance(task_id=task.id, user_id=user.id, community_id=community.id, status=CHECKED_OUT,
                                  source=source, minutes=minutes,
                                  checkin_at=at - timedelta(minutes=minutes) if source == "scan" else None,
                                  checkout_at=at if source == "scan" else None,
                                  manual_reason="补录" if source == "manual" else None))
        db.session.flush()
        if confirm:
            confirm_task(city.admin, task.id, now=at)
        db.session.commit()
        return task

    return _serve


@pytest.fixture
def consent(client, login):
    """consent(code, granted=True): the person sets unit_feedback through the API."""

    def _consent(code, granted=True):
        resp = client.put("/api/v1/me/consents/unit_feedback", json={"granted": granted}, headers=login(code))
        assert resp.status_code == 200, resp.get_json()

    return _consent


@pytest.fixture
def work(app):
    """work(with_scheduler=False): run every queued job with a real RQ SimpleWorker in burst mode."""

    def _work(with_scheduler=False):
        worker = SimpleWorker([get_queue(app)], connection=app.extensions["redis"])
        return worker.work(burst=True, with_scheduler=with_scheduler)

    return _work
