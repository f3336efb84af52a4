"""Daily: the stored answers of idempotent requests older than a day go."""
from __future__ import annotations

CRON = [{"func": "backend.replay.jobs.purge_answers", "cron": "10 19 * * *"}]  # 03:10 in Beijing


def purge_answers(now_iso: str | None = None) -> int:
    """Job: delete stored answers past their day; returns how many went."""
    from datetime import datetime

    from backend.extensions import db
    from backend.jobs import worker_app
    from backend.replay.services import purge

    with worker_app().app_context():
        gone = purge(db.session, datetime.fromisoformat(now_iso) if now_iso else None)
        db.session.commit()
        return gone
