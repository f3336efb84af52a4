"""Scans of task codes ("T"): check-in and check-out of the people who claimed the task."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from backend.attendance.errors import CodeInvalid, NotCheckedIn, NotClaimed, TaskClosed
from backend.attendance.geo import fence
from backend.attendance.models import ABSENT, CHECKED_IN, CHECKED_OUT, SOURCE_SCAN, Attendance
from backend.errors import InvalidState
from backend.extensions import db
from backend.tasks.models import CLAIM_ACTIVE, TASK_CANCELLED, Task, TaskClaim

if TYPE_CHECKING:
    from backend.attendance.services import Scan, Settings


def clipped_minutes(task: Task, start: datetime, end: datetime) -> int:
    """Whole minutes of [start, end] that fall inside the task's scheduled span."""
    s, e = max(start, task.starts_at), min(end, task.ends_at)
    return max(0, int((e - s).total_seconds() // 60))


def active_claim(task_id: int, user_id: int) -> TaskClaim | None:
    return db.session.scalar(select(TaskClaim).where(
        TaskClaim.task_id == task_id, TaskClaim.user_id == user_id, TaskClaim.status == CLAIM_ACTIVE))


def attendance_of(task_id: int, user_id: int) -> Attendance | None:
    return db.session.scalar(select(Attendance).where(
        Attendance.task_id == task_id, Attendance.user_id == user_id).execution_options(populate_existing=True))


def body(row: Attendance, action: str) -> dict:
    """The answer of a scan, rebuilt from the stored row so that repeats answer the same."""
    if action == "in":
        return {"task_id": row.task_id, "action": "in", "at": row.checkin_at,
                "offline": row.checkin_offline, "distance_m": row.checkin_distance_m}
    return {"task_id": row.task_id, "action": "out", "at": row.checkout_at, "minutes": row.minutes,
            "offline": row.checkout_offline, "distance_m": row.checkout_distance_m}


def task_scan(user, scan: "Scan", *, lat=None, lng=None, settings: "Settings") -> tuple[dict, bool]:
    """Check the user in or out of the task the code names; (body, created)."""
    task = db.session.get(Task, scan.subject_id)
    if task is None:
        raise CodeInvalid()
    row = attendance_of(task.id, user.id)
    if scan.action == "in":
        return _check_in(user, task, row, scan, lat, lng, settings)
    return _check_out(user, task, row, scan, lat, lng, settings)


def _check_in(user, task, row, scan, lat, lng, cfg) -> tuple[dict, bool]:
    if row is not None and row.checkin_at is not None and row.status != ABSENT:
        return body(row, "in"), False
    claim = active_claim(task.id, user.id)
    if claim is None:
        raise NotClaimed()
    if task.status == TASK_CANCELLED:
        raise TaskClosed("任务已取消")
    opens = task.starts_at - timedelta(minutes=cfg.early_min)
    if not (opens <= scan.at <= task.ends_at):
        raise TaskClosed("不在签到时间内", details={"opens_at": opens.isoformat(), "closes_at": task.ends_at.isoformat()})
    values = dict(status=CHECKED_IN, claim_id=claim.id, checkin_at=scan.at, checkin_received_at=scan.received_at,
                  checkin_offline=scan.offline,
                  checkin_distance_m=fence(task.lat, task.lng, lat, lng, cfg.radius_m))
    if row is not None:
        # Marked absent (or entered by staff): a real scan outweighs an absence, never an award.
        done = db.session.execute(update(Attendance).where(
            Attendance.id == row.id, Attendance.status == ABSENT, Attendance.source == SOURCE_SCAN,
            Attendance.awarded_at.is_(None)).values(**values)).rowcount
        row = attendance_of(task.id, user.id)
        if not done:
            if row.status != ABSENT and row.checkin_at is not None:
                return body(row, "in"), False
            raise InvalidState("该出勤已由工作人员登记")
        return body(row, "in"), True
    try:
        with db.session.begin_nested():
            row = Attendance(task_id=task.id, user_id=user.id, community_id=task.community_id,
                             source=SOURCE_SCAN, **values)
            db.session.add(row)
    except IntegrityError:
        row = attendance_of(task.id, user.id)  # a simultaneous identical scan wrote it first
        if row is None or row.checkin_at is None:
            raise
        return body(row, "in"), False
    return body(row, "in"), True


def _check_out(user, task, row, scan, lat, lng, cfg) -> tuple[dict, bool]:
    if row is not None and row.status == CHECKED_OUT and row.checkout_at is not None:
        return body(row, "out"), False
    if row is None or row.checkin_at is None:
        if active_claim(task.id, user.id) is None:
            raise NotClaimed()
        raise NotCheckedIn()
    if row.status != CHECKED_IN:
        raise InvalidState("该出勤已由工作人员处理")
    if task.status == TASK_CANCELLED:
        raise TaskClosed("任务已取消")
    if scan.at < row.checkin_at:
        raise NotCheckedIn("签退时间早于签到时间")
    closes = task.ends_at + timedelta(minutes=cfg.late_min)
    if scan.at > closes:
        raise TaskClosed("已过签退时间", details={"closes_at": closes.isoformat()})
    distance = fence(task.lat, task.lng, lat, lng, cfg.radius_m)
    out_at = min(scan.at, scan.latest)  # the code's window bounds what a late scan can claim
    done = db.session.execute(update(Attendance).where(
        Attendance.id == row.id, Attendance.status == CHECKED_IN, Attendance.awarded_at.is_(None)).values(
        status=CHECKED_OUT, checkout_at=out_at, checkout_received_at=scan.received_at,
        checkout_offline=scan.offline, checkout_distance_m=distance,
        minutes=clipped_minutes(task, row.checkin_at, out_at))).rowcount
    row = attendance_of(task.id, user.id)
    if not done:
        if row.status == CHECKED_OUT and row.checkout_at is not None:
            return body(row, "out"), False  # a simultaneous identical scan won
        raise InvalidState("该出勤已由工作人员处理")
    return body(row, "out"), True
