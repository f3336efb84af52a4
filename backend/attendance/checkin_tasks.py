"""Scans of task codes ("T"): check-in and check-out of the people who claimed the task.

This is the hot path of a check-in burst (a thousand members scanning one code within a
minute), so a scan is written with Core statements, not ORM objects: one joined SELECT reads
the task, the caller's active claim and attendance; one INSERT ... ON CONFLICT DO NOTHING
RETURNING (check-in) or one conditional UPDATE ... RETURNING (check-out) writes. A simultaneous
identical scan loses the conflict (or the UPDATE's condition) and answers with the stored row.
The read and the INSERT go straight to the driver's cursor on PostgreSQL (DriverStatement).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import and_, bindparam, select, text

from backend.attendance.errors import CodeInvalid, NotCheckedIn, NotClaimed, TaskClosed
from backend.attendance.geo import fence
from backend.attendance.models import ABSENT, CHECKED_IN, CHECKED_OUT, SOURCE_SCAN, Attendance
from backend.auth.callers import Claimed, live_column
from backend.clock import TZ
from backend.db import DriverStatement, autocommit_connection, retry_first_statement
from backend.errors import Conflict, InvalidState
from backend.extensions import db
from backend.tasks.models import CLAIM_ACTIVE, TASK_CANCELLED, Task, TaskClaim

if TYPE_CHECKING:
    from backend.attendance.services import Scan, Settings

_A, _T, _C = Attendance.__table__, Task.__table__, TaskClaim.__table__


class Stored(NamedTuple):
    """The columns of an attendance that a scan reads and answers with."""

    id: int
    task_id: int
    status: str
    source: str
    awarded_at: datetime | None
    checkin_at: datetime | None
    checkin_offline: bool
    checkin_distance_m: int | None
    checkout_at: datetime | None
    checkout_offline: bool
    checkout_distance_m: int | None
    minutes: int


_STORED = tuple(_A.c[name] for name in Stored._fields)
_TASK = (_T.c.id, _T.c.community_id, _T.c.status, _T.c.starts_at, _T.c.ends_at, _T.c.lat, _T.c.lng)
_USER, _TASK_ID = bindparam("user_id"), bindparam("task_id")
# The task, the caller's active claim (at most one: a partial unique index) and attendance, and
# whether the caller's account is live (the request's login check, see auth.callers.Claimed).
_SCAN = DriverStatement(
    select(*_TASK, live_column(_USER, bindparam("version")), _C.c.id.label("claim_id"),
           *(c.label("a_" + c.name) for c in _STORED))
    .select_from(_T.outerjoin(_C, and_(_C.c.task_id == _T.c.id, _C.c.user_id == _USER, _C.c.status == CLAIM_ACTIVE))
                 .outerjoin(_A, and_(_A.c.task_id == _T.c.id, _A.c.user_id == _USER)))
    .where(_T.c.id == _TASK_ID))
_STORED_ROW = select(*_STORED).where(_A.c.task_id == _TASK_ID, _A.c.user_id == _USER)
# A real scan outweighs an absence (never an award); staff-entered rows are not the scan's to change.
_SCAN_IN_OVER_ABSENCE = (_A.update().where(_A.c.id == bindparam("a_id"), _A.c.status == ABSENT,
                                           _A.c.source == SOURCE_SCAN, _A.c.awarded_at.is_(None))
                         .returning(*_STORED))
_SCAN_OUT = (_A.update().where(_A.c.id == bindparam("a_id"), _A.c.status == CHECKED_IN, _A.c.awarded_at.is_(None))
             .returning(*_STORED))
# The check-in INSERT is text: SQLAlchemy cannot cache a compiled ON CONFLICT insert (it would
# be compiled on every scan, ~1.5 ms). PostgreSQL and SQLite share this syntax. Columns with a
# model default get it here, so a column added later with a default needs no change.
_DEFAULTED = tuple(c for c in _A.c if c.default is not None and not c.primary_key)
_IN = ("task_id", "user_id", "community_id", "source", "status", "claim_id", "checkin_at", "checkin_received_at",
       "checkin_offline", "checkin_distance_m")
_IN_COLS = tuple(dict.fromkeys(_IN + tuple(c.key for c in _DEFAULTED)))
_INSERT = DriverStatement(
    text(f"INSERT INTO {_A.name} ({', '.join(_IN_COLS)}) VALUES ({', '.join(':' + k for k in _IN_COLS)}) "
         f"ON CONFLICT (task_id, user_id) DO NOTHING RETURNING {', '.join(Stored._fields)}")
    .bindparams(*(bindparam(k, type_=_A.c[k].type) for k in _IN_COLS))
    .columns(*_STORED))


def _defaults() -> dict:
    """The model defaults of the attendance columns (utcnow called now)."""
    return {c.key: c.default.arg(None) if c.default.is_callable else c.default.arg for c in _DEFAULTED}


def _local(at: datetime) -> str:
    """A time for an error's details, in Asia/Shanghai as every time the API answers with."""
    return at.astimezone(TZ).isoformat()


def clipped_minutes(task, start: datetime, end: datetime) -> int:
    """Whole minutes of [start, end] that fall inside the task's scheduled span."""
    s, e = max(start, task.starts_at), min(end, task.ends_at)
    return max(0, int((e - s).total_seconds() // 60))


def active_claim(task_id: int, user_id: int) -> TaskClaim | None:
    return db.session.scalar(select(TaskClaim).where(
        TaskClaim.task_id == task_id, TaskClaim.user_id == user_id, TaskClaim.status == CLAIM_ACTIVE))


def attendance_of(task_id: int, user_id: int) -> Attendance | None:
    return db.session.scalar(select(Attendance).where(
        Attendance.task_id == task_id, Attendance.user_id == user_id).execution_options(populate_existing=True))


def body(row, action: str) -> dict:
    """The answer of a scan, rebuilt from the stored row so that repeats answer the same."""
    if action == "in":
        return {"task_id": row.task_id, "action": "in", "at": row.checkin_at,
                "offline": row.checkin_offline, "distance_m": row.checkin_distance_m}
    return {"task_id": row.task_id, "action": "out", "at": row.checkout_at, "minutes": row.minutes,
            "offline": row.checkout_offline, "distance_m": row.checkout_distance_m}


def _stored(conn, task_id: int, user_id: int) -> Stored:
    row = conn.execute(_STORED_ROW, {"task_id": task_id, "user_id": user_id}).first()
    if row is None:  # a conflicting row that is gone again: let the client retry
        raise Conflict()
    return row


def task_scan(user, scan: "Scan", *, lat=None, lng=None, settings: "Settings") -> tuple[dict, bool]:
    """Check the user in or out of the task the code names; (body, created).

    A caller whose account is still to be checked (auth.callers.Claimed: the API's scan) is
    checked by the first statement. On PostgreSQL a scan that opens the request's use of the
    database runs outside the session, on a pooled connection in autocommit: each of its
    statements is atomic by itself (a read, then one INSERT ... ON CONFLICT or one conditional
    UPDATE); BEGIN and COMMIT were two of its five round trips, and the session's transaction
    a twentieth of its CPU. Inside a transaction already open it runs in that transaction."""
    session = db.session()  # the request's Session itself (the scoped proxy lacks in_transaction)
    claimed = isinstance(user, Claimed)
    params = {"task_id": scan.subject_id, "user_id": user.id, "version": user.version if claimed else None}
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        with autocommit_connection(session.get_bind(), lambda conn: _SCAN.first(conn, params)) as (conn, r):
            return _scanned(conn, session, user, r, scan, lat, lng, settings)
    r = retry_first_statement(session, lambda: _SCAN.first(session.connection(), params))
    return _scanned(session.connection(), session, user, r, scan, lat, lng, settings)


def _scanned(conn, session, user, r, scan, lat, lng, cfg) -> tuple[dict, bool]:
    """The scan, from what its first statement read (`r`) on `conn`."""
    if isinstance(user, Claimed):
        if r is None:
            user.ensure(session)
        else:
            user.confirm(r.caller_live)
    if r is None:
        raise CodeInvalid()
    row = Stored._make(r[len(_TASK) + 2:]) if r.a_id is not None else None
    if scan.action == "in":
        return _check_in(conn, user.id, r, row, scan, lat, lng, cfg)
    return _check_out(conn, user.id, r, row, scan, lat, lng, cfg)


def _check_in(conn, user_id, task, row, scan, lat, lng, cfg) -> tuple[dict, bool]:
    if row is not None and row.checkin_at is not None and row.status != ABSENT:
        return body(row, "in"), False
    if task.claim_id is None:
        raise NotClaimed()
    if task.status == TASK_CANCELLED:
        raise TaskClosed("任务已取消")
    opens = task.starts_at - timedelta(minutes=cfg.early_min)
    if not (opens <= scan.at <= task.ends_at):
        raise TaskClosed("不在签到时间内", details={"opens_at": _local(opens), "closes_at": _local(task.ends_at)})
    values = dict(status=CHECKED_IN, claim_id=task.claim_id, checkin_at=scan.at, checkin_received_at=scan.received_at,
                  checkin_offline=scan.offline,
                  checkin_distance_m=fence(task.lat, task.lng, lat, lng, cfg.radius_m))
    if row is None:
        written = _INSERT.first(conn, {**_defaults(), "task_id": task.id, "user_id": user_id,
                                       "community_id": task.community_id, "source": SOURCE_SCAN, **values})
        if written is not None:
            return body(written, "in"), True
        row = _stored(conn, task.id, user_id)  # a simultaneous scan (or staff) wrote it first
        if row.checkin_at is not None and row.status != ABSENT:
            return body(row, "in"), False
    written = conn.execute(_SCAN_IN_OVER_ABSENCE, {"a_id": row.id, **values}).first()
    if written is not None:
        return body(written, "in"), True
    row = _stored(conn, task.id, user_id)
    if row.status != ABSENT and row.checkin_at is not None:
        return body(row, "in"), False
    raise InvalidState("该出勤已由工作人员登记")


def _check_out(conn, user_id, task, row, scan, lat, lng, cfg) -> tuple[dict, bool]:
    if row is not None and row.status == CHECKED_OUT and row.checkout_at is not None:
        return body(row, "out"), False
    if row is None or row.checkin_at is None:
        if task.claim_id is None:
            raise NotClaimed()
        raise NotCheckedIn()
    if row.status != CHECKED_IN:
        raise InvalidState("该出勤已由工作人员处理")
    if task.status == TASK_CANCELLED:
        raise TaskClosed("任务已取消")
    if scan.at < row.checkin_at:
        raise NotCheckedIn("签退时间早于签到时间")
    if scan.at < task.starts_at:
        # zero minutes, and the attendance could never be checked in again: not a check-out yet
        raise TaskClosed("任务尚未开始，不能签退", details={"starts_at": _local(task.starts_at)})
    closes = task.ends_at + timedelta(minutes=cfg.late_min)
    if scan.at > closes:
        raise TaskClosed("已过签退时间", details={"closes_at": _local(closes)})
    distance = fence(task.lat, task.lng, lat, lng, cfg.radius_m)
    out_at = min(scan.at, scan.latest)  # the code's window bounds what a late scan can claim
    written = conn.execute(_SCAN_OUT, dict(  # through SQLAlchemy: it sets updated_at (onupdate)
        a_id=row.id, status=CHECKED_OUT, checkout_at=out_at, checkout_received_at=scan.received_at,
        checkout_offline=scan.offline, checkout_distance_m=distance,
        minutes=clipped_minutes(task, row.checkin_at, out_at))).first()
    if written is not None:
        return body(written, "out"), True
    row = _stored(conn, task.id, user_id)
    if row.status == CHECKED_OUT and row.checkout_at is not None:
        return body(row, "out"), False  # a simultaneous identical scan won
    raise InvalidState("该出勤已由工作人员处理")
