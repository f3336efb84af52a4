"""党员联系家庭: register households, link members (at most HOUSEHOLD_LINK_LIMIT each), log and
confirm visits, and find households nobody has visited lately.

A household's phone and address are seen in full only by its linked members and the
community's staff; everyone else who may read it gets them masked (household_view)."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backend.attendance.geo import fence
from backend.audit.services import record
from backend.auth import policy
from backend.auth.models import User
from backend.auth.services import lock_person
from backend.db import savepoint, utcnow
from backend.errors import NotFound, ValidationFailed
from backend.extensions import db
from backend.orgs.models import Grid
from backend.partywork import common
from backend.partywork.common import LinkLimit, NotLinked
from backend.partywork.models_households import (
    LINK_ACTIVE, LINK_ENDED, VISIT_CONFIRMED, VISIT_PENDING, Household, HouseholdLink, Visit,
)

CLOCK_SKEW = timedelta(minutes=5)


def _setting(name: str, default: int) -> int:
    try:
        return int(current_app.config.get(name, default))
    except RuntimeError:  # no app context (plain service use)
        return default


def get_household(household_id: int) -> Household:
    h = db.session.get(Household, household_id)
    if h is None:
        raise NotFound("家庭不存在")
    return h


def clean_tags(tags) -> list[str]:
    return list(dict.fromkeys(str(t).strip() for t in tags or () if str(t).strip()))


def create_household(actor: User, community_id: int, *, address: str, head_name: str,
                     grid_id: int | None = None, building: str | None = None, phone: str | None = None,
                     tags=(), lat: float | None = None, lng: float | None = None) -> Household:
    """Staff register a household of their community."""
    policy.require_staff(actor, community_id)
    details = {}
    if not (address or "").strip():
        details["address"] = ["请填写地址"]
    if not (head_name or "").strip():
        details["head_name"] = ["请填写户主姓名"]
    if grid_id is not None:
        grid = db.session.get(Grid, grid_id)
        if grid is None or grid.community_id != community_id:
            details["grid_id"] = ["网格不属于该社区"]
    if details:
        raise ValidationFailed(details=details)
    common.check_coords(lat, lng)
    h = Household(community_id=community_id, address=address.strip(), grid_id=grid_id,
                  building=(building or "").strip() or None, head_name=head_name.strip(),
                  phone=(phone or "").strip() or None, tags=clean_tags(tags), lat=lat, lng=lng,
                  created_by_id=actor.id)
    db.session.add(h)
    db.session.flush()
    record(actor.id, "household.create", "household", h.id,
           after={"building": h.building, "tags": h.tags}, community_id=community_id)
    return h


def active_links(household_ids: list[int]) -> dict[int, list[HouseholdLink]]:
    out: dict[int, list[HouseholdLink]] = {hid: [] for hid in household_ids}
    if household_ids:
        for link in db.session.scalars(select(HouseholdLink).where(
                HouseholdLink.household_id.in_(household_ids), HouseholdLink.status == LINK_ACTIVE)
                .order_by(HouseholdLink.id)):
            out[link.household_id].append(link)
    return out


def _active_link(household_id: int, user_id: int) -> HouseholdLink | None:
    return db.session.scalar(select(HouseholdLink).where(
        HouseholdLink.household_id == household_id, HouseholdLink.user_id == user_id,
        HouseholdLink.status == LINK_ACTIVE))


def link(actor: User, household_id: int, user_id: int) -> HouseholdLink:
    """Staff link a member of the household's community; the same link again is returned as is.

    The member's user row is locked while counting, so two concurrent links cannot both pass
    the limit."""
    h = get_household(household_id)
    policy.require_staff(actor, h.community_id)
    if not common.is_member(user_id, h.community_id):
        raise ValidationFailed(details={"user_id": ["该党员不是本社区已报到的党员"]})
    existing = _active_link(h.id, user_id)
    if existing:
        return existing
    db.session.get(User, user_id, with_for_update=True, populate_existing=True)
    limit = _setting("HOUSEHOLD_LINK_LIMIT", 5)
    count = db.session.scalar(select(func.count(HouseholdLink.id)).where(
        HouseholdLink.user_id == user_id, HouseholdLink.status == LINK_ACTIVE))
    if count >= limit:
        raise LinkLimit(details={"limit": limit})
    row = HouseholdLink(household_id=h.id, user_id=user_id, community_id=h.community_id,
                        status=LINK_ACTIVE, created_by_id=actor.id)
    try:
        with savepoint(db.session):  # added inside: begin_nested() flushes what is pending first
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        return _active_link(h.id, user_id)
    record(actor.id, "household.link", "household", h.id, after={"user_id": user_id},
           community_id=h.community_id)
    return row


def unlink(actor: User, household_id: int, user_id: int) -> None:
    """Staff end a link (kept as history)."""
    h = get_household(household_id)
    policy.require_staff(actor, h.community_id)
    row = _active_link(h.id, user_id)
    if row is None:
        raise NotFound("该党员未联系该家庭")
    row.status, row.ended_at = LINK_ENDED, utcnow()
    db.session.flush()
    record(actor.id, "household.unlink", "household", h.id, before={"user_id": user_id},
           community_id=h.community_id)


def _linked(h: Household, user_id: int) -> bool:
    """An active link of someone still a member of the household's community. Moving to another
    community ends the links there (partywork.membership); this also holds for a link left
    active from before that, or a `member` grant revoked by other means."""
    return _active_link(h.id, user_id) is not None and common.is_member(user_id, h.community_id)


def may_see_private(user: User, h: Household) -> bool:
    """Only the community's staff and the household's linked members see phone and address."""
    return policy.has_role(user, "staff", community_id=h.community_id) or _linked(h, user.id)


def read_household(user: User, household_id: int) -> Household:
    """Staff and street_admin/admin of the community, or a linked member, may read it."""
    h = get_household(household_id)
    if not _linked(h, user.id):
        policy.require_community_reader(user, h.community_id)
    return h


def last_visits(household_ids: list[int]) -> dict[int, datetime]:
    if not household_ids:
        return {}
    return dict(db.session.execute(select(Visit.household_id, func.max(Visit.visited_at))
                                   .where(Visit.household_id.in_(household_ids))
                                   .group_by(Visit.household_id)).all())


def household_view(viewer: User, h: Household, links: list[HouseholdLink] | None = None,
                   last: datetime | None = None, visit_days: int | None = None) -> dict:
    """A JSON-ready household, masked unless the viewer may see private details."""
    private = may_see_private(viewer, h)
    links = active_links([h.id])[h.id] if links is None else links
    visit_days = visit_days or _setting("HOUSEHOLD_VISIT_DAYS", 30)
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_([l.user_id for l in links])))}
    return {
        "id": h.id, "community_id": h.community_id, "grid_id": h.grid_id, "building": h.building,
        "address": h.address if private else common.mask_address(h.address),
        "head_name": h.head_name, "phone": h.phone if private else common.mask_phone(h.phone),
        "tags": list(h.tags or []), "lat": h.lat if private else None, "lng": h.lng if private else None,
        "members": [{"user_id": l.user_id, "name": users[l.user_id].display_name,
                     "linked_at": l.created_at} for l in links],
        "last_visited_at": last,
        "overdue": last is None or last < utcnow() - timedelta(days=visit_days),
        "private": private,
    }


def community_households(actor: User, community_id: int, unvisited_days: int | None = None) -> list[dict]:
    """The community's households (staff; street_admin and admin see them masked); with
    unvisited_days only those not visited for that many days (or never)."""
    policy.require_community_reader(actor, community_id)
    rows = list(db.session.scalars(select(Household).where(Household.community_id == community_id)
                                   .order_by(Household.id)))
    ids = [h.id for h in rows]
    last, links = last_visits(ids), active_links(ids)
    cutoff = utcnow() - timedelta(days=unvisited_days) if unvisited_days is not None else None
    out = []
    for h in rows:
        lv = last.get(h.id)
        if cutoff is not None and lv is not None and lv >= cutoff:
            continue
        out.append(household_view(actor, h, links[h.id], lv))
    return out


def my_households(user: User) -> list[dict]:
    """The households the caller is linked to (in a community they are still a member of), in full."""
    linked = db.session.scalars(select(Household).join(HouseholdLink, HouseholdLink.household_id == Household.id)
                                .where(HouseholdLink.user_id == user.id, HouseholdLink.status == LINK_ACTIVE)
                                .order_by(Household.id)).all()
    rows = [h for h in linked if common.is_member(user.id, h.community_id)]
    ids = [h.id for h in rows]
    last, links = last_visits(ids), active_links(ids)
    return [household_view(user, h, links[h.id], last.get(h.id)) for h in rows]


def add_visit(actor: User, household_id: int, *, visited_at: datetime, minutes: int, note: str = "",
              lat: float | None = None, lng: float | None = None) -> Visit:
    """The linked member logs a visit; coordinates, when both sides have them, must be within
    CHECKIN_RADIUS_M of the household (422 OUT_OF_RANGE). A visit is its household, its member
    and its moment: the same one sent again (a double tap, a retry) is returned, not logged twice."""
    h = get_household(household_id)
    if not _linked(h, actor.id):
        raise NotLinked()
    common.check_minutes(minutes)
    common.check_coords(lat, lng)
    if visited_at > utcnow() + CLOCK_SKEW:
        raise ValidationFailed(details={"visited_at": ["走访时间不能晚于当前时间"]})
    distance = fence(h.lat, h.lng, lat, lng, _setting("CHECKIN_RADIUS_M", 500))
    lock_person(actor.id)  # a repeat sent at the same moment waits, then finds this one
    same = db.session.scalar(select(Visit).where(Visit.household_id == h.id, Visit.user_id == actor.id,
                                                 Visit.visited_at == visited_at))
    if same is not None:
        return same
    v = Visit(household_id=h.id, user_id=actor.id, community_id=h.community_id, visited_at=visited_at,
              minutes=minutes, note=(note or "").strip(), lat=lat, lng=lng, distance_m=distance,
              status=VISIT_PENDING)
    db.session.add(v)
    db.session.flush()
    return v


def household_visits(user: User, household_id: int) -> list[Visit]:
    """A household's visits, newest first (its readers)."""
    h = read_household(user, household_id)
    return list(db.session.scalars(select(Visit).where(Visit.household_id == h.id)
                                   .order_by(Visit.visited_at.desc(), Visit.id.desc())))


def community_visits(actor: User, community_id: int, status: str | None = None):
    """A select() of the community's visits (staff), for paging; ?status=pending to confirm."""
    policy.require_staff(actor, community_id)
    q = select(Visit).where(Visit.community_id == community_id)
    return q.where(Visit.status == status) if status else q


def confirm_visits(actor: User, community_id: int, visit_ids: list[int]) -> dict:
    """Staff confirm pending visits; each earns points once (ref visit); repeats are skipped."""
    policy.require_staff(actor, community_id)
    ids = sorted(set(visit_ids))
    visits = list(db.session.scalars(select(Visit).where(Visit.id.in_(ids)).order_by(Visit.id)
                                     .with_for_update()))
    bad = sorted(set(ids) - {v.id for v in visits if v.community_id == community_id})
    if bad:
        raise ValidationFailed(details={"visit_ids": [f"不属于本社区或不存在：{bad}"]})
    now, entries = utcnow(), []
    for v in visits:
        if v.status != VISIT_PENDING:
            continue
        v.status, v.points, v.confirmed_by_id, v.confirmed_at = VISIT_CONFIRMED, common.honor_points(v.minutes), actor.id, now
        entries.append({"user_id": v.user_id, "amount": v.points, "ref_type": "visit", "ref_id": v.id,
                        "memo": f"走访联系家庭 {v.minutes}分钟"})
    db.session.flush()
    posted, total = common.award(community_id, entries, actor.id)
    for v in visits:
        if v.id in posted:
            v.points = posted[v.id]  # the community's daily cap may have posted less
    if entries:
        record(actor.id, "visit.confirm", "visit", None,
               after={"visit_ids": [e["ref_id"] for e in entries], "points": total}, community_id=community_id)
    return {"awarded": len(entries), "points": total}
