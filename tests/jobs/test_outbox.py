"""The job outbox: pushed after commit, future rows wait, vanished jobs pushed again, RQ retries."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from rq.job import Job, JobStatus

from backend.db import utcnow
from backend.extensions import db
from backend.jobs import defer, drain, get_queue, push, rq_job_id, run_outbox_job
from backend.jobs.models import OutboxJob
from tests.jobs import util
from tests.jobs.util import run_worker

RECORD = "tests.jobs.util.record"
FLAKY = "tests.jobs.util.flaky"


@pytest.fixture(autouse=True)
def _fresh():
    util.CALLS.clear()
    util.FAILS_LEFT.clear()


def _row(oid) -> OutboxJob:
    db.session.expire_all()
    return db.session.get(OutboxJob, oid)


def test_commit_pushes_and_worker_runs_once(app):
    job = defer(RECORD, "a")
    oid = job.id
    assert job.rq_job_id == rq_job_id(oid)
    db.session.commit()
    assert get_queue(app).count == 1
    assert _row(oid).enqueued_at is not None
    run_worker(app)
    assert util.CALLS == ["a"]
    assert _row(oid).done_at is not None
    # running the same row again (pushed twice, say) does nothing
    assert run_outbox_job(oid) is None
    assert util.CALLS == ["a"]


def test_rollback_pushes_nothing(app):
    defer(RECORD, "b")
    db.session.rollback()
    assert get_queue(app).count == 0
    assert db.session.query(OutboxJob).count() == 0


def test_future_row_waits_for_drain(app):
    oid = defer(RECORD, "later", run_at=utcnow() + timedelta(minutes=5)).id
    db.session.commit()
    assert get_queue(app).count == 0
    assert drain(app) == 0
    with time_machine.travel(utcnow() + timedelta(minutes=6)):
        assert drain(app) == 1
        run_worker(app)
    assert util.CALLS == ["later"]
    assert _row(oid).done_at is not None


def test_a_second_copy_does_not_run_beside_a_live_one(app):
    oid = defer(RECORD, "c").id
    db.session.commit()
    db.session.query(OutboxJob).filter_by(id=oid).update({"started_at": utcnow()})
    db.session.commit()
    assert run_outbox_job(oid) is None  # another worker holds it
    assert util.CALLS == []


def test_vanished_rq_job_is_pushed_again(app):
    oid = defer(RECORD, "lost").id
    db.session.commit()
    app.extensions["redis"].flushdb()  # Redis restarted without its data
    assert drain(app) == 0  # just enqueued: not yet suspicious
    with time_machine.travel(utcnow() + timedelta(minutes=3)):
        assert drain(app) == 1
        run_worker(app)
    assert util.CALLS == ["lost"]
    assert _row(oid).done_at is not None


def test_live_queued_job_is_not_pushed_twice(app):
    oid = defer(RECORD, "once").id
    db.session.commit()
    with time_machine.travel(utcnow() + timedelta(minutes=3)):
        assert drain(app) == 0  # its RQ job is still queued
    assert get_queue(app).count == 1
    assert Job.fetch(rq_job_id(oid), connection=app.extensions["redis"]).get_status() == JobStatus.QUEUED


def test_push_never_raises_when_redis_is_down(app):
    import redis

    oid = defer(RECORD, "down").id
    good = app.extensions["redis"]
    app.extensions["redis"] = redis.Redis(port=1, retry=None)
    try:
        db.session.commit()  # the after-commit push fails quietly
        assert push(app, [oid]) == 0
        assert drain(app) == 0
    finally:
        app.extensions["redis"] = good
    assert _row(oid).enqueued_at is None
    assert drain(app) == 1
    run_worker(app)
    assert util.CALLS == ["down"]


def test_job_that_raises_is_retried_by_rq_and_not_marked_done(app):
    util.FAILS_LEFT["x"] = 1
    oid = defer(FLAKY, "x").id
    db.session.commit()
    run_worker(app)
    row = _row(oid)
    assert row.done_at is None and row.attempts == 1 and "flaky x" in row.last_error
    rq_job = Job.fetch(rq_job_id(oid), connection=app.extensions["redis"])
    assert rq_job.get_status() == JobStatus.SCHEDULED and rq_job.retries_left == 2
    assert drain(app) == 0  # RQ still owns the retry
    with time_machine.travel(utcnow() + timedelta(seconds=15)):
        run_worker(app, with_scheduler=True)
    row = _row(oid)
    assert row.done_at is not None and row.attempts == 2
    assert util.CALLS == ["x", "x"]


def test_job_that_keeps_failing_stops_at_the_attempt_limit(app):
    from backend.jobs import MAX_ATTEMPTS

    util.FAILS_LEFT["y"] = 10_000
    oid = defer(FLAKY, "y").id
    db.session.commit()
    run_worker(app)
    db.session.query(OutboxJob).filter_by(id=oid).update({"attempts": MAX_ATTEMPTS})
    db.session.commit()
    with time_machine.travel(utcnow() + timedelta(hours=1)):
        run_worker(app, with_scheduler=True)  # RQ's own retry still runs...
        assert drain(app) == 0  # ...but drain does not push a row past the limit
    assert _row(oid).done_at is None


def test_savepoint_release_does_not_push_before_the_outer_commit(app):
    """A job deferred inside begin_nested() goes to RQ only when the outer transaction commits."""
    from backend.extensions import db
    from backend.jobs import defer, get_queue

    queue = get_queue(app)
    before = queue.count
    with db.session.begin_nested():
        defer("backend.jobs.drain")
    assert queue.count == before  # released savepoint: nothing pushed yet
    db.session.commit()
    assert queue.count == before + 1
