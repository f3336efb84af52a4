"""Periodic work for oversight: keep the street dashboards being read fresh ahead of their readers."""
from __future__ import annotations

import logging

from backend.extensions import db
from backend.jobs import worker_app
from backend.oversight import dashboard_cache

log = logging.getLogger(__name__)

CRON = [{"func": "backend.oversight.jobs.refresh_dashboards", "interval": dashboard_cache.REFRESH_EVERY}]


def refresh_wanted() -> int:
    """Compute again each street dashboard read in the last WANTED_FOR seconds whose answer would
    go stale before the next run (in the app context). Returns how many were computed."""
    from flask import current_app

    from backend.errors import DomainError
    from backend.oversight.dashboard import street_figures

    max_age = current_app.config["STREET_DASHBOARD_MAX_AGE"]
    if max_age <= 0:
        return 0
    r = current_app.extensions["redis"]
    done = 0
    for street_id, period in dashboard_cache.wanted(r):
        try:
            done += dashboard_cache.refresh(r, street_id, period, lambda: street_figures(street_id, period), max_age)
        except DomainError as exc:  # the street is gone, or the period no longer valid: stop keeping it
            log.info("dashboard %s %s dropped: %s", street_id, period, exc.code)
            r.zrem(dashboard_cache.WANTED, f"{street_id}:{period}")
        finally:
            db.session.rollback()  # read-only: each dashboard in a transaction of its own
    return done


def refresh_dashboards() -> int:
    """Cron entry point."""
    app = worker_app()
    with app.app_context():
        return refresh_wanted()
