"""Running RQ workers and the cron scheduler against the app's Redis."""
from __future__ import annotations

import importlib
import logging
import pkgutil
import time

import redis
from rq import Worker
from rq.cron import CronScheduler
from rq.exceptions import StopRequested

import backend

log = logging.getLogger(__name__)
CRON_RESTART_SECONDS = 5  # after a Redis error, the cron scheduler starts again this much later


def run_worker(app, burst: bool = False) -> bool:
    """An RQ worker with RQ's scheduler (for enqueue_at / retries with intervals)."""
    from backend.jobs import get_queue

    with app.app_context():
        queue = get_queue(app)
        worker = Worker([queue], connection=app.extensions["redis"])
        return worker.work(burst=burst, with_scheduler=True)


def cron_entries() -> list[dict]:
    """Every domain's periodic jobs: `CRON = [{"func": ..., "interval"|"cron": ...}]` in
    backend/<domain>/jobs.py."""
    entries = [{"func": "backend.jobs.drain", "interval": 30}]
    for mod in pkgutil.iter_modules(backend.__path__):
        if not mod.ispkg:
            continue
        try:
            module = importlib.import_module(f"backend.{mod.name}.jobs")
        except ModuleNotFoundError as exc:
            if exc.name == f"backend.{mod.name}.jobs":
                continue
            raise
        entries += getattr(module, "CRON", [])
    return entries


def run_cron(app) -> None:
    """RQ's cron scheduler: enqueues each entry on its interval or cron expression."""
    scheduler = CronScheduler(connection=app.extensions["redis"])
    queue = app.config["RQ_QUEUE"]
    for entry in cron_entries():
        module, _, name = entry["func"].rpartition(".")
        func = getattr(importlib.import_module(module), name)
        scheduler.register(func, queue, interval=entry.get("interval"), cron=entry.get("cron"),
                           args=entry.get("args"), kwargs=entry.get("kwargs"))
    while True:
        try:
            scheduler.start()  # returns when stopped (SIGTERM, SIGINT)
            return
        except redis.RedisError as exc:
            # RQ's loop ends on any Redis error. Start the same scheduler again: its jobs keep
            # their next times, so a slot missed meanwhile (the 1st of the month at 09:00) fires
            # once Redis is back instead of being skipped until the next one
            log.warning("cron: redis unavailable (%s), starting again in %s s", exc, CRON_RESTART_SECONDS)
            try:
                time.sleep(CRON_RESTART_SECONDS)
            except StopRequested:  # its signal handlers stay installed meanwhile
                return
