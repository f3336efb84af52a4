"""Scheduled feedback: at the start of each quarter, issue the previous quarter for every unit."""
from __future__ import annotations

# The first day of January, April, July and October at 09:00 Beijing time (RQ's cron reads
# its expression in UTC: 01:00 UTC), when the quarter that just ended is complete; again on the
# 2nd and 3rd, as a cron job is not retried: units already issued are skipped, so a later run
# issues only what a lost first run left undone.
CRON = [{"func": "backend.feedback.jobs.issue_previous_quarter", "cron": "0 1 1-3 1,4,7,10 *"}]
UNITS_PER_JOB = 200


def issue_previous_quarter(now_iso: str | None = None) -> int:
    """Job: fan the previous quarter's issuing out over the workers, one job per batch of
    units (through the outbox, so nothing is lost if Redis blinks). Returns the number of
    batch jobs deferred; each batch skips units already issued, so running twice is harmless."""
    from datetime import datetime

    from sqlalchemy import select

    from backend.db import utcnow
    from backend.extensions import db
    from backend.feedback.models import FeedbackIssue
    from backend.feedback.periods import previous_quarter
    from backend.jobs import defer, worker_app
    from backend.orgs.models import Unit

    with worker_app().app_context():
        now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
        period = previous_quarter(now)
        issued = select(FeedbackIssue.unit_id).where(FeedbackIssue.period == period)
        ids = list(db.session.scalars(select(Unit.id).where(Unit.id.not_in(issued)).order_by(Unit.id)))
        for k in range(0, len(ids), UNITS_PER_JOB):
            defer("backend.feedback.jobs.issue_batch", ids[k:k + UNITS_PER_JOB], period, now.isoformat())
        db.session.commit()
        return (len(ids) + UNITS_PER_JOB - 1) // UNITS_PER_JOB


def issue_batch(unit_ids: list[int], period: str, now_iso: str) -> int:
    """Job: issue one batch of units for the period (with their notifications) in one
    transaction; returns how many were newly issued."""
    from datetime import datetime

    from backend.extensions import db
    from backend.feedback.services import issue_units
    from backend.jobs import worker_app

    with worker_app().app_context():
        try:
            n = len(issue_units(unit_ids, period, now=datetime.fromisoformat(now_iso)))
            db.session.commit()
            return n
        except BaseException:
            db.session.rollback()
            raise
