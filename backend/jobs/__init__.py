"""Background work: RQ queues, the job outbox, and an app context for workers.

`defer()` writes an OutboxJob in the caller's transaction; once the transaction commits the
job is pushed to RQ (rows with a future run_at wait). If Redis is down the push failure is
logged and swallowed, so the request still succeeds, and the row waits: `drain()` (RQ cron,
every 30 s) pushes every due row that has no live RQ job, whether it was never pushed, its
run_at has come, or its RQ job vanished (Redis restarted, job expired). Nothing is lost.
"""
from __future__ import annotations

import importlib
import logging
import time
from datetime import timedelta

import redis
from rq import Queue, Retry, get_current_job
from rq.job import Job, JobStatus
from sqlalchemy import String, cast, event, insert, literal, or_, select, update

from backend.db import utcnow
from backend.extensions import db
from backend.jobs.models import OutboxJob

log = logging.getLogger(__name__)
_worker_app = None

RUNNER = "backend.jobs.run_outbox_job"
RQ_RETRY = Retry(max=3, interval=[10, 60, 300])  # a job that raises is retried by RQ
STALE_AFTER = timedelta(minutes=2)  # an enqueued row not done by then is checked against RQ
LEASE = timedelta(minutes=10)  # a started row may be taken over after this (its worker died)
MAX_ATTEMPTS = 10  # drain stops pushing a row that failed this often (last_error says why)
BREAKER_SECONDS = 5.0  # after a failed push, commits skip Redis for this long (drain does not)
RQ_ID_PREFIX = "outbox-"
ALIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
_breaker = {"until": 0.0}


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


def rq_job_id(outbox_id: int) -> str:
    """The RQ job id of an outbox row (stable, so a row is never two different RQ jobs)."""
    return f"{RQ_ID_PREFIX}{outbox_id}"


def defer(func: str, *args, run_at=None, **kwargs) -> OutboxJob:
    """Schedule `func` (dotted path) with JSON-able args once the current transaction commits,
    not before `run_at` (aware datetime) when given."""
    job = OutboxJob(func=func, args=list(args), kwargs=kwargs, run_at=run_at)
    db.session.add(job)
    db.session.flush()
    job.rq_job_id = rq_job_id(job.id)
    if run_at is None or run_at <= utcnow():
        db.session.info.setdefault("outbox_ids", []).append(job.id)
    return job


def defer_many(func: str, arg_lists: list[list]) -> list[int]:
    """defer() for many jobs of one function in three statements, whatever their number (a
    multi-row INSERT ... RETURNING, then one UPDATE for their rq_job_id). Returns the row ids
    (in no particular order: SQLite cannot promise RETURNING order without one INSERT per row)."""
    if not arg_lists:
        return []
    now = utcnow()
    ids = list(db.session.scalars(
        insert(OutboxJob).returning(OutboxJob.id),
        [{"func": func, "args": list(a), "kwargs": {}, "created_at": now, "attempts": 0} for a in arg_lists]))
    db.session.execute(update(OutboxJob).where(OutboxJob.id.in_(ids))
                       .values(rq_job_id=literal(RQ_ID_PREFIX) + cast(OutboxJob.id, String))
                       .execution_options(synchronize_session=False))
    db.session.info.setdefault("outbox_ids", []).extend(ids)
    return ids


def _savepoint(session) -> bool:
    """True while the transaction ending is a nested one (begin_nested), not the real one."""
    trans = session._transaction  # the transaction being ended, until it closes
    return trans is not None and trans.nested


@event.listens_for(db.session, "after_commit")
def _push_after_commit(session):
    if _savepoint(session):
        return  # a SAVEPOINT was released; the outer transaction has not committed yet
    ids = session.info.pop("outbox_ids", None)
    if not ids:
        return
    try:
        from flask import current_app

        app = current_app._get_current_object()
    except RuntimeError:  # no app context: the drainer will push these
        return
    try:
        push(app, ids, respect_breaker=True)
    except Exception:  # never fail a committed transaction over its side effects
        log.exception("pushing outbox jobs %s failed; drain will retry", ids)


@event.listens_for(db.session, "after_rollback")
def _forget_on_rollback(session):
    if _savepoint(session):
        return  # only a SAVEPOINT rolled back; a job id that no longer exists is skipped by the runner
    session.info.pop("outbox_ids", None)


def _mark_enqueued(app, ids: list[int]) -> None:
    """Bookkeeping on its own connection (it runs after the caller's commit)."""
    try:
        with db.engine.begin() as conn:
            conn.execute(update(OutboxJob).where(OutboxJob.id.in_(ids)).values(enqueued_at=utcnow()))
    except Exception as exc:  # only bookkeeping: drain looks again
        log.warning("could not mark outbox jobs %s enqueued: %s", ids, exc)


def push(app, outbox_ids: list[int], *, respect_breaker: bool = False) -> int:
    """Put outbox rows on the RQ queue. Returns how many went; a Redis error stops the push
    (the rest wait for drain) and is logged, never raised."""
    if not outbox_ids:
        return 0
    if respect_breaker and time.monotonic() < _breaker["until"]:
        log.info("redis recently unavailable, outbox jobs %s wait for drain", outbox_ids)
        return 0
    q = get_queue(app)
    pushed: list[int] = []
    for oid in outbox_ids:
        try:
            q.enqueue(RUNNER, oid, job_id=rq_job_id(oid), retry=RQ_RETRY, job_timeout=3600,
                      result_ttl=86400, failure_ttl=7 * 86400)
        except redis.RedisError as exc:
            _breaker["until"] = time.monotonic() + BREAKER_SECONDS
            log.warning("redis unavailable, outbox jobs from %s wait: %s", oid, exc)
            break
        pushed.append(oid)
    if pushed:
        _breaker["until"] = 0.0
        _mark_enqueued(app, pushed)
    return len(pushed)


def reset_breaker() -> None:
    """Forget a recent Redis failure (tests, or an operator who knows Redis is back)."""
    _breaker["until"] = 0.0


def drain(app=None, limit: int = 500) -> int:
    """Push every due outbox row that is not done and has no live RQ job. Returns how many."""
    app = app or worker_app()
    with app.app_context():
        now = utcnow()
        ids = list(db.session.scalars(
            select(OutboxJob.id).where(
                OutboxJob.done_at.is_(None),
                OutboxJob.attempts < MAX_ATTEMPTS,
                or_(OutboxJob.run_at.is_(None), OutboxJob.run_at <= now),
                or_(OutboxJob.enqueued_at.is_(None), OutboxJob.enqueued_at < now - STALE_AFTER),
            ).order_by(OutboxJob.id).limit(limit)
        ))
        db.session.rollback()  # end the read before writing on another connection (SQLite)
        if not ids:
            return 0
        try:
            jobs = Job.fetch_many([rq_job_id(i) for i in ids], connection=app.extensions["redis"])
            alive, gone = [], []
            for oid, job in zip(ids, jobs):
                if job is not None and job.get_status(refresh=False) in ALIVE:
                    alive.append(oid)
                    continue
                if job is not None:  # finished without marking the row, failed or stopped
                    job.delete(remove_from_queue=True)
                gone.append(oid)
        except redis.RedisError as exc:
            log.warning("redis unavailable, %d outbox jobs wait: %s", len(ids), exc)
            return 0
        if alive:
            _mark_enqueued(app, alive)  # queued behind others: look again later
        return push(app, gone)


def _is_rq_retry() -> bool:
    """True when RQ runs this job again because its last execution failed or was abandoned."""
    job = get_current_job()
    return job is not None and job.retries_left is not None and job.retries_left < RQ_RETRY.max


def run_outbox_job(outbox_id: int):
    """Worker side: claim the row, run the function, mark it done (once, even if pushed twice)."""
    app = worker_app()
    with app.app_context():
        now = utcnow()
        where = [OutboxJob.id == outbox_id, OutboxJob.done_at.is_(None)]
        if not _is_rq_retry():  # a second copy must not run beside a live first one
            where.append(or_(OutboxJob.started_at.is_(None), OutboxJob.started_at < now - LEASE))
        claimed = db.session.execute(
            update(OutboxJob).where(*where).values(started_at=now, attempts=OutboxJob.attempts + 1)
        ).rowcount
        db.session.commit()
        if not claimed:
            return None
        job = db.session.get(OutboxJob, outbox_id)
        if job.run_at is not None and job.run_at > now + timedelta(seconds=1):
            # pushed early (by hand, say): give it back, drain pushes it when it is due
            db.session.execute(update(OutboxJob).where(OutboxJob.id == outbox_id)
                               .values(started_at=None, enqueued_at=None, attempts=OutboxJob.attempts - 1))
            db.session.commit()
            return None
        module, _, name = job.func.rpartition(".")
        try:
            func = getattr(importlib.import_module(module), name)
            result = func(*job.args, **job.kwargs)
        except Exception as exc:
            db.session.rollback()
            db.session.execute(update(OutboxJob).where(OutboxJob.id == outbox_id)
                               .values(last_error=repr(exc)[:2000], started_at=None))
            db.session.commit()
            raise
        db.session.execute(update(OutboxJob).where(OutboxJob.id == outbox_id).values(done_at=utcnow()))
        db.session.commit()
        return result


def init_app(app) -> None:
    """Nothing per app: pushing happens after every commit (_push_after_commit), in requests,
    jobs and CLI commands alike, and drain runs from the cron (backend/jobs/worker.py)."""
