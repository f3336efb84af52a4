"""Periodic and CLI jobs for 双报到."""
from __future__ import annotations

# The first of every month at 09:00 Beijing time: remind roster members who have not reported
# (or long ago). RQ's cron reads its expression in UTC: 01:00 UTC is 09:00 in Asia/Shanghai.
CRON = [{"func": "backend.reports.jobs.remind_unreported", "cron": "0 1 1 * *"}]


def remind_unreported(unit_id: int | None = None) -> int:
    """Job: record report reminders (one unit, or all) and commit; returns how many."""
    from backend.extensions import db
    from backend.jobs import worker_app
    from backend.reports.reminders import remind_unreported as remind

    app = worker_app()
    with app.app_context():
        n = len(remind(unit_id, months=app.config["REPORT_REMIND_MONTHS"]))
        db.session.commit()
        return n
