"""Periodic ledger jobs. Expiry runs daily but moves nothing unless a community set expiry_months."""
from __future__ import annotations

CRON = [{"func": "backend.timebank.jobs.expire_points", "cron": "30 2 * * *"}]


def expire_points() -> int:
    """RQ job: expire points per community policy, in one transaction; returns points moved."""
    from backend.db import utcnow
    from backend.extensions import db  # the worker's app; imported here to keep the ledger Flask-free
    from backend.jobs import worker_app
    from backend.timebank.expiry import run_expiry

    with worker_app().app_context():
        try:
            moved = run_expiry(db.session, utcnow())
            db.session.commit()
            return moved
        except BaseException:
            db.session.rollback()
            raise
