"""Unit rosters (在职党员名册) and the unit view (报到统计): roster rows matched to reports by phone."""
from __future__ import annotations

from sqlalchemy import or_, select

from backend.audit.services import record
from backend.auth import policy
from backend.auth.models import User
from backend.db import utcnow
from backend.errors import NotFound, ValidationFailed
from backend.extensions import db
from backend.reports.models import APPROVED, CLOSED, PENDING, REJECTED, MemberReport, UnitMember

NOT_REPORTED = "not_reported"
VIEW_STATUSES = (APPROVED, PENDING, REJECTED, NOT_REPORTED)
_RANK = {APPROVED: 3, PENDING: 2, REJECTED: 1}


def mask_phone(phone: str | None) -> str | None:
    """138****5678: how a unit or another member sees a phone number."""
    if not phone:
        return phone
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def _better(a: MemberReport | None, b: MemberReport) -> MemberReport:
    """approved over pending over rejected; among equals the newest."""
    if a is None:
        return b
    return b if (_RANK[b.status], b.id) > (_RANK[a.status], a.id) else a


def best_reports(*conditions) -> tuple[dict[str, MemberReport], dict[int, MemberReport]]:
    """The most telling non-closed report per phone and per user among reports matching conditions."""
    by_phone: dict[str, MemberReport] = {}
    by_user: dict[int, MemberReport] = {}
    for r in db.session.scalars(select(MemberReport).where(*conditions, MemberReport.status != CLOSED)):
        by_phone[r.phone] = _better(by_phone.get(r.phone), r)
        by_user[r.user_id] = _better(by_user.get(r.user_id), r)
    return by_phone, by_user


def _live_roster(unit_id: int):
    return select(UnitMember).where(UnitMember.unit_id == unit_id, UnitMember.removed_at.is_(None))


def upsert_roster(actor: User, unit_id: int, members: list[dict]) -> dict:
    """The unit_admin adds or updates roster rows by phone; returns created/updated/total."""
    policy.require_unit_admin(actor, unit_id)
    seen: dict[str, int] = {}
    dupes = {}
    for i, m in enumerate(members):
        if m["phone"] in seen:
            dupes[str(i)] = {"phone": ["与第%d行手机号重复" % (seen[m["phone"]] + 1)]}
        seen.setdefault(m["phone"], i)
    if dupes:
        raise ValidationFailed(details={"members": dupes})
    phones = list(seen)
    existing = {um.phone: um for um in db.session.scalars(
        select(UnitMember).where(UnitMember.unit_id == unit_id, UnitMember.phone.in_(phones)))}
    users = {u.phone: u.id for u in db.session.scalars(select(User).where(User.phone.in_(phones)))}
    for r in db.session.scalars(select(MemberReport).where(MemberReport.phone.in_(phones))
                                .order_by(MemberReport.id)):
        users.setdefault(r.phone, r.user_id)
    created = updated = 0
    for m in members:
        name = m["name"].strip()
        um = existing.get(m["phone"])
        if um is None:
            db.session.add(UnitMember(unit_id=unit_id, name=name, phone=m["phone"], user_id=users.get(m["phone"])))
            created += 1
            continue
        if um.name != name or um.removed_at is not None:
            um.name, um.removed_at = name, None
            updated += 1
        um.user_id = um.user_id or users.get(m["phone"])
    db.session.flush()
    total = len(db.session.scalars(_live_roster(unit_id)).all())
    record(actor.id, "unit_member.upsert", "unit", unit_id,
           after={"created": created, "updated": updated, "total": total})
    return {"created": created, "updated": updated, "total": total}


def remove_roster_member(actor: User, unit_id: int, member_id: int) -> None:
    """The unit_admin takes someone off the roster (left the unit); the row stays as history."""
    policy.require_unit_admin(actor, unit_id)
    um = db.session.get(UnitMember, member_id)
    if um is None or um.unit_id != unit_id or um.removed_at is not None:
        raise NotFound("名册中无此人")
    um.removed_at = utcnow()
    db.session.flush()
    record(actor.id, "unit_member.remove", "unit_member", um.id, before={"name": um.name, "unit_id": unit_id})


def _item(um: UnitMember | None, report: MemberReport | None) -> dict:
    status = report.status if report else NOT_REPORTED
    return {
        "unit_member_id": um.id if um else None, "on_roster": um is not None,
        "name": um.name if um else report.name, "phone": mask_phone(um.phone if um else report.phone),
        "user_id": (um.user_id if um else None) or (report.user_id if report else None),
        "status": status, "report_id": report.id if report else None,
        "community_id": report.community_id if report else None,
        "community_name": report.community.name if report else None,
        "reported_at": report.created_at if report else None,
        "decided_at": report.decided_at if report else None,
    }


def unit_view(user: User, unit_id: int, status: str | None = None) -> dict:
    """The unit's members with report status (phones masked) and counts over all of them.

    Roster rows come first (by id), then people who named this unit in a report but are not on
    the roster. counts: reported (approved), pending, not_reported (includes rejected), plus
    rejected and total for detail."""
    policy.require_unit_reader(user, unit_id)
    roster = list(db.session.scalars(_live_roster(unit_id).order_by(UnitMember.id)))
    phones = select(UnitMember.phone).where(UnitMember.unit_id == unit_id, UnitMember.removed_at.is_(None))
    by_phone, _ = best_reports(or_(MemberReport.phone.in_(phones), MemberReport.unit_id == unit_id))
    items = [_item(um, by_phone.get(um.phone)) for um in roster]
    on_roster = {um.phone for um in roster}
    roster_users = {i["user_id"] for i in items if i["user_id"]}
    # people off the roster who named this unit, closed accounts aside (erased, gone)
    named = select(MemberReport.user_id).join(User, User.id == MemberReport.user_id).where(
        MemberReport.unit_id == unit_id, User.closed_at.is_(None))
    _, extra = best_reports(MemberReport.unit_id == unit_id, MemberReport.user_id.in_(named))
    # a rejected report is dropped once the person's best report names another unit: rejected
    # for the wrong unit and filed again under the right one, they are not this unit's member
    _, overall = best_reports(MemberReport.user_id.in_(named)) if extra else ({}, {})
    items += [_item(None, r) for r in sorted(extra.values(), key=lambda r: r.id)
              if r.phone not in on_roster and r.user_id not in roster_users
              and (r.status != REJECTED or overall[r.user_id].id == r.id)]
    counts = {"reported": 0, "pending": 0, "not_reported": 0, "rejected": 0, "total": len(items)}
    for i in items:
        key = {APPROVED: "reported", PENDING: "pending"}.get(i["status"], "not_reported")
        counts[key] += 1
        counts["rejected"] += i["status"] == REJECTED
    if status:
        items = [i for i in items if i["status"] == status]
    return {"items": items, "counts": counts}
