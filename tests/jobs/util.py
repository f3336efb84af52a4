"""Helpers for job tests: a real RQ worker in this process, and job functions to defer."""
from __future__ import annotations

from rq import SimpleWorker

from backend.jobs import get_queue

CALLS: list = []
FAILS_LEFT: dict = {}


def run_worker(app, with_scheduler: bool = False) -> bool:
    """Run every queued job with a real RQ worker (burst mode) against the test Redis."""
    worker = SimpleWorker([get_queue(app)], connection=app.extensions["redis"])
    return worker.work(burst=True, with_scheduler=with_scheduler)


def record(value):
    """A job: remembers that it ran."""
    CALLS.append(value)
    return value


def flaky(key: str):
    """A job that raises while FAILS_LEFT[key] > 0, then succeeds."""
    CALLS.append(key)
    if FAILS_LEFT.get(key, 0) > 0:
        FAILS_LEFT[key] -= 1
        raise RuntimeError(f"flaky {key}")
    return key
