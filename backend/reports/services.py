"""Member reports (个人报到): filing, deciding, moving house, and what other domains read.

Other domains call: reports_for_user(user), skills_of(user_id), approved_report(user_id),
unit_reported_to(unit_id, community_id) (re-exported from backend.reports.units)."""
from __future__ import annotations

import calendar
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from backend.audit.services import record
from backend.auth import policy
from backend.auth.models import User
from backend.auth.services import grant_role, revoke_role
from backend.clock import TZ
from backend.db import utcnow
from backend.errors import InvalidState, NotFound, ValidationFailed, error
from backend.extensions import db
from backend.notifications.services import notify
from backend.orgs.models import Community, Grid, Unit
from backend.partywork.membership import leave_community
from backend.reports.models import (
    APPROVED, CLOSED, LIVE, PENDING, REJECTED, SKILLS, MemberReport, UnitMember, UnitReport,
)
from backend.reports.units import unit_reported_to  # noqa: F401  (re-exported for other domains)

AlreadyReported = error(409, "ALREADY_REPORTED", "您已有进行中的报到，请勿重复提交")


def months_before(when: datetime, months: int) -> datetime:
    """The same moment `months` calendar months earlier (the day clamped to the month's end),
    counted on the Asia/Shanghai calendar: 00:30 on the 1st there is still last month in UTC."""
    local = when.astimezone(TZ)
    index = local.year * 12 + local.month - 1 - months
    year, month = index // 12, index % 12 + 1
    earlier = local.replace(year=year, month=month, day=min(local.day, calendar.monthrange(year, month)[1]))
    return earlier.astimezone(when.tzinfo)


def _check_refs(community_id: int, unit_id: int, grid_id: int | None) -> None:
    """Unknown community, unit or grid (or a grid of another community) is a 422 on that field."""
    details = {}
    if db.session.get(Community, community_id) is None:
        details["community_id"] = ["社区不存在"]
    if db.session.get(Unit, unit_id) is None:
        details["unit_id"] = ["单位不存在"]
    if grid_id is not None:
        grid = db.session.get(Grid, grid_id)
        if grid is None:
            details["grid_id"] = ["网格不存在"]
        elif grid.community_id != community_id:
            details["grid_id"] = ["该网格不属于所选社区"]
    if details:
        raise ValidationFailed(details=details)


def file_member_report(user: User, *, community_id: int, unit_id: int, name: str, phone: str,
                       skills: list[str] | tuple = (), skills_other: str = "", grid_id: int | None = None,
                       renew_months: int = 6) -> MemberReport:
    """File a report. One live report per person, except a new one to another community
    (moving house) or, once the approved one is older than renew_months, to the same one."""
    _check_refs(community_id, unit_id, grid_id)
    unknown = [s for s in skills if s not in SKILLS]
    if unknown:
        raise ValidationFailed(details={"skills": [f"未知技能：{'、'.join(unknown)}"]})
    name = name.strip()
    if not name:
        raise ValidationFailed(details={"name": ["请填写姓名"]})
    live = list(db.session.scalars(
        select(MemberReport).where(MemberReport.user_id == user.id, MemberReport.status.in_(LIVE))))
    for old in live:
        if old.status == PENDING:
            raise AlreadyReported("您已有待审核的报到")
        stale = (old.decided_at or old.created_at) <= months_before(utcnow(), renew_months)
        if old.community_id == community_id and not stale:
            raise AlreadyReported("您已在该社区报到")
    report = MemberReport(
        user_id=user.id, community_id=community_id, unit_id=unit_id, grid_id=grid_id, name=name,
        phone=phone, skills=list(dict.fromkeys(skills)), skills_other=(skills_other or "").strip(),
        status=PENDING,
    )
    db.session.add(report)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent filing won the partial unique index
        db.session.rollback()
        raise AlreadyReported("您已有待审核的报到")
    return report


def get_member_report(report_id: int, *, lock: bool = False) -> MemberReport:
    """The report, or NotFound; lock=True holds its row until commit and reads it afresh, so
    two decisions at once are taken one after the other (the second sees it decided)."""
    report = db.session.get(MemberReport, report_id, with_for_update=lock or None, populate_existing=lock)
    if report is None:
        raise NotFound("报到记录不存在")
    return report


def read_member_report(user: User, report_id: int) -> MemberReport:
    """The report, for its reporter or staff of its community."""
    report = get_member_report(report_id)
    if report.user_id != user.id:
        policy.require_staff(user, report.community_id)
    return report


def community_member_reports(user: User, community_id: int, status: str | None = None, name: str | None = None):
    """A select() of the community's member reports (staff of the community), for paging;
    `name`: those whose reported name contains it (a picker's search)."""
    policy.require_staff(user, community_id)
    q = select(MemberReport).where(MemberReport.community_id == community_id)
    if status:
        q = q.where(MemberReport.status == status)
    if name:
        q = q.where(MemberReport.name.contains(name, autoescape=True))
    return q


def _snapshot(report: MemberReport) -> dict:
    return {"status": report.status, "reason": report.reason, "community_id": report.community_id}


def _close_previous(actor: User, report: MemberReport, now: datetime) -> None:
    """Approving a new report closes the person's earlier approved one (history kept); moving to
    another community ends the party work they held in the old one."""
    for old in db.session.scalars(select(MemberReport).where(
            MemberReport.user_id == report.user_id, MemberReport.status == APPROVED,
            MemberReport.id != report.id)):
        before = _snapshot(old)
        old.status, old.closed_at = CLOSED, now
        ended = None
        if old.community_id != report.community_id:
            revoke_role(report.user_id, "member", community_id=old.community_id)
            ended = leave_community(report.user_id, old.community_id, now)
        record(actor.id, "member_report.close", "member_report", old.id, before=before,
               after={**_snapshot(old), "replaced_by": report.id, **({"ended": ended} if ended else {})},
               community_id=old.community_id)
    db.session.flush()  # before the new one becomes approved (one approved per person)


def decide_member_report(actor: User, report_id: int, approve: bool, reason: str | None = None) -> MemberReport:
    """Staff of the report's community approve (grants `member`) or reject (with a reason)."""
    report = get_member_report(report_id, lock=True)
    policy.require_staff(actor, report.community_id)
    if report.status != PENDING:
        raise InvalidState("该报到已处理")
    reason = (reason or "").strip() or None
    if not approve and not reason:
        raise ValidationFailed(details={"reason": ["驳回时请填写原因"]})
    before = _snapshot(report)
    now = utcnow()
    if approve:
        _close_previous(actor, report, now)
        grant_role(None, report.user_id, "member", community_id=report.community_id)
        user = db.session.get(User, report.user_id)
        user.name, user.phone = report.name, report.phone
        db.session.execute(update(UnitMember).where(
            UnitMember.phone == report.phone, UnitMember.user_id.is_(None)).values(user_id=report.user_id))
    report.status = APPROVED if approve else REJECTED
    report.reason, report.decided_by_id, report.decided_at = reason, actor.id, now
    db.session.flush()
    notify(report.user_id, "report_decided", {
        "report_id": report.id, "community": report.community.name, "status": report.status,
        "reason": reason or "", "decided_at": _iso(now),
    }, ref_type="member_report", ref_id=report.id)
    record(actor.id, "member_report." + ("approve" if approve else "reject"), "member_report",
           report.id, before=before, after=_snapshot(report), community_id=report.community_id)
    return report


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(TZ).isoformat() if value else None


def report_dict(report: MemberReport) -> dict:
    """A JSON-ready summary (for GET /me and other domains)."""
    return {
        "kind": "member", "id": report.id, "status": report.status,
        "community_id": report.community_id, "community_name": report.community.name,
        "unit_id": report.unit_id, "unit_name": report.unit.name, "grid_id": report.grid_id,
        "skills": list(report.skills or []), "skills_other": report.skills_other,
        "reason": report.reason, "created_at": _iso(report.created_at),
        "decided_at": _iso(report.decided_at), "closed_at": _iso(report.closed_at),
    }


def unit_report_dict(report: UnitReport) -> dict:
    """A unit report as GET /me shows it to the unit's admins."""
    return {
        "kind": "unit", "id": report.id, "status": report.status,
        "community_id": report.community_id, "community_name": report.community.name,
        "unit_id": report.unit_id, "unit_name": report.unit.name,
        "resources": list(report.resources or []), "needs": list(report.needs or []),
        "reason": report.reason, "created_at": _iso(report.created_at), "decided_at": _iso(report.decided_at),
    }


def reports_for_user(user: User) -> list[dict]:
    """GET /me: the user's member reports, then the reports of the units they administer
    (kind "unit"), each newest first, as JSON-ready dicts."""
    rows = db.session.scalars(select(MemberReport).where(MemberReport.user_id == user.id)
                              .order_by(MemberReport.id.desc()))
    out = [report_dict(r) for r in rows]
    unit_ids = policy.scopes(user, "unit_admin", "unit_id")
    if unit_ids:
        out += [unit_report_dict(r) for r in db.session.scalars(
            select(UnitReport).where(UnitReport.unit_id.in_(unit_ids)).order_by(UnitReport.id.desc()))]
    return out


def approved_report(user_id: int) -> MemberReport | None:
    """The person's current approved report, if any."""
    return db.session.scalar(select(MemberReport).where(
        MemberReport.user_id == user_id, MemberReport.status == APPROVED))


def skills_of(user_id: int) -> list[str]:
    """Skills from the approved report (for task recommendations); [] when none."""
    report = approved_report(user_id)
    return list(report.skills or []) if report else []


