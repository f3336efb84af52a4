"""Volunteer posts: staff create, edit and cancel them; members and residents claim seats.

Capacity stays exact under concurrency: a claim takes its seat with one conditional UPDATE
(`claimed_count < capacity`), which on PostgreSQL also locks the task row until commit, and
the partial unique index uq_task_claims_active keeps one active claim per person and task.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from backend.audit.services import record
from backend.auth import policy
from backend.auth.models import User
from backend.db import savepoint, utcnow
from backend.errors import InvalidState, NotFound, ValidationFailed, error
from backend.extensions import db
from backend.notifications.services import notify
from backend.tasks.models import CLAIM_ACTIVE, CLAIM_CANCELLED, TASK_CANCELLED, TASK_OPEN, Task, TaskClaim

TaskFull = error(409, "TASK_FULL", "该任务名额已满")
AlreadyClaimed = error(409, "ALREADY_CLAIMED", "您已认领该任务")
TaskClosed = error(409, "TASK_CLOSED", "任务已开始、已结束或已取消")

MAX_CAPACITY = 10000
MAX_POINTS_PER_HOUR = 1000
LAT_RANGE = (3.8, 53.6)  # China's bounding box
LNG_RANGE = (73.5, 135.1)
EDITABLE = ("title", "description", "category", "starts_at", "ends_at", "location_name", "lat", "lng",
            "capacity", "points_per_hour", "skills")


def state(task: Task, now: datetime | None = None) -> str:
    """cancelled | ended | ongoing | upcoming, from the stored status and the clock."""
    now = now or utcnow()
    if task.status == TASK_CANCELLED:
        return "cancelled"
    if task.ends_at <= now:
        return "ended"
    if task.starts_at <= now:
        return "ongoing"
    return "upcoming"


def clean_skills(skills) -> list[str]:
    """Stripped, non-empty, de-duplicated, in the given order."""
    out: list[str] = []
    for s in skills or []:
        s = str(s).strip()
        if s and s not in out:
            out.append(s)
    return out


def _validate(values: dict) -> None:
    """The rules on a task's fields (the API schema checks them too; services are callable alone)."""
    details: dict[str, list[str]] = {}
    title = values.get("title")
    if title is not None and not (1 <= len(title.strip()) <= 100):
        details["title"] = ["标题长度应为 1 到 100 个字符"]
    if values["ends_at"] <= values["starts_at"]:
        details["ends_at"] = ["结束时间必须晚于开始时间"]
    if not (1 <= values["capacity"] <= MAX_CAPACITY):
        details["capacity"] = [f"名额应在 1 到 {MAX_CAPACITY} 之间"]
    if not (0 <= values["points_per_hour"] <= MAX_POINTS_PER_HOUR):
        details["points_per_hour"] = [f"每小时积分应在 0 到 {MAX_POINTS_PER_HOUR} 之间"]
    lat, lng = values.get("lat"), values.get("lng")
    if (lat is None) != (lng is None):
        details["location"] = ["经纬度需同时填写"]
    elif lat is not None and not (LAT_RANGE[0] <= lat <= LAT_RANGE[1] and LNG_RANGE[0] <= lng <= LNG_RANGE[1]):
        details["location"] = ["坐标不在中国境内"]
    if details:
        raise ValidationFailed(details=details)


def _snapshot(task: Task) -> dict:
    return {k: getattr(task, k) for k in EDITABLE}


def get_task(task_id: int) -> Task:
    """The task, or NotFound."""
    task = db.session.get(Task, task_id)
    if task is None:
        raise NotFound("任务不存在")
    return task


def _locked(task_id: int) -> Task:
    """The task row, locked until commit (PostgreSQL), freshly read."""
    task = db.session.scalar(
        select(Task).where(Task.id == task_id).with_for_update().execution_options(populate_existing=True)
    )
    if task is None:
        raise NotFound("任务不存在")
    return task


def create_task(actor: User, community_id: int, *, title: str, starts_at: datetime, ends_at: datetime,
                capacity: int, description: str = "", category: str = "", location_name: str = "",
                lat: float | None = None, lng: float | None = None, points_per_hour: int = 0,
                skills: list[str] | None = None) -> Task:
    """Post a volunteer task in a community (staff of it)."""
    policy.require_staff(actor, community_id)
    values = dict(title=title.strip(), description=description, category=category, starts_at=starts_at,
                  ends_at=ends_at, location_name=location_name, lat=lat, lng=lng, capacity=capacity,
                  points_per_hour=points_per_hour, skills=clean_skills(skills))
    _validate(values)
    task = Task(community_id=community_id, created_by_id=actor.id, status=TASK_OPEN, claimed_count=0, **values)
    db.session.add(task)
    db.session.flush()
    record(actor.id, "task.create", "task", task.id, after=_snapshot(task), community_id=community_id)
    return task


def update_task(actor: User, task_id: int, **changes) -> Task:
    """Edit a task before it starts (staff); capacity never below the seats already claimed."""
    task = get_task(task_id)
    policy.require_staff(actor, task.community_id)
    task = _locked(task_id)
    if state(task) != "upcoming":
        raise TaskClosed("任务已开始、已结束或已取消，不能修改")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationFailed(details={k: ["未知字段"] for k in sorted(unknown)})
    if "skills" in changes:
        changes["skills"] = clean_skills(changes["skills"])
    if isinstance(changes.get("title"), str):
        changes["title"] = changes["title"].strip()
    before = _snapshot(task)
    merged = {**before, **changes}
    _validate(merged)
    if "starts_at" in changes and changes["starts_at"] != before["starts_at"] and changes["starts_at"] <= utcnow():
        raise ValidationFailed(details={"starts_at": ["新的开始时间不能早于当前时间"]})
    if merged["capacity"] < task.claimed_count:
        raise ValidationFailed(details={"capacity": [f"名额不能少于已认领人数（{task.claimed_count}）"]})
    if (merged["starts_at"], merged["ends_at"]) != (before["starts_at"], before["ends_at"]) and _attended(task.id):
        # check-in opens before the start: a moved task would count those scans against its new times
        raise InvalidState("已有人签到，不能修改任务时间")
    for k, v in changes.items():
        setattr(task, k, v)
    if merged["starts_at"] != before["starts_at"]:
        # a new start time deserves a new reminder
        db.session.execute(update(TaskClaim).where(TaskClaim.task_id == task.id).values(reminded_at=None))
    db.session.flush()
    after = _snapshot(task)
    diff = {k for k in EDITABLE if before[k] != after[k]}
    record(actor.id, "task.update", "task", task.id, before={k: before[k] for k in diff},
           after={k: after[k] for k in diff}, community_id=task.community_id)
    return task


def _attended(task_id: int, user_id: int | None = None) -> bool:
    """Whether anyone (or this user) has an attendance (a scan or a staff entry) at the task."""
    from backend.attendance.models import Attendance

    q = select(Attendance.id).where(Attendance.task_id == task_id)
    if user_id is not None:
        q = q.where(Attendance.user_id == user_id)
    return db.session.scalar(q.limit(1)) is not None


def active_claimers(task_id: int) -> list[int]:
    """User ids with an active claim on the task."""
    return list(db.session.scalars(
        select(TaskClaim.user_id).where(TaskClaim.task_id == task_id, TaskClaim.status == CLAIM_ACTIVE)
        .order_by(TaskClaim.id)
    ))


def cancel_task(actor: User, task_id: int, reason: str) -> Task:
    """Cancel a task that has not ended (staff); every active claimer is notified."""
    task = get_task(task_id)
    policy.require_staff(actor, task.community_id)
    task = _locked(task_id)
    if state(task) in ("cancelled", "ended"):
        raise InvalidState("任务已取消或已结束")
    task.status = TASK_CANCELLED
    task.cancelled_at = utcnow()
    task.cancel_reason = reason
    db.session.flush()
    for user_id in active_claimers(task.id):
        notify(user_id, "task_cancelled", {"task_id": task.id, "title": task.title,
                                           "starts_at": task.starts_at, "reason": reason},
               ref_type="task", ref_id=task.id)
    record(actor.id, "task.cancel", "task", task.id, before={"status": TASK_OPEN},
           after={"status": TASK_CANCELLED, "reason": reason}, community_id=task.community_id)
    return task


def active_claim(task_id: int, user_id: int) -> TaskClaim | None:
    """The user's active claim on the task, if any."""
    return db.session.scalar(select(TaskClaim).where(
        TaskClaim.task_id == task_id, TaskClaim.user_id == user_id, TaskClaim.status == CLAIM_ACTIVE))


def _seat_delta(task_id: int, delta: int) -> None:
    db.session.execute(
        update(Task).where(Task.id == task_id).values(claimed_count=Task.claimed_count + delta)
        .execution_options(synchronize_session=False)
    )


def claim_task(user: User, task_id: int) -> TaskClaim:
    """Take a seat on a task (any logged-in person) before it starts."""
    task = get_task(task_id)
    if active_claim(task_id, user.id) is not None:
        raise AlreadyClaimed()
    now = utcnow()
    taken = db.session.execute(
        update(Task)
        .where(Task.id == task_id, Task.status == TASK_OPEN, Task.starts_at > now,
               Task.claimed_count < Task.capacity)
        .values(claimed_count=Task.claimed_count + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.expire(task)
    if not taken:
        if state(task, now) != "upcoming":
            raise TaskClosed()
        raise TaskFull()
    # The row lock is ours now: a concurrent claim by the same person has committed or waits.
    if active_claim(task_id, user.id) is not None:
        _seat_delta(task_id, -1)
        raise AlreadyClaimed()
    claim = TaskClaim(task_id=task_id, user_id=user.id, status=CLAIM_ACTIVE)
    try:
        with savepoint(db.session):
            db.session.add(claim)
            db.session.flush()
    except IntegrityError:
        _seat_delta(task_id, -1)
        raise AlreadyClaimed()
    return claim


def unclaim_task(user: User, task_id: int) -> TaskClaim:
    """Give the seat back before the task starts."""
    task = get_task(task_id)
    claim = active_claim(task_id, user.id)
    if claim is None:
        raise NotFound("您没有认领该任务")
    if state(task) != "upcoming":
        raise TaskClosed()
    # check-in opens before the start: an attendance without its seat would still count and be awarded
    if _attended(task_id, user.id):
        raise InvalidState("您已签到，不能取消认领")
    now = utcnow()
    done = db.session.execute(
        update(TaskClaim).where(TaskClaim.id == claim.id, TaskClaim.status == CLAIM_ACTIVE)
        .values(status=CLAIM_CANCELLED, cancelled_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        raise NotFound("您没有认领该任务")
    _seat_delta(task_id, -1)
    db.session.expire(task)
    db.session.expire(claim)
    db.session.flush()
    return claim
