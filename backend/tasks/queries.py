"""Reading tasks: filters, keyset paging by start time, and skill-based recommendations."""
from __future__ import annotations

import base64
import json
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Select, and_, cast, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB

from backend.clock import TZ
from backend.db import utcnow
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.tasks.models import CLAIM_ACTIVE, TASK_CANCELLED, Task, TaskClaim

STATUSES = ("open", "ended", "cancelled", "all")
RECOMMEND_POOL = 500  # open tasks considered for one recommendation list


def skills_of(user_id: int) -> list[str]:
    """The member's declared skills (from the reports domain); [] when unavailable."""
    try:
        from backend.reports.services import skills_of as reported_skills
    except ImportError:
        return []
    return list(reported_skills(user_id) or [])


def has_skill(skill: str):
    """A WHERE clause: the task wants `skill` (JSON list containment, per dialect)."""
    if db.engine.dialect.name == "postgresql":
        return cast(Task.skills, JSONB).contains([skill])
    each = func.json_each(Task.skills).table_valued("value")
    return select(each.c.value).where(each.c.value == skill).exists()


def _local_day(d: date) -> tuple[datetime, datetime]:
    start = datetime.combine(d, time(), TZ).astimezone(timezone.utc)
    return start, start + timedelta(days=1)


def filtered(*, community_id: int | None = None, status: str = "open", skill: str | None = None,
             on: date | None = None, now: datetime | None = None) -> Select:
    """Tasks matching the filters; open = not cancelled and not yet ended."""
    now = now or utcnow()
    q = select(Task)
    if community_id is not None:
        q = q.where(Task.community_id == community_id)
    if status == "open":
        q = q.where(Task.status != TASK_CANCELLED, Task.ends_at > now)
    elif status == "ended":
        q = q.where(Task.status != TASK_CANCELLED, Task.ends_at <= now)
    elif status == "cancelled":
        q = q.where(Task.status == TASK_CANCELLED)
    if skill:
        q = q.where(has_skill(skill))
    if on is not None:
        start, end = _local_day(on)
        q = q.where(Task.starts_at < end, Task.ends_at > start)
    return q


def _encode(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _decode(cursor: str):
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise ValidationFailed(details={"cursor": ["无效的分页游标"]})


def _utc(text: str) -> datetime:
    """A cursor's time, which must carry its offset; a tampered year 1 or 9999 overflows here
    (OverflowError), not in the query."""
    ts = datetime.fromisoformat(text)
    if ts.tzinfo is None:
        raise ValueError
    return ts.astimezone(timezone.utc)


def _cursor_key(cursor: str, read):
    """read(the decoded cursor): the sort key it names; 422 for anything that is not one of ours."""
    try:
        return read(_decode(cursor))
    except (TypeError, ValueError, IndexError, KeyError, OverflowError):
        raise ValidationFailed(details={"cursor": ["无效的分页游标"]})


def by_start(q: Select, limit: int, cursor: str | None, latest_first: bool = False) -> dict:
    """Keyset paging on (starts_at, id), soonest first (or latest first)."""
    if cursor:
        ts, last_id = _cursor_key(cursor, lambda last: (_utc(last[0]), int(last[1])))
        if latest_first:
            q = q.where(or_(Task.starts_at < ts, and_(Task.starts_at == ts, Task.id < last_id)))
        else:
            q = q.where(or_(Task.starts_at > ts, and_(Task.starts_at == ts, Task.id > last_id)))
    order = (Task.starts_at.desc(), Task.id.desc()) if latest_first else (Task.starts_at, Task.id)
    rows = list(db.session.scalars(q.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = _encode([rows[-1].starts_at.isoformat(), rows[-1].id]) if more and rows else None
    return {"items": rows, "next_cursor": nxt}


def match_count(task_skills: list[str], user_skills: set[str]) -> int:
    return len({s.strip().lower() for s in task_skills or []} & user_skills)


def recommended(user_id: int, q: Select, limit: int, cursor: str | None) -> dict:
    """Tasks by how many of their wanted skills the user has, then soonest first.
    Keyset paging on (match, starts_at, id): a task added or gone between pages shifts nothing."""
    after = _cursor_key(cursor, lambda last: (-int(last["m"]), _utc(last["s"]), int(last["i"]))) if cursor else None
    mine = {s.strip().lower() for s in skills_of(user_id) if isinstance(s, str) and s.strip()}
    pool = list(db.session.scalars(q.order_by(Task.starts_at, Task.id).limit(RECOMMEND_POOL)))
    for t in pool:
        t.skill_match = match_count(t.skills, mine)

    def key(t):
        return -t.skill_match, t.starts_at, t.id

    pool = sorted((t for t in pool if after is None or key(t) > after), key=key)
    page = pool[:limit]
    nxt = None
    if len(pool) > limit:
        t = page[-1]
        nxt = _encode({"m": t.skill_match, "s": t.starts_at.isoformat(), "i": t.id})
    return {"items": page, "next_cursor": nxt}


def list_tasks(user_id: int, *, community_id=None, status="open", skill=None, on=None,
               recommended_only=False, limit=20, cursor=None) -> dict:
    """The task list the mini-program shows: {"items", "next_cursor"}, my_claim attached."""
    if recommended_only:
        # only tasks one can still claim: a started task is closed to claims (TASK_CLOSED)
        claimable = filtered(community_id=community_id, status="open", skill=skill, on=on).where(
            Task.starts_at > utcnow())
        page = recommended(user_id, claimable, limit, cursor)
    else:
        page = by_start(filtered(community_id=community_id, status=status, skill=skill, on=on), limit, cursor)
    attach_my_claims(page["items"], user_id)
    return page


def my_tasks(user_id: int, status: str = "open", limit: int = 20, cursor: str | None = None) -> dict:
    """The tasks the user claimed (and still holds) or attended, with my_claim and my_attendance:
    open ones soonest first, otherwise the latest first."""
    from backend.attendance.models import Attendance

    mine = or_(Task.id.in_(select(TaskClaim.task_id).where(TaskClaim.user_id == user_id,
                                                           TaskClaim.status == CLAIM_ACTIVE)),
               Task.id.in_(select(Attendance.task_id).where(Attendance.user_id == user_id)))
    page = by_start(filtered(status=status).where(mine), limit, cursor, latest_first=status != "open")
    attach_my_claims(page["items"], user_id)
    tasks = page["items"]
    found = {a.task_id: a for a in db.session.scalars(select(Attendance).where(
        Attendance.user_id == user_id, Attendance.task_id.in_([t.id for t in tasks])))} if tasks else {}
    for t in tasks:
        t.my_attendance = found.get(t.id)
    return page


def community_tasks(community_id: int, status: str = "all") -> Select:
    """Every task of a community (for its staff), to be paged newest first."""
    return filtered(community_id=community_id, status=status)


def attach_my_claims(tasks: list[Task], user_id: int) -> list[Task]:
    """Set task.my_claim to the user's active claim (or None) on each task, in one query."""
    ids = [t.id for t in tasks]
    claims = {}
    if ids:
        claims = {c.task_id: c for c in db.session.scalars(select(TaskClaim).where(
            TaskClaim.task_id.in_(ids), TaskClaim.user_id == user_id, TaskClaim.status == CLAIM_ACTIVE))}
    for t in tasks:
        t.my_claim = claims.get(t.id)
    return tasks


def claims_of(task_id: int) -> list[dict]:
    """Active claims on a task with the claimer's name, oldest first."""
    from backend.auth.models import User

    rows = db.session.execute(select(TaskClaim, User.name, User.nickname).join(User, User.id == TaskClaim.user_id)
                              .where(TaskClaim.task_id == task_id, TaskClaim.status == CLAIM_ACTIVE)
                              .order_by(TaskClaim.id)).all()
    return [{"id": c.id, "task_id": c.task_id, "user_id": c.user_id, "status": c.status, "created_at": c.created_at,
             "cancelled_at": c.cancelled_at, "name": name or nickname} for c, name, nickname in rows]
