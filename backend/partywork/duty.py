"""Duty posts (设岗定责): define posts, fill seats, keep the history, log and confirm duty work.

Seats stay exact under concurrency: approving or appointing locks the post row (FOR UPDATE on
PostgreSQL; SQLite serialises writers) before counting active holders."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backend.audit.services import record
from backend.auth import policy
from backend.auth.models import User
from backend.auth.services import REPEAT_WINDOW, lock_person
from backend.db import savepoint, utcnow
from backend.errors import Forbidden, InvalidState, NotFound, ValidationFailed
from backend.extensions import db
from backend.orgs.models import Grid
from backend.partywork import common
from backend.partywork.common import AlreadyHolding, NotHolder, PostFull
from backend.partywork.models_duty import (
    HOLDER_ACTIVE, HOLDER_ENDED, HOLDER_PENDING, HOLDER_REJECTED, LOG_CONFIRMED, LOG_PENDING,
    DutyHolder, DutyLog, DutyPost,
)

LIVE = (HOLDER_PENDING, HOLDER_ACTIVE)
MAX_SEATS = 1000


def get_post(post_id: int, lock: bool = False) -> DutyPost:
    post = db.session.get(DutyPost, post_id, with_for_update=lock or None)
    if post is None:
        raise NotFound("岗位不存在")
    return post


def create_post(actor: User, community_id: int, *, name: str, duties: str = "", seats: int,
                grid_id: int | None = None, building: str | None = None,
                points_per_month: int | None = None) -> DutyPost:
    """Staff define a standing post in their community."""
    policy.require_staff(actor, community_id)
    details = {}
    if not name or not name.strip():
        details["name"] = ["请填写岗位名称"]
    if not (1 <= seats <= MAX_SEATS):
        details["seats"] = [f"名额应在 1 到 {MAX_SEATS} 之间"]
    if points_per_month is not None and points_per_month < 0:
        details["points_per_month"] = ["每月积分不能为负"]
    if grid_id is not None:
        grid = db.session.get(Grid, grid_id)
        if grid is None or grid.community_id != community_id:
            details["grid_id"] = ["网格不属于该社区"]
    if details:
        raise ValidationFailed(details=details)
    post = DutyPost(community_id=community_id, name=name.strip(), duties=duties or "", seats=seats,
                    grid_id=grid_id, building=(building or "").strip() or None,
                    points_per_month=points_per_month or 0, created_by_id=actor.id)
    db.session.add(post)
    db.session.flush()
    record(actor.id, "duty_post.create", "duty_post", post.id,
           after={"name": post.name, "seats": seats, "points_per_month": post.points_per_month},
           community_id=community_id)
    return post


def active_count(post_id: int) -> int:
    return db.session.scalar(select(func.count(DutyHolder.id)).where(
        DutyHolder.post_id == post_id, DutyHolder.status == HOLDER_ACTIVE))


def list_posts(community_id: int) -> list[DutyPost]:
    """The community's posts (anyone may read them: members apply from this list)."""
    policy.community(community_id)
    return list(db.session.scalars(select(DutyPost).where(DutyPost.community_id == community_id)
                                   .order_by(DutyPost.id)))


def holders_of(post_ids: list[int], statuses=(HOLDER_ACTIVE,)) -> dict[int, list[DutyHolder]]:
    """Holder rows per post, oldest first."""
    out: dict[int, list[DutyHolder]] = {pid: [] for pid in post_ids}
    if post_ids:
        for h in db.session.scalars(select(DutyHolder).where(
                DutyHolder.post_id.in_(post_ids), DutyHolder.status.in_(statuses)).order_by(DutyHolder.id)):
            out[h.post_id].append(h)
    return out


def _live(post_id: int, user_id: int, lock: bool = False) -> DutyHolder | None:
    q = select(DutyHolder).where(
        DutyHolder.post_id == post_id, DutyHolder.user_id == user_id, DutyHolder.status.in_(LIVE))
    return db.session.scalar(q.with_for_update() if lock else q)


def _take_seat(post: DutyPost) -> None:
    if active_count(post.id) >= post.seats:
        raise PostFull()


def _add_holder(holder: DutyHolder) -> DutyHolder:
    try:
        with savepoint(db.session):  # added inside: begin_nested() flushes what is pending first
            db.session.add(holder)
            db.session.flush()
    except IntegrityError:  # a concurrent request made the live row first
        raise AlreadyHolding()
    return holder


def apply_or_appoint(actor: User, post_id: int, user_id: int | None = None) -> DutyHolder:
    """Without user_id a member of the post's community applies (pending); with it, staff
    appoint that member (active at once, if a seat is free)."""
    post = get_post(post_id)
    now = utcnow()
    if user_id is None or user_id == actor.id and not policy.has_role(actor, "staff", community_id=post.community_id):
        if not common.is_member(actor.id, post.community_id):
            raise Forbidden("仅本社区已报到的党员可申请岗位")
        if _live(post.id, actor.id):
            raise AlreadyHolding()
        return _add_holder(DutyHolder(post_id=post.id, user_id=actor.id, status=HOLDER_PENDING, applied_at=now))
    policy.require_staff(actor, post.community_id)
    if not common.is_member(user_id, post.community_id):
        raise ValidationFailed(details={"user_id": ["该用户不是本社区已报到的党员"]})
    post = get_post(post_id, lock=True)
    if _live(post.id, user_id):
        raise AlreadyHolding("该党员已申请或担任该岗位")
    _take_seat(post)
    holder = _add_holder(DutyHolder(post_id=post.id, user_id=user_id, status=HOLDER_ACTIVE, appointed=True,
                                    applied_at=now, decided_by_id=actor.id, decided_at=now, started_at=now))
    record(actor.id, "duty_post.appoint", "duty_post", post.id, after={"user_id": user_id, "status": HOLDER_ACTIVE},
           community_id=post.community_id)
    return holder


def decide(actor: User, post_id: int, user_id: int, approve: bool) -> DutyHolder:
    """Staff approve (if a seat is free) or refuse a pending application."""
    post = get_post(post_id)
    policy.require_staff(actor, post.community_id)
    post = get_post(post_id, lock=True)
    holder = _live(post.id, user_id, lock=True)  # a withdrawal at the same time must not be overwritten
    if holder is None:
        raise NotFound("没有该党员的申请")
    if holder.status != HOLDER_PENDING:
        raise InvalidState("该申请已处理")
    if approve:
        _take_seat(post)
    now = utcnow()
    holder.status = HOLDER_ACTIVE if approve else HOLDER_REJECTED
    holder.decided_by_id, holder.decided_at = actor.id, now
    if approve:
        holder.started_at = now
    db.session.flush()
    record(actor.id, "duty_post." + ("approve" if approve else "reject"), "duty_post", post.id,
           before={"user_id": user_id, "status": HOLDER_PENDING},
           after={"user_id": user_id, "status": holder.status}, community_id=post.community_id)
    return holder


def step_down(actor: User, post_id: int) -> DutyHolder:
    """The holder steps down (or an applicant withdraws); the row stays as history."""
    post = get_post(post_id)
    holder = _live(post.id, actor.id)
    if holder is None:
        raise NotFound("您未申请或担任该岗位")
    holder.status, holder.ended_at = HOLDER_ENDED, utcnow()
    db.session.flush()
    return holder


def history(actor: User, post_id: int) -> list[DutyHolder]:
    """Everyone who applied for or held the post, with dates (staff of the community)."""
    post = get_post(post_id)
    policy.require_staff(actor, post.community_id)
    return list(db.session.scalars(select(DutyHolder).where(DutyHolder.post_id == post.id)
                                   .order_by(DutyHolder.id)))


def my_posts(user: User) -> list[DutyHolder]:
    """The caller's live holder rows (pending and active) and ended ones, newest first."""
    return list(db.session.scalars(select(DutyHolder).where(DutyHolder.user_id == user.id)
                                   .order_by(DutyHolder.id.desc())))


def add_log(actor: User, post_id: int, *, date_: date, minutes: int, note: str = "") -> DutyLog:
    """An active holder logs a day's duty work (not in the future, not before applying or appointment).
    The same log sent again while it waits (within REPEAT_WINDOW) is returned, not logged twice."""
    post = get_post(post_id)
    holder = db.session.scalar(select(DutyHolder).where(
        DutyHolder.post_id == post.id, DutyHolder.user_id == actor.id, DutyHolder.status == HOLDER_ACTIVE))
    if holder is None or not common.is_member(actor.id, post.community_id):  # moved to another community
        raise NotHolder()
    common.check_minutes(minutes)
    today = common.local_date(utcnow())
    if date_ > today:
        raise ValidationFailed(details={"date": ["日期不能晚于今天"]})
    if date_ < common.local_date(holder.applied_at):
        raise ValidationFailed(details={"date": ["日期早于申请或任命岗位的日期"]})
    lock_person(actor.id)  # a repeat sent at the same moment waits, then finds this one
    same = db.session.scalar(select(DutyLog).where(
        DutyLog.post_id == post.id, DutyLog.user_id == actor.id, DutyLog.date == date_, DutyLog.minutes == minutes,
        DutyLog.note == (note or "").strip(), DutyLog.status == LOG_PENDING,
        DutyLog.created_at > utcnow() - REPEAT_WINDOW).order_by(DutyLog.id.desc()).limit(1))
    if same is not None:
        return same
    log = DutyLog(post_id=post.id, holder_id=holder.id, user_id=actor.id, community_id=post.community_id,
                  date=date_, minutes=minutes, note=(note or "").strip(), status=LOG_PENDING)
    db.session.add(log)
    db.session.flush()
    return log


def community_logs(actor: User, community_id: int, status: str | None = None):
    """A select() of the community's duty logs (staff), for paging."""
    policy.require_staff(actor, community_id)
    q = select(DutyLog).where(DutyLog.community_id == community_id)
    return q.where(DutyLog.status == status) if status else q


def _month_points(post_id: int, user_id: int, d: date) -> int:
    first, nxt = common.month_bounds(d)
    return db.session.scalar(select(func.coalesce(func.sum(DutyLog.points), 0)).where(
        DutyLog.post_id == post_id, DutyLog.user_id == user_id, DutyLog.status == LOG_CONFIRMED,
        DutyLog.date >= first, DutyLog.date < nxt))


def confirm_logs(actor: User, community_id: int, log_ids: list[int]) -> dict:
    """Staff confirm pending logs of their community; each earns points once (ref duty_log).

    Already confirmed logs are skipped, so confirming twice awards once."""
    policy.require_staff(actor, community_id)
    ids = sorted(set(log_ids))
    logs = list(db.session.scalars(select(DutyLog).where(DutyLog.id.in_(ids)).order_by(DutyLog.id)
                                   .with_for_update()))
    bad = sorted(set(ids) - {log.id for log in logs if log.community_id == community_id})
    if bad:
        raise ValidationFailed(details={"log_ids": [f"不属于本社区或不存在：{bad}"]})
    # lock the posts too: a holder's monthly cap is read from logs other requests may be confirming
    posts = {p.id: p for p in db.session.scalars(select(DutyPost).where(
        DutyPost.id.in_({log.post_id for log in logs if log.status == LOG_PENDING})).order_by(DutyPost.id)
        .with_for_update())}
    now, entries, confirmed = utcnow(), [], 0
    for log in logs:
        if log.status != LOG_PENDING:
            continue
        post = posts[log.post_id]
        cap = post.points_per_month or 0
        points = max(0, min(common.honor_points(log.minutes), cap - _month_points(post.id, log.user_id, log.date)))
        log.status, log.points, log.confirmed_by_id, log.confirmed_at = LOG_CONFIRMED, points, actor.id, now
        db.session.flush()  # the next log of the same month sees this one's points
        confirmed += 1
        entries.append({"user_id": log.user_id, "amount": points, "ref_type": "duty_log", "ref_id": log.id,
                        "memo": f"岗位值守：{post.name} {log.date.isoformat()} {log.minutes}分钟"})
    posted, total = common.award(community_id, entries, actor.id)
    for log in logs:
        if log.id in posted:
            log.points = posted[log.id]  # the community's daily cap may have posted less
    if confirmed:
        record(actor.id, "duty_log.confirm", "duty_log", None,
               after={"log_ids": [e["ref_id"] for e in entries], "points": total}, community_id=community_id)
    return {"awarded": confirmed, "points": total}
