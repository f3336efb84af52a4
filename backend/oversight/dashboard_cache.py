"""A street dashboard's answer, computed once and shared by every app process for a while.

A street's figures aggregate every attendance, duty log, household visit and meeting check-in
of the period in all its communities: for 50 communities and 100k members that is seconds of
PostgreSQL CPU (bench/RESULTS.md). Computing them again for every refresh of every street
admin's page would make each answer that slow and, with a few readers, take the cores from the
check-ins and donations that share the database. So:

- an answer younger than STREET_DASHBOARD_MAX_AGE seconds is served from Redis;
- one process at a time computes a (street, period) (a Redis lock); meanwhile the others
  serve the previous answer when there is one, or wait for the new one;
- the cron (`refresh_wanted`, every REFRESH_EVERY seconds) computes ahead of time the
  dashboards read in the last WANTED_FOR seconds before they go stale, so their readers
  rarely wait; a dashboard nobody reads costs nothing;
- every answer says when its figures were computed (`as_of`).

With Redis unavailable, or STREET_DASHBOARD_MAX_AGE = 0, each request computes its own answer.
"""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta
from typing import Callable

import redis

from backend.db import utcnow

log = logging.getLogger(__name__)

PREFIX = "dashboard:street:"
WANTED = "dashboard:wanted"  # sorted set: "street_id:period" scored by the time it was last read
WANTED_FOR = 1800  # seconds: a dashboard read this recently is kept fresh by the cron
REFRESH_EVERY = 60  # seconds between the cron's runs
KEEP = 24 * 3600  # seconds a stale answer stays, to be served while a new one is computed
LOCK_SECONDS = 120  # a computation that has not finished by then lets another start
WAIT_SECONDS = 15  # how long a reader with nothing to serve waits for another's computation
POLL = 0.05

_DATETIMES = ("starts_at", "ends_at", "as_of")


def _key(street_id: int, period: str) -> str:
    return f"{PREFIX}{street_id}:{period}"


def _dump(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"),
                      default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))


def _load(raw: bytes | None) -> dict | None:
    if raw is None:
        return None
    body = json.loads(raw)
    for k in _DATETIMES:
        if isinstance(body.get(k), str):
            body[k] = datetime.fromisoformat(body[k])
    return body


def _fresh(body: dict | None, max_age: int, now: datetime) -> bool:
    return body is not None and now - body["as_of"] < timedelta(seconds=max_age)


def _compute_and_store(r: redis.Redis, key: str, compute: Callable[[], dict]) -> dict:
    body = {**compute(), "as_of": utcnow()}
    try:
        r.set(key, _dump(body), ex=KEEP)
    except redis.RedisError as exc:  # the answer stands; the next reader computes again
        log.warning("dashboard cache: could not store %s (%s)", key, exc)
    return body


def served(r: redis.Redis, street_id: int, period: str, compute: Callable[[], dict], max_age: int) -> dict:
    """The street dashboard for (street_id, period): a stored answer younger than max_age
    seconds, else compute() (its dict, plus "as_of": when it was computed) stored for the others."""
    if max_age <= 0:
        return {**compute(), "as_of": utcnow()}
    key = _key(street_id, period)
    try:
        r.zadd(WANTED, {f"{street_id}:{period}": time.time()})
        stored = _load(r.get(key))
        if _fresh(stored, max_age, utcnow()):
            return stored
        lock = r.lock(key + ":lock", timeout=LOCK_SECONDS)
        if not lock.acquire(blocking=False):
            if stored is not None:
                return stored  # being computed: the previous answer meanwhile
            return _awaited(r, key, compute, max_age)
    except redis.RedisError as exc:
        log.warning("dashboard cache: redis unavailable (%s), computing %s directly", exc, key)
        return {**compute(), "as_of": utcnow()}
    try:
        again = _load(r.get(key))  # another process may have stored it since the first look
        if _fresh(again, max_age, utcnow()):
            return again
        return _compute_and_store(r, key, compute)
    finally:
        _release(lock)


def _awaited(r: redis.Redis, key: str, compute: Callable[[], dict], max_age: int) -> dict:
    """The answer another process is computing; computed here when it does not come in time."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(POLL)
        got = _load(r.get(key))
        if _fresh(got, max_age, utcnow()):
            return got
    return _compute_and_store(r, key, compute)


def _release(lock) -> None:
    try:
        lock.release()
    except (redis.RedisError, redis.exceptions.LockError):  # expired meanwhile, or Redis went away
        pass


def refresh(r: redis.Redis, street_id: int, period: str, compute: Callable[[], dict], max_age: int,
            ahead: int = REFRESH_EVERY) -> bool:
    """Compute (street_id, period) again when its stored answer would be stale within `ahead`
    seconds and nobody is computing it now. True when computed."""
    key = _key(street_id, period)
    stored = _load(r.get(key))
    if _fresh(stored, max(0, max_age - ahead), utcnow()):
        return False
    lock = r.lock(key + ":lock", timeout=LOCK_SECONDS)
    if not lock.acquire(blocking=False):
        return False
    try:
        _compute_and_store(r, key, compute)
        return True
    finally:
        _release(lock)


def wanted(r: redis.Redis, within: int = WANTED_FOR) -> list[tuple[int, str]]:
    """(street_id, period) of the dashboards read in the last `within` seconds; older marks go."""
    cutoff = time.time() - within
    r.zremrangebyscore(WANTED, "-inf", f"({cutoff}")
    out = []
    for member in r.zrangebyscore(WANTED, cutoff, "+inf"):
        street_id, period = member.decode().split(":", 1)
        out.append((int(street_id), period))
    return out
