"""Background work: RQ queues, the job outbox, and an app context for workers.

`defer()` writes an OutboxJob in the caller's transaction; once the transaction commits the
job is pushed to RQ. If Redis is down the row waits, and `drain()` (run by every worker's
scheduler and after later commits) pushes it when Redis is back. Nothing is lost.
"""
from __future__ import annotations

import importlib
import logging
from datetime import timedelta

import redis
from rq import Queue, Retry
from sqlalchemy import event, or_, select, update

from backend.db import utcnow
from backend.extensions import db
from backend.jobs.models import OutboxJob

log = logging.getLogger(__name__)
_worker_app = None


def worker_app():
    """The Flask app a job runs in: the current one, or one built once per worker process."""
    global _worker_app
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from backend import create_app

        _worker_app = create_app()
    return _worker_app


def get_queue(app=None, name: str | None = None) -> Queue:
    app = app or worker_app()
    return Queue(name or app.config["RQ_QUEUE"], connection=app.extensions["redis"])


def defer(func: str, *args, run_at=None, **kwargs) -> OutboxJob:
    """Schedule `func` (dotted path) with JSON-able args once the current transaction commits."""
    job = OutboxJob(func=func, args=list(args), kwargs=kwargs, run_at=run_at)
    db.session.add(job)
    db.session.flush()
    db.session.info.setdefault("outbox_ids", []).append(job.id)
    return job


@event.listens_for(db.session, "after_commit")
def _push_after_commit(session):
    ids = session.info.pop("outbox_ids", None)
    if ids:
        session.info["outbox_push"] = ids


@event.listens_for(db.session, "after_rollback")
def _forget_on_rollback(session):
    session.info.pop("outbox_ids", None)


def push(app, outbox_ids: list[int]) -> int:
    """Put outbox rows on the RQ queue (idempotent by job id). Returns how many went."""
    q = get_queue(app)
    n = 0
    for oid in outbox_ids:
        try:
            q.enqueue("backend.jobs.run_outbox_job", oid, job_id=f"outbox-{oid}",
                      retry=Retry(max=3, interval=[5, 30, 120]), job_timeout=3600, result_ttl=86400)
            n += 1
        except redis.RedisError as exc:
            log.warning("redis unavailable, outbox job %s waits: %s", oid, exc)
            break
    return n


def drain(app=None, limit: int = 500) -> int:
    """Push every outbox job that is due and not yet done (after a Redis outage, say)."""
    app = app or worker_app()
    with app.app_context():
        now = utcnow()
        stale = now - timedelta(minutes=10)
        ids = list(db.session.scalars(
            select(OutboxJob.id).where(
                OutboxJob.done_at.is_(None),
                or_(OutboxJob.run_at.is_(None), OutboxJob.run_at <= now),
                or_(OutboxJob.enqueued_at.is_(None), OutboxJob.enqueued_at < stale),
            ).order_by(OutboxJob.id).limit(limit)
        ))
        if not ids:
            return 0
        n = push(app, ids)
        if n:
            db.session.execute(update(OutboxJob).where(OutboxJob.id.in_(ids[:n])).values(enqueued_at=now))
            db.session.commit()
        return n


def run_outbox_job(outbox_id: int):
    """Worker side: claim the row, run the function, mark it done (once, even if pushed twice)."""
    app = worker_app()
    with app.app_context():
        claimed = db.session.execute(
            update(OutboxJob).where(OutboxJob.id == outbox_id, OutboxJob.done_at.is_(None))
            .values(started_at=utcnow(), attempts=OutboxJob.attempts + 1)
        ).rowcount
        db.session.commit()
        if not claimed:
            return None
        job = db.session.get(OutboxJob, outbox_id)
        module, _, name = job.func.rpartition(".")
        func = getattr(importlib.import_module(module), name)
        try:
            result = func(*job.args, **job.kwargs)
        except Exception as exc:
            db.session.rollback()
            db.session.execute(update(OutboxJob).where(OutboxJob.id == outbox_id).values(last_error=repr(exc)[:2000]))
            db.session.commit()
            raise
        db.session.execute(update(OutboxJob).where(OutboxJob.id == outbox_id).values(done_at=utcnow()))
        db.session.commit()
        return result


def init_app(app) -> None:
    """After each request's commit, push what it deferred (and anything left from an outage)."""

    @app.after_request
    def _push(resp):
        ids = db.session.info.pop("outbox_push", None)
        if ids:
            due = [i for i in ids]
            n = push(app, due)
            if n:
                try:
                    db.session.execute(update(OutboxJob).where(OutboxJob.id.in_(due[:n])).values(enqueued_at=utcnow()))
                    db.session.commit()
                except Exception:  # bookkeeping only; the drainer will look again
                    db.session.rollback()
        return resp
