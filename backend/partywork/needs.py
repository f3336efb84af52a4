"""共驻共建: community needs, units' pledges, state changes with who and when, and match lists.

A need goes 待认领 → 已认领 (the first pledge) → 已完成 (staff confirm); every change is a
NeedEvent row and an audit row. Only units with an approved report to the community pledge."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from backend.audit.services import record
from backend.auth import policy
from backend.auth.models import User
from backend.db import utcnow
from backend.errors import Forbidden, InvalidState, NotFound, ValidationFailed
from backend.extensions import db
from backend.orgs.models import Community, Unit
from backend.partywork.common import AlreadyPledged
from backend.partywork.matching import score
from backend.partywork.models_misc import (
    NEED_DONE, NEED_OPEN, NEED_PLEDGED, CommunityNeed, NeedEvent, NeedPledge,
)
from backend.reports.models import APPROVED, UnitReport
from backend.reports.units import unit_reported_to


def get_need(need_id: int, lock: bool = False) -> CommunityNeed:
    need = db.session.get(CommunityNeed, need_id, with_for_update=lock or None)
    if need is None:
        raise NotFound("需求不存在")
    return need


def _move(need: CommunityNeed, to: str, actor: User | None, unit_id: int | None = None) -> None:
    db.session.add(NeedEvent(need_id=need.id, from_status=need.status if need.id else None, to_status=to,
                             actor_id=actor.id if actor else None, unit_id=unit_id, at=utcnow()))
    need.status = to


def create_need(actor: User, community_id: int, *, title: str, category: str = "", description: str = "") -> CommunityNeed:
    """Staff publish a need of their community (待认领)."""
    policy.require_staff(actor, community_id)
    if not (title or "").strip():
        raise ValidationFailed(details={"title": ["请填写需求标题"]})
    need = CommunityNeed(community_id=community_id, title=title.strip(), category=(category or "").strip(),
                         description=(description or "").strip(), status=NEED_OPEN, created_by_id=actor.id)
    db.session.add(need)
    db.session.flush()
    db.session.add(NeedEvent(need_id=need.id, from_status=None, to_status=NEED_OPEN, actor_id=actor.id))
    db.session.flush()
    record(actor.id, "need.create", "need", need.id, after={"title": need.title, "category": need.category},
           community_id=community_id)
    return need


def community_needs(community_id: int, status: str | None = None):
    """A select() of a community's needs (anyone may read them), for paging."""
    policy.community(community_id)
    q = select(CommunityNeed).where(CommunityNeed.community_id == community_id)
    return q.where(CommunityNeed.status == status) if status else q


def pledge(actor: User, need_id: int, *, unit_id: int, resource: str, note: str = "") -> NeedPledge:
    """A unit_admin pledges a resource of the unit to an open need (403 if the unit has no
    approved report to the need's community); the first pledge moves it to 已认领."""
    policy.require_unit_admin(actor, unit_id)
    need = get_need(need_id)
    if not unit_reported_to(unit_id, need.community_id):
        raise Forbidden("该单位未到该社区报到，不能认领需求")
    if not (resource or "").strip():
        raise ValidationFailed(details={"resource": ["请填写认领的资源"]})
    need = get_need(need_id, lock=True)
    if need.status == NEED_DONE:
        raise InvalidState("该需求已完成")
    if db.session.scalar(select(NeedPledge.id).where(NeedPledge.need_id == need.id, NeedPledge.unit_id == unit_id)):
        raise AlreadyPledged()
    p = NeedPledge(need_id=need.id, unit_id=unit_id, resource=resource.strip(), note=(note or "").strip(),
                   created_by_id=actor.id)
    db.session.add(p)
    before = need.status
    if need.status == NEED_OPEN:
        _move(need, NEED_PLEDGED, actor, unit_id)
    db.session.flush()
    record(actor.id, "need.pledge", "need", need.id, before={"status": before},
           after={"status": need.status, "unit_id": unit_id, "resource": p.resource}, community_id=need.community_id)
    return p


def complete(actor: User, need_id: int) -> CommunityNeed:
    """Staff confirm a pledged need is done (已认领 → 已完成)."""
    need = get_need(need_id)
    policy.require_staff(actor, need.community_id)
    need = get_need(need_id, lock=True)
    if need.status != NEED_PLEDGED:
        raise InvalidState("只有已认领的需求可以确认完成")
    _move(need, NEED_DONE, actor)
    need.completed_at = utcnow()
    db.session.flush()
    record(actor.id, "need.complete", "need", need.id, before={"status": NEED_PLEDGED},
           after={"status": NEED_DONE}, community_id=need.community_id)
    return need


def pledges_of(need_ids: list[int]) -> dict[int, list[NeedPledge]]:
    out: dict[int, list[NeedPledge]] = {i: [] for i in need_ids}
    if need_ids:
        for p in db.session.scalars(select(NeedPledge).where(NeedPledge.need_id.in_(need_ids)).order_by(NeedPledge.id)):
            out[p.need_id].append(p)
    return out


def events_of(need_id: int) -> list[NeedEvent]:
    return list(db.session.scalars(select(NeedEvent).where(NeedEvent.need_id == need_id).order_by(NeedEvent.id)))


def _rank(needs: list[CommunityNeed], reports: list[UnitReport]) -> list[dict]:
    names = {u.id: u.name for u in db.session.scalars(select(Unit).where(Unit.id.in_({r.unit_id for r in reports})))}
    out = []
    for need in needs:
        for report in reports:
            if report.community_id != need.community_id:
                continue
            for resource in report.resources or []:
                s = score(need.title, need.category, need.description, str(resource))
                if s:
                    out.append({"need_id": need.id, "need_title": need.title, "need_category": need.category,
                                "need_status": need.status, "community_id": need.community_id,
                                "unit_id": report.unit_id, "unit_name": names.get(report.unit_id),
                                "resource": str(resource), **s})
    out.sort(key=lambda m: (-m["score"], m["need_id"], m["unit_id"], m["resource"]))
    return out


def community_matches(actor: User, community_id: int) -> list[dict]:
    """Units' resources (approved reports to the community) ranked against its open needs
    (staff, street_admin, admin)."""
    policy.require_community_reader(actor, community_id)
    needs = list(db.session.scalars(select(CommunityNeed).where(
        CommunityNeed.community_id == community_id, CommunityNeed.status != NEED_DONE)))
    reports = list(db.session.scalars(select(UnitReport).where(
        UnitReport.community_id == community_id, UnitReport.status == APPROVED)))
    return _rank(needs, reports)


def unit_matches(actor: User, unit_id: int) -> list[dict]:
    """The open needs of the communities the unit reported to, ranked against its resources
    (the unit's readers)."""
    policy.require_unit_reader(actor, unit_id)
    reports = list(db.session.scalars(select(UnitReport).where(
        UnitReport.unit_id == unit_id, UnitReport.status == APPROVED)))
    needs = list(db.session.scalars(select(CommunityNeed).where(
        CommunityNeed.community_id.in_([r.community_id for r in reports]), CommunityNeed.status != NEED_DONE)))
    items = _rank(needs, reports)
    names = {c.id: c.name for c in db.session.scalars(select(Community).where(
        Community.id.in_({m["community_id"] for m in items})))}
    for m in items:
        m["community_name"] = names.get(m["community_id"])
    return items


def fulfilled_by_unit(community_ids: list[int], start: datetime, end: datetime) -> dict[int, int]:
    """Needs completed in [start, end) per pledging unit (for the dashboard's figures)."""
    rows = db.session.execute(select(NeedPledge.unit_id, func.count(CommunityNeed.id))
                              .join(CommunityNeed, CommunityNeed.id == NeedPledge.need_id)
                              .where(CommunityNeed.community_id.in_(community_ids), CommunityNeed.status == NEED_DONE,
                                     CommunityNeed.completed_at >= start, CommunityNeed.completed_at < end)
                              .group_by(NeedPledge.unit_id)).all()
    return {uid: n for uid, n in rows}
