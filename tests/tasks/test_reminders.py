"""The task_reminder job: claimers of tasks starting within 24 h, once per claim."""
from datetime import timedelta

import time_machine
from sqlalchemy import select

from backend.db import utcnow
from backend.extensions import db
from backend.notifications.models import Notification
from backend.tasks import jobs, services


def _reminded():
    db.session.expire_all()
    return sorted((n.user_id, n.ref_id) for n in db.session.scalars(
        select(Notification).where(Notification.kind == "task_reminder")))


def test_reminds_once_within_24h(city, make_task):
    soon = make_task(starts_in=timedelta(hours=20))
    far = make_task(starts_in=timedelta(days=3))
    for t in (soon, far):
        services.claim_task(city.member, t.id)
    services.claim_task(city.resident, soon.id)
    db.session.commit()
    assert jobs.remind_upcoming() == 2
    assert _reminded() == sorted([(city.member.id, soon.id), (city.resident.id, soon.id)])
    assert jobs.remind_upcoming() == 0  # once per claim
    with time_machine.travel(utcnow() + timedelta(days=2, hours=1)):
        assert jobs.remind_upcoming() == 1
    assert (city.member.id, far.id) in _reminded() and len(_reminded()) == 3
    note = db.session.scalar(select(Notification).where(Notification.ref_id == far.id))
    assert note.data["title"] == "清扫楼道" and note.data["task_id"] == far.id


def test_skips_cancelled_tasks_claims_and_started(city, make_task):
    cancelled = make_task(starts_in=timedelta(hours=5))
    given_back = make_task(starts_in=timedelta(hours=5))
    started = make_task(starts_in=timedelta(minutes=10))
    services.claim_task(city.member, cancelled.id)
    services.claim_task(city.member, given_back.id)
    services.claim_task(city.member, started.id)
    services.unclaim_task(city.member, given_back.id)
    services.cancel_task(city.staff1, cancelled.id, "x")
    db.session.commit()
    with time_machine.travel(utcnow() + timedelta(minutes=20)):
        assert jobs.remind_upcoming() == 0
    assert _reminded() == []


def test_moved_start_reminds_again(city, make_task):
    task = make_task(starts_in=timedelta(hours=3))
    services.claim_task(city.member, task.id)
    db.session.commit()
    assert jobs.remind_upcoming() == 1
    new_start = task.starts_at + timedelta(hours=10)
    services.update_task(city.staff1, task.id, starts_at=new_start, ends_at=new_start + timedelta(hours=2))
    db.session.commit()
    assert jobs.remind_upcoming() == 1
    assert len(_reminded()) == 2


def test_cron_entry():
    assert {"func": "backend.tasks.jobs.remind_upcoming", "interval": 600} in jobs.CRON
