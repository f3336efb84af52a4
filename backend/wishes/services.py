"""The 微心愿 state machine: one transition table, every change recorded as a WishEvent.

Each transition is a conditional UPDATE on the status the caller saw, so two people acting at
once (two members claiming, the resident completing while the claimer cancels) cannot both win.
"""
from __future__ import annotations

from sqlalchemy import select, update

from backend.audit.services import record
from backend.auth import policy
from backend.auth.models import User
from backend.auth.services import REPEAT_WINDOW, lock_person
from backend.db import utcnow
from backend.errors import Forbidden, InvalidState, NotFound, ValidationFailed
from backend.extensions import db
from backend.notifications.services import notify
from backend.wishes.models import (APPROVED, CANCELLED, CLAIMED, DONE, PENDING, RATED, REJECTED, TYPES, Wish,
                                   WishEvent)


# action: (states it may start from, state it leads to, timestamp column it sets)
TRANSITIONS: dict[str, tuple[frozenset[str], str, str]] = {
    "approve": (frozenset({PENDING}), APPROVED, "decided_at"),
    "reject": (frozenset({PENDING}), REJECTED, "decided_at"),
    "claim": (frozenset({APPROVED}), CLAIMED, "claimed_at"),
    "complete": (frozenset({CLAIMED}), DONE, "completed_at"),
    "cancel": (frozenset({PENDING, APPROVED, CLAIMED}), CANCELLED, "cancelled_at"),
    "rate": (frozenset({DONE}), RATED, "rated_at"),
}


def allowed(status: str) -> list[str]:
    """Actions the table allows from a status (for clients to show the right buttons)."""
    return [a for a, (sources, _, _) in TRANSITIONS.items() if status in sources]


def _wish(wish_id: int) -> Wish:
    wish = db.session.get(Wish, wish_id)
    if wish is None:
        raise NotFound("心愿不存在")
    return wish


def _transition(wish: Wish, action: str, actor: User, note: str | None = None, **values) -> Wish:
    """Move the wish along the table, or InvalidState; records the WishEvent."""
    sources, target, stamp = TRANSITIONS[action]
    seen = wish.status
    if seen not in sources:
        raise InvalidState(f"心愿当前状态为「{seen}」，不能执行此操作")
    now = utcnow()
    moved = db.session.execute(
        update(Wish).where(Wish.id == wish.id, Wish.status == seen)
        .values(status=target, updated_at=now, **{stamp: now}, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:  # someone else changed it first
        raise InvalidState("心愿状态已变化，请刷新后重试")
    db.session.add(WishEvent(wish_id=wish.id, from_status=seen, to_status=target, actor_id=actor.id, at=now,
                             note=note))
    db.session.flush()
    db.session.refresh(wish)
    return wish


def _is_staff(user: User, community_id: int) -> bool:
    return policy.is_admin(user) or policy.has_role(user, "staff", community_id=community_id)


def post_wish(actor: User, community_id: int, *, title: str, type: str, description: str = "") -> Wish:
    """A resident posts a wish in a community; it waits for staff approval. The same wish sent
    again while it waits (within REPEAT_WINDOW) is returned as it is, not posted twice."""
    policy.community(community_id)
    title = (title or "").strip()
    details = {}
    if not 1 <= len(title) <= 100:
        details["title"] = ["标题长度应为 1 到 100 个字符"]
    if type not in TYPES:
        details["type"] = ["类型应为：物质 或 精神"]
    if details:
        raise ValidationFailed(details=details)
    # the resident's row locked until commit: a repeat sent at the same moment waits, then finds this one
    lock_person(actor.id)
    repeat = db.session.scalar(select(Wish).where(
        Wish.user_id == actor.id, Wish.community_id == community_id, Wish.status == PENDING, Wish.title == title,
        Wish.type == type, Wish.description == (description or ""), Wish.created_at > utcnow() - REPEAT_WINDOW)
        .order_by(Wish.id.desc()).limit(1))
    if repeat is not None:
        return repeat
    wish = Wish(community_id=community_id, user_id=actor.id, title=title, description=description or "",
                type=type, status=PENDING)
    db.session.add(wish)
    db.session.flush()
    db.session.add(WishEvent(wish_id=wish.id, from_status=None, to_status=PENDING, actor_id=actor.id))
    db.session.flush()
    return wish


def decide_wish(actor: User, wish_id: int, approve: bool, reason: str | None = None) -> Wish:
    """Staff of the wish's community approve or reject it."""
    wish = _wish(wish_id)
    policy.require_staff(actor, wish.community_id)
    action = "approve" if approve else "reject"
    before = wish.status
    _transition(wish, action, actor, note=reason, decided_by_id=actor.id, decision_reason=reason)
    record(actor.id, f"wish.{action}", "wish", wish.id, before={"status": before},
           after={"status": wish.status, "reason": reason}, community_id=wish.community_id)
    return wish


def claim_wish(actor: User, wish_id: int) -> Wish:
    """A party member takes on an approved wish; only one can; the resident is notified."""
    wish = _wish(wish_id)
    policy.require_member(actor)
    if wish.user_id == actor.id:
        raise Forbidden("不能认领自己的心愿")
    _transition(wish, "claim", actor, claimer_id=actor.id)
    notify(wish.user_id, "wish_claimed", {"wish_id": wish.id, "title": wish.title,
                                          "claimer": actor.display_name},
           ref_type="wish", ref_id=wish.id)
    return wish


def complete_wish(actor: User, wish_id: int, note: str | None = None) -> Wish:
    """The resident who posted the wish confirms it was fulfilled."""
    wish = _wish(wish_id)
    if wish.user_id != actor.id:
        raise Forbidden("只有发布心愿的居民可以确认完成")
    return _transition(wish, "complete", actor, note=note)


def cancel_wish(actor: User, wish_id: int, reason: str | None = None) -> Wish:
    """The resident, the claimer, or staff of the community cancel a wish not yet fulfilled."""
    wish = _wish(wish_id)
    staff = _is_staff(actor, wish.community_id)
    if not (staff or actor.id == wish.user_id or (wish.claimer_id is not None and actor.id == wish.claimer_id)):
        raise Forbidden("只有心愿发布人、认领人或社区工作人员可以取消")
    before = wish.status
    _transition(wish, "cancel", actor, note=reason)
    if staff and actor.id not in (wish.user_id, wish.claimer_id):
        record(actor.id, "wish.cancel", "wish", wish.id, before={"status": before},
               after={"status": wish.status, "reason": reason}, community_id=wish.community_id)
    return wish


def rate_wish(actor: User, wish_id: int, rating: int, comment: str | None = None) -> Wish:
    """The resident rates a fulfilled wish (1..5)."""
    wish = _wish(wish_id)
    if wish.user_id != actor.id:
        raise Forbidden("只有发布心愿的居民可以评价")
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise ValidationFailed(details={"rating": ["评分应为 1 到 5"]})
    return _transition(wish, "rate", actor, note=comment, rating=rating, rating_comment=comment)
