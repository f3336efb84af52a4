"""Periodic work for tasks: remind claimers of tasks starting within 24 hours (once per claim)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from backend.db import utcnow
from backend.extensions import db
from backend.jobs import worker_app
from backend.notifications.services import notify
from backend.tasks.models import CLAIM_ACTIVE, TASK_OPEN, Task, TaskClaim

REMIND_AHEAD = timedelta(hours=24)
CRON = [{"func": "backend.tasks.jobs.remind_upcoming", "interval": 600}]


def send_reminders(now: datetime | None = None) -> int:
    """Notify each active claimer of an open task starting in the next 24 h, once; returns how many."""
    now = now or utcnow()
    rows = db.session.execute(
        select(TaskClaim.id, TaskClaim.user_id, Task.id, Task.title, Task.starts_at, Task.location_name)
        .join(Task, Task.id == TaskClaim.task_id)
        .where(TaskClaim.status == CLAIM_ACTIVE, TaskClaim.reminded_at.is_(None), Task.status == TASK_OPEN,
               Task.starts_at > now, Task.starts_at <= now + REMIND_AHEAD)
        .order_by(TaskClaim.id)
    ).all()
    sent = 0
    for claim_id, user_id, task_id, title, starts_at, place in rows:
        # Conditional: two overlapping runs never remind the same claim twice.
        won = db.session.execute(
            update(TaskClaim).where(TaskClaim.id == claim_id, TaskClaim.reminded_at.is_(None))
            .values(reminded_at=now).execution_options(synchronize_session=False)
        ).rowcount
        if won:
            notify(user_id, "task_reminder", {"task_id": task_id, "title": title,
                                              "starts_at": starts_at, "location": place},
                   ref_type="task", ref_id=task_id)
            sent += 1
    db.session.flush()
    return sent


def remind_upcoming() -> int:
    """Cron entry point: send the due reminders in a transaction of its own."""
    app = worker_app()
    with app.app_context():
        try:
            n = send_reminders()
            db.session.commit()
            return n
        except Exception:
            db.session.rollback()
            raise
