"""Check-in codes and scans: issue a code, verify a scan, dispatch it to its subject.

A code names a subject by a type letter. Tasks ("T") register here; meetings ("M") plug in
the same way from their own package:

    from backend.attendance.services import register_subject
    register_subject("M", meeting_scan)   # meeting_scan(user, scan, *, lat, lng, settings)

A handler returns (body, created): the answer of POST /api/v1/checkins and whether this scan
wrote something (201) or repeated an earlier one (200).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import func, select

from backend.attendance import codes
from backend.auth.callers import ensure_live
from backend.attendance.errors import CodeExpired, CodeInvalid
from backend.attendance.models import CHECKED_OUT, SOURCE_SCAN, Attendance
from backend.db import utcnow
from backend.errors import ValidationFailed
from backend.extensions import db

CLOCK_SKEW = timedelta(seconds=5)  # a phone's clock a little ahead is not a forgery


@dataclass(frozen=True)
class Settings:
    secret: str
    ttl: int
    radius_m: int
    early_min: int
    late_min: int
    offline_grace: int


def settings(config=None) -> Settings:
    """The check-in settings of the app (or of a config mapping)."""
    if config is None:
        from flask import current_app

        config = current_app.config
    return Settings(
        secret=config["SECRET_KEY"], ttl=int(config["CHECKIN_CODE_TTL"]),
        radius_m=int(config["CHECKIN_RADIUS_M"]), early_min=int(config["CHECKIN_EARLY_MIN"]),
        late_min=int(config["CHECKOUT_LATE_MIN"]), offline_grace=int(config["CHECKIN_OFFLINE_GRACE"]),
    )


@dataclass(frozen=True)
class Scan:
    """A verified scan: what the code says and the time it counts for."""

    code: codes.Code
    at: datetime  # the time the scan counts for
    received_at: datetime  # when the request arrived
    offline: bool
    latest: datetime  # the latest instant this code can vouch for

    @property
    def subject_type(self) -> str:
        return self.code.subject_type

    @property
    def subject_id(self) -> int:
        return self.code.subject_id

    @property
    def action(self) -> str:
        return self.code.action


_HANDLERS: dict[str, Callable] = {}
_CHECKED_FIRST: set[str] = set()


def register_subject(type_letter: str, handler: Callable, *, checks_caller: bool = False) -> None:
    """Let codes of `type_letter` ("T", "M", ...) be scanned; handler(user, scan, *, lat, lng, settings).
    checks_caller: the handler checks a Claimed caller's account in its own first statement;
    otherwise the account is checked before the handler runs."""
    if len(type_letter) != 1 or not type_letter.isupper():
        raise ValueError("a subject type is one upper-case letter")
    _HANDLERS[type_letter] = handler
    if not checks_caller:
        _CHECKED_FIRST.add(type_letter)


def issue_code(subject_type: str, subject_id: int, action: str, now: datetime | None = None,
               cfg: Settings | None = None) -> dict:
    """A fresh code for a subject: {code, window, expires_at, refresh_after}.

    expires_at is the last instant the code is accepted (end of the next window);
    refresh_after is the number of seconds until the next code is issued."""
    cfg = cfg or settings()
    now = now or utcnow()
    window = codes.window_of(now, cfg.ttl)
    text = codes.make(cfg.secret, codes.Code(subject_type, subject_id, action, window))
    until_next = (codes.window_end(window, cfg.ttl) - now).total_seconds()
    return {
        "code": text, "window": window,
        "expires_at": codes.accepted_until(codes.Code(subject_type, subject_id, action, window), cfg.ttl),
        "refresh_after": max(1, int(until_next)),
    }


def verify_scan(code: str, now: datetime, scanned_at: datetime | None = None,
                cfg: Settings | None = None) -> Scan:
    """Check a scanned code's signature and age; raises CodeInvalid, CodeExpired or ValidationFailed.

    Online (no scanned_at): the code's window must be the current or the previous one.
    Offline: scanned_at must lie inside the code's own window and be at most
    CHECKIN_OFFLINE_GRACE seconds old; the scan then counts at scanned_at."""
    cfg = cfg or settings()
    parsed = codes.parse(cfg.secret, code)
    if scanned_at is None:
        codes.check_age(parsed, now, cfg.ttl)
        return Scan(parsed, now, now, False, codes.accepted_until(parsed, cfg.ttl))
    if scanned_at > now + CLOCK_SKEW:
        raise ValidationFailed(details={"scanned_at": ["扫码时间不能晚于当前时间"]})
    start, end = codes.window_start(parsed.window, cfg.ttl), codes.window_end(parsed.window, cfg.ttl)
    if not (start <= scanned_at <= end):
        raise CodeInvalid("扫码时间不在签到码的有效时段内")
    if (now - scanned_at).total_seconds() > cfg.offline_grace:
        raise CodeExpired("离线扫码已超过补传期限")
    return Scan(parsed, min(scanned_at, now), now, True, end)


def code_picture(code: str, *, fmt: str = "png", kind: str | None = None, wechat=None,
                 real_appid: bool = False, now: datetime | None = None) -> tuple[bytes, str]:
    """(bytes, mimetype) of a live code's picture; a forged code is CodeInvalid, an old one CodeExpired."""
    from backend.attendance import images

    cfg = settings()
    parsed = codes.parse(cfg.secret, code)
    codes.check_age(parsed, now or utcnow(), cfg.ttl)
    return images.render(code, fmt=fmt, kind=kind, client=wechat, real_appid=real_appid)


def check_expected(scan: Scan, *, task_id: int | None = None, meeting_id: int | None = None,
                   action: str | None = None) -> None:
    """CodeInvalid when the scan is not what the client says it is scanning: the page it was
    scanned from names a task or meeting and the button pressed names the action."""
    for letter, wanted in (("T", task_id), ("M", meeting_id)):
        if wanted is not None and (scan.subject_type, scan.subject_id) != (letter, wanted):
            raise CodeInvalid("该签到码不属于当前任务或会议")
    if action is not None and scan.action != action:
        raise CodeInvalid("签到码与所选操作（签到/签退）不符")


def checkin(user, code: str, *, lat: float | None = None, lng: float | None = None,
            scanned_at: datetime | None = None, now: datetime | None = None, task_id: int | None = None,
            meeting_id: int | None = None, action: str | None = None) -> tuple[dict, bool]:
    """POST /checkins: verify the code (and what the client expects it to be), then hand the
    scan to its subject's handler."""
    cfg = settings()
    scan = verify_scan(code, now or utcnow(), scanned_at, cfg)
    check_expected(scan, task_id=task_id, meeting_id=meeting_id, action=action)
    handler = _HANDLERS.get(scan.subject_type)
    if handler is None:
        raise CodeInvalid()
    if scan.subject_type in _CHECKED_FIRST:
        ensure_live(user, db.session)
    return handler(user, scan, lat=lat, lng=lng, settings=cfg)


def service_minutes(user_id: int, *, since: datetime | None = None, until: datetime | None = None,
                    confirmed_only: bool = True) -> dict:
    """A person's service minutes at tasks, {"scanned": int, "manual": int}.

    By default only confirmed attendances count (staff pressed confirm: awarded_at is set),
    finished or not awarded any points; confirmed_only=False counts every finished
    (checked-out) attendance. since/until bound the check-out time (manual entries: the
    task's end) as [since, until)."""
    from backend.tasks.models import Task

    when = func.coalesce(Attendance.checkout_at, Task.ends_at)
    q = (select(Attendance.source, func.coalesce(func.sum(Attendance.minutes), 0))
         .join(Task, Task.id == Attendance.task_id)
         .where(Attendance.user_id == user_id, Attendance.status == CHECKED_OUT)
         .group_by(Attendance.source))
    if confirmed_only:
        q = q.where(Attendance.awarded_at.is_not(None))
    if since is not None:
        q = q.where(when >= since)
    if until is not None:
        q = q.where(when < until)
    out = {"scanned": 0, "manual": 0}
    for source, minutes in db.session.execute(q):
        out["scanned" if source == SOURCE_SCAN else "manual"] += int(minutes)
    return out


# Tasks are the first subject; importing here registers them for every user of this module.
from backend.attendance import checkin_tasks as _tasks  # noqa: E402

register_subject("T", _tasks.task_scan, checks_caller=True)
