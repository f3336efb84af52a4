"""Staff tools on a task's attendance: the roster, bulk check-out, absence, manual minutes, confirmation."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, select, union, update
from sqlalchemy.exc import IntegrityError

from backend.attendance.checkin_tasks import active_claim, clipped_minutes
from backend.attendance.errors import NotClaimed, TaskClosed
from backend.attendance.models import ABSENT, CHECKED_IN, CHECKED_OUT, SOURCE_MANUAL, SOURCE_SCAN, Attendance
from backend.audit.services import record
from backend.auth import policy
from backend.auth.models import User
from backend.db import savepoint, utcnow
from backend.errors import InvalidState, NotFound
from backend.extensions import db
from backend.tasks.models import CLAIM_ACTIVE, TASK_CANCELLED, Task, TaskClaim

_FIELDS = ("status", "source", "minutes", "manual_reason", "checkin_at", "checkout_at", "awarded_at", "points")


def task_for_staff(user: User, task_id: int) -> Task:
    """The task, when the user is staff of its community (404 unknown, 403 otherwise)."""
    task = db.session.get(Task, task_id)
    if task is None:
        raise NotFound("任务不存在")
    policy.require_staff(user, task.community_id)
    return task


def _snapshot(row: Attendance | None) -> dict:
    return {f: getattr(row, f) for f in _FIELDS} if row is not None else {}


def _roster_ids(task: Task, after: int | None, limit: int | None) -> list[int]:
    """User ids on the roster (active claimers and anyone with an attendance row), ascending."""
    people = union(select(TaskClaim.user_id.label("uid")).where(TaskClaim.task_id == task.id,
                                                                TaskClaim.status == CLAIM_ACTIVE),
                   select(Attendance.user_id.label("uid")).where(Attendance.task_id == task.id)).subquery()
    q = select(people.c.uid).order_by(people.c.uid)
    if after is not None:
        q = q.where(people.c.uid > after)
    return list(db.session.scalars(q if limit is None else q.limit(limit)))


def roster(task: Task, ids: list[int]) -> list[dict]:
    """The roster items of these people (claim and attendance), in the order given."""
    claims = {c.user_id: c for c in db.session.scalars(select(TaskClaim).where(
        TaskClaim.task_id == task.id, TaskClaim.status == CLAIM_ACTIVE, TaskClaim.user_id.in_(ids or [-1])))}
    rows = {a.user_id: a for a in db.session.scalars(select(Attendance).where(
        Attendance.task_id == task.id, Attendance.user_id.in_(ids or [-1])))}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids or [-1])))}
    items = []
    for uid in ids:
        u, row, claim = users[uid], rows.get(uid), claims.get(uid)
        item = {"user_id": uid, "name": u.display_name, "nickname": u.nickname,
                "claim_id": claim.id if claim else None, "claimed": claim is not None,
                "status": row.status if row else "claimed"}
        if row is not None:
            item.update({f: getattr(row, f) for f in (
                "source", "manual_reason", "checkin_at", "checkin_received_at", "checkin_offline",
                "checkin_distance_m", "checkout_at", "checkout_received_at", "checkout_offline",
                "checkout_distance_m", "minutes", "awarded_at", "points")})
        items.append(item)
    return items


def task_roster(actor: User, task_id: int, *, limit: int = 100,
                after: int | None = None) -> tuple[list[dict], int | None]:
    """A page of a task's roster for staff of its community, by user id: (items, last id if more follow)."""
    task = task_for_staff(actor, task_id)
    ids = _roster_ids(task, after, limit + 1)
    more, ids = len(ids) > limit, ids[:limit]
    return roster(task, ids), (ids[-1] if more and ids else None)


def checkout_all(actor: User, task_id: int, now: datetime | None = None) -> dict:
    """After the end: check everyone still checked in out at the task's end (a cancelled task's: its
    cancellation, after which nobody served). {"checked_out": n}."""
    task = task_for_staff(actor, task_id)
    now = now or utcnow()
    end = task.ends_at
    if task.status == TASK_CANCELLED and task.cancelled_at is not None:
        end = min(end, task.cancelled_at)
    if now < end:
        raise InvalidState("任务尚未结束，不能批量签退")
    done = []
    for row in db.session.scalars(select(Attendance).where(
            Attendance.task_id == task.id, Attendance.status == CHECKED_IN)).all():
        # conditional: a member's own check-out arriving meanwhile is kept, not overwritten
        n = db.session.execute(update(Attendance).where(
            Attendance.id == row.id, Attendance.status == CHECKED_IN, Attendance.awarded_at.is_(None)).values(
            status=CHECKED_OUT, checkout_at=end, checkout_received_at=now,
            minutes=clipped_minutes(task, row.checkin_at, end), updated_by_id=actor.id)).rowcount
        if n:
            done.append(row.user_id)
    if done:
        record(actor.id, "attendance.checkout_all", "task", task.id,
               after={"user_ids": done, "checkout_at": end}, community_id=task.community_id)
    return {"checked_out": len(done), "user_ids": done}


def _locked(task_id: int, user_id: int) -> Attendance | None:
    return db.session.scalar(select(Attendance).where(Attendance.task_id == task_id, Attendance.user_id == user_id)
                             .with_for_update().execution_options(populate_existing=True))


def _editable(task: Task, user_id: int) -> tuple[Attendance, dict]:
    """The claimer's attendance to edit, locked, made if missing, with its state before ({} if new).

    Locked (PostgreSQL) before it is judged: a confirmation committing meanwhile is seen (awarded,
    409), never overwritten with minutes that the points no longer match. A scan inserting the row
    between our read and our insert is not a 500: that row is edited instead."""
    row = _locked(task.id, user_id)
    if row is None:
        claim = active_claim(task.id, user_id)
        if claim is None:
            raise NotClaimed("该用户未认领此任务")
        try:
            with savepoint(db.session):
                row = Attendance(task_id=task.id, user_id=user_id, community_id=task.community_id, claim_id=claim.id)
                db.session.add(row)
            return row, {}
        except IntegrityError:
            row = _locked(task.id, user_id)
    if row.awarded_at is not None:
        raise InvalidState("已确认积分的出勤不能修改")
    return row, _snapshot(row)


def issue_task_code(actor: User, task_id: int, action: str, now: datetime | None = None) -> dict:
    """A fresh check-in/out code for a task (staff of its community): {code, expires_at, refresh_after, ...}."""
    from backend.attendance.services import issue_code

    task = task_for_staff(actor, task_id)
    if task.status == TASK_CANCELLED:
        raise TaskClosed("任务已取消")
    return {"task_id": task.id, "action": action, **issue_code("T", task.id, action, now)}


def _item(task: Task, user_id: int) -> dict:
    return roster(task, [user_id])[0]


def mark_absent(actor: User, task_id: int, user_id: int) -> dict:
    """Mark a claimer absent: no minutes, no points (scan times stay as evidence); the roster item."""
    task = task_for_staff(actor, task_id)
    row, before = _editable(task, user_id)
    row.status, row.source, row.minutes, row.manual_reason = ABSENT, SOURCE_SCAN, 0, None
    row.updated_by_id = actor.id
    db.session.flush()
    record(actor.id, "attendance.absent", "attendance", row.id, before=before, after=_snapshot(row),
           community_id=task.community_id)
    return _item(task, user_id)


def enter_manual(actor: User, task_id: int, user_id: int, minutes: int, reason: str) -> dict:
    """Staff enter minutes by hand (荣誉 minutes, source manual) with a reason and an audit row; the roster item."""
    from backend.attendance.services import settings

    task = task_for_staff(actor, task_id)
    # a stand-in for scans, so not before a scan could check in: confirming would award a task not yet held
    if utcnow() < task.starts_at - timedelta(minutes=settings().early_min):
        raise TaskClosed("任务尚未开始，不能补录时长")
    # called off before it began, nobody served (scans count no minutes before the start either)
    if task.status == TASK_CANCELLED and task.cancelled_at is not None and task.cancelled_at <= task.starts_at:
        raise TaskClosed("任务开始前已取消，不能补录时长")
    row, before = _editable(task, user_id)
    row.status, row.source, row.minutes, row.manual_reason = CHECKED_OUT, SOURCE_MANUAL, minutes, reason
    row.updated_by_id = actor.id
    db.session.flush()
    record(actor.id, "attendance.manual", "attendance", row.id, before=before, after=_snapshot(row),
           community_id=task.community_id)
    return _item(task, user_id)


def confirm(actor: User, task_id: int, now: datetime | None = None) -> dict:
    """Award every finished, not yet awarded attendance of the task once: {"awarded", "points", "confirmed"}.

    The task row is locked (PostgreSQL) and the attendances are claimed by one conditional,
    set-based UPDATE of awarded_at (RETURNING what was claimed), so two staff pressing at once
    award each attendance exactly once. Points go through the time bank's award() in one call;
    zero-point attendances are marked, not posted."""
    task = db.session.execute(select(Task).where(Task.id == task_id).with_for_update()).scalar_one_or_none()
    if task is None:
        raise NotFound("任务不存在")
    policy.require_staff(actor, task.community_id)
    now = now or utcnow()
    a = Attendance.__table__
    points = case((a.c.minutes > 0, a.c.minutes * task.points_per_hour // 60), else_=0)
    claimed = sorted(tuple(r) for r in db.session.execute(
        update(a).where(a.c.task_id == task.id, a.c.status == CHECKED_OUT, a.c.awarded_at.is_(None))
        .values(awarded_at=now, points=points)
        .returning(a.c.id, a.c.user_id, a.c.source, a.c.minutes, a.c.points)).all())
    _expire_loaded(Attendance, {r[0] for r in claimed})  # the ORM's copies (if any) are stale now
    # plain tuples and the memo's fixed parts made once: a task's confirmation claims thousands
    memo_head = {SOURCE_MANUAL: f"荣誉：{task.title}（"}
    other_head = f"志愿服务：{task.title}（"
    entries = [{"user_id": uid, "amount": pts, "ref_type": "attendance", "ref_id": aid,
                "memo": f"{memo_head.get(source, other_head)}{minutes}分钟）"}
               for aid, uid, source, minutes, pts in claimed if pts > 0]
    awarded, total, deferred = 0, 0, set()
    if entries:
        from backend.timebank.earn import post_earnings

        new, earlier = post_earnings(db.session, community_id=task.community_id, entries=entries, actor_id=actor.id)
        awarded, total = len(new), sum(new.values())
        deferred = _settle(entries, {**earlier, **new})
    if claimed:
        record(actor.id, "task.confirm_attendance", "task", task.id,
               after={"attendance_ids": [r[0] for r in claimed if r[0] not in deferred], "awarded": awarded,
                      "points": total, "deferred_ids": sorted(deferred)},
               community_id=task.community_id)
    return {"awarded": awarded, "points": total, "confirmed": len(claimed) - len(deferred)}


def _expire_loaded(cls, ids: set[int]) -> None:
    """Expire the session's copies of these rows of `cls`, if loaded: a walk over the (small)
    identity map rather than one lookup per id (a task's confirmation claims thousands)."""
    imap = db.session.identity_map
    for key in [k for k in imap.keys() if k[0] is cls and k[1][0] in ids]:
        obj = imap.get(key)
        if obj is not None:
            db.session.expire(obj)


def _settle(entries: list[dict], earned: dict[tuple, int]) -> set[int]:
    """Make the attendances say what the time bank really posted when it posted less than asked
    (the community's daily cap, a closed wallet): points become the amount earned, and one that
    got nothing because of the cap is unconfirmed again, for a later confirmation to post.
    Returns the ids unconfirmed. Nothing to do when everything was posted."""
    posted = {e["ref_id"]: earned[("attendance", e["ref_id"])] for e in entries if ("attendance", e["ref_id"]) in earned}
    if all(posted.get(e["ref_id"]) == e["amount"] for e in entries):
        return set()
    from backend.timebank.models import Account

    closed = set(db.session.scalars(select(Account.user_id).where(
        Account.user_id.in_([e["user_id"] for e in entries]), Account.closed_at.is_not(None))))
    retry = {e["ref_id"] for e in entries if e["ref_id"] not in posted and e["user_id"] not in closed}
    short = [{"aid": e["ref_id"], "p": posted.get(e["ref_id"], 0)} for e in entries
             if e["ref_id"] not in retry and posted.get(e["ref_id"], 0) != e["amount"]]
    a = Attendance.__table__
    if retry:
        db.session.execute(update(a).where(a.c.id.in_(retry)).values(awarded_at=None, points=0))
    if short:
        db.session.execute(update(a).where(a.c.id == bindparam("aid")).values(points=bindparam("p")), short)
    return retry
