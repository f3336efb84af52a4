"""Periodic and CLI jobs for 双报到."""
from __future__ import annotations

# The first of every month at 09:00 Beijing time: remind roster members who have not reported
# (or long ago). RQ's cron reads its expression in UTC: 01:00 UTC is 09:00 in Asia/Shanghai.
# Again on the 2nd and 3rd: a cron job is not retried, and a run lost on the 1st (the database
# or Redis down at 09:00, the cron process restarting) would lose the month; people reminded
# within the last 7 days are skipped, so the later runs remind only whom the first missed.
CRON = [{"func": "backend.reports.jobs.remind_unreported", "cron": "0 1 1-3 * *"}]


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
