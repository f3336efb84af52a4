"""Reading wishes: who may see which, lists and history."""
from __future__ import annotations

from sqlalchemy import Select, or_, select

from backend.auth import policy
from backend.auth.models import User
from backend.auth.services import display_names
from backend.errors import Forbidden, NotFound
from backend.extensions import db
from backend.wishes.models import APPROVED, CLAIMED, DONE, RATED, Wish, WishEvent

PUBLIC = (APPROVED, CLAIMED, DONE, RATED)  # what every logged-in user may see


def is_reader(user: User, community_id: int) -> bool:
    """Staff of the community, its street_admin, or admin: see every wish there."""
    try:
        policy.require_community_reader(user, community_id)
    except Forbidden:
        return False
    return True


def get_wish(actor: User, wish_id: int) -> Wish:
    """One wish, if the actor may see it (public states, own, claimed, or staff)."""
    wish = db.session.get(Wish, wish_id)
    if wish is None:
        raise NotFound("心愿不存在")
    if wish.status in PUBLIC or actor.id in (wish.user_id, wish.claimer_id) or is_reader(actor, wish.community_id):
        return wish
    raise Forbidden("无权查看该心愿")


def _theirs(actor: User):
    """The condition: the actor posted or claimed the wish."""
    return or_(Wish.user_id == actor.id, Wish.claimer_id == actor.id)


def community_wishes(actor: User, community_id: int, status: str | None = None, mine: bool = False) -> Select:
    """A community's wishes: approved and later for everyone, all for its staff, plus the actor's own."""
    policy.community(community_id)
    q = select(Wish).where(Wish.community_id == community_id)
    if mine:
        q = q.where(_theirs(actor))
    elif not is_reader(actor, community_id):
        q = q.where(or_(Wish.status.in_(PUBLIC), _theirs(actor)))
    return q.where(Wish.status == status) if status else q


def my_wishes(actor: User, status: str | None = None) -> Select:
    """The wishes the actor posted or claimed, in every community (their own page)."""
    q = select(Wish).where(_theirs(actor))
    return q.where(Wish.status == status) if status else q


def events_of(wish_id: int) -> list[WishEvent]:
    """The wish's history, oldest first."""
    return list(db.session.scalars(select(WishEvent).where(WishEvent.wish_id == wish_id).order_by(WishEvent.id)))


def with_names(wishes: list[Wish], events: bool = False) -> list[Wish]:
    """Set resident_name / claimer_name (and the history when asked) on each wish for output."""
    names = display_names([w.user_id for w in wishes] + [w.claimer_id for w in wishes])
    for w in wishes:
        w.resident_name = names.get(w.user_id)
        w.claimer_name = names.get(w.claimer_id)
        if events:
            w.events = events_of(w.id)
    return wishes
