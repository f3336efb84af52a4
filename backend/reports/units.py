"""Unit reports (单位到社区报到): a unit_admin reports the unit to a community; staff decide."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.audit.services import record
from backend.auth import policy
from backend.auth.models import User
from backend.db import utcnow
from backend.errors import InvalidState, NotFound, ValidationFailed, error
from backend.extensions import db
from backend.notifications.services import notify
from backend.orgs.models import Community, Unit
from backend.reports.models import APPROVED, LIVE, PENDING, REJECTED, UnitReport

UnitAlreadyReported = error(409, "ALREADY_REPORTED", "该单位已向该社区报到，请勿重复提交")


def _clean(items) -> list[str]:
    """Trimmed, non-empty, de-duplicated, in the given order."""
    return list(dict.fromkeys(s.strip() for s in items or () if s and s.strip()))


def file_unit_report(actor: User, *, unit_id: int, community_id: int, resources=(), needs=()) -> UnitReport:
    """The unit_admin of unit_id reports the unit to community_id (one live report per pair)."""
    details = {}
    if db.session.get(Unit, unit_id) is None:
        details["unit_id"] = ["单位不存在"]
    if db.session.get(Community, community_id) is None:
        details["community_id"] = ["社区不存在"]
    if details:
        raise ValidationFailed(details=details)
    policy.require_unit_admin(actor, unit_id)
    if db.session.scalar(select(UnitReport.id).where(
            UnitReport.unit_id == unit_id, UnitReport.community_id == community_id,
            UnitReport.status.in_(LIVE))):
        raise UnitAlreadyReported()
    report = UnitReport(unit_id=unit_id, community_id=community_id, resources=_clean(resources),
                        needs=_clean(needs), status=PENDING, created_by_id=actor.id)
    db.session.add(report)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent filing won the partial unique index
        db.session.rollback()
        raise UnitAlreadyReported()
    record(actor.id, "unit_report.file", "unit_report", report.id,
           after={"unit_id": unit_id, "resources": report.resources, "needs": report.needs},
           community_id=community_id)
    return report


def get_unit_report(report_id: int, *, lock: bool = False) -> UnitReport:
    """The report, or NotFound; lock=True as for member reports (one decision at a time)."""
    report = db.session.get(UnitReport, report_id, with_for_update=lock or None, populate_existing=lock)
    if report is None:
        raise NotFound("单位报到记录不存在")
    return report


def read_unit_report(user: User, report_id: int) -> UnitReport:
    """The report, for the unit's readers or staff of the community."""
    report = get_unit_report(report_id)
    if not policy.has_role(user, "staff", community_id=report.community_id):
        policy.require_unit_reader(user, report.unit_id)
    return report


def community_unit_reports(user: User, community_id: int, status: str | None = None):
    """A select() of unit reports to the community (staff of the community), for paging."""
    policy.require_staff(user, community_id)
    q = select(UnitReport).where(UnitReport.community_id == community_id)
    return q.where(UnitReport.status == status) if status else q


def unit_unit_reports(user: User, unit_id: int, status: str | None = None):
    """A select() of the unit's own reports (unit_admin, street_admin, admin), for paging."""
    policy.require_unit_reader(user, unit_id)
    q = select(UnitReport).where(UnitReport.unit_id == unit_id)
    return q.where(UnitReport.status == status) if status else q


def decide_unit_report(actor: User, report_id: int, approve: bool, reason: str | None = None) -> UnitReport:
    """Staff of the report's community approve or reject (with a reason) a pending unit report."""
    report = get_unit_report(report_id, lock=True)
    policy.require_staff(actor, report.community_id)
    if report.status != PENDING:
        raise InvalidState("该单位报到已处理")
    reason = (reason or "").strip() or None
    if not approve and not reason:
        raise ValidationFailed(details={"reason": ["驳回时请填写原因"]})
    before = {"status": report.status}
    report.status = APPROVED if approve else REJECTED
    report.reason, report.decided_by_id, report.decided_at = reason, actor.id, utcnow()
    db.session.flush()
    if report.created_by_id is not None:
        notify(report.created_by_id, "report_decided", {
            "unit_report_id": report.id, "unit": report.unit.name, "community": report.community.name,
            "status": report.status, "reason": reason or "", "decided_at": report.decided_at,
        }, ref_type="unit_report", ref_id=report.id)
    record(actor.id, "unit_report." + ("approve" if approve else "reject"), "unit_report", report.id,
           before=before, after={"status": report.status, "reason": reason}, community_id=report.community_id)
    return report


def unit_reported_to(unit_id: int, community_id: int) -> bool:
    """True when the unit has an approved report to the community (共驻共建 pledges need it)."""
    return db.session.scalar(select(UnitReport.id).where(
        UnitReport.unit_id == unit_id, UnitReport.community_id == community_id,
        UnitReport.status == APPROVED).limit(1)) is not None


def approved_units(community_id: int) -> list[UnitReport]:
    """Approved unit reports to a community, with their resources and needs."""
    return list(db.session.scalars(select(UnitReport).where(
        UnitReport.community_id == community_id, UnitReport.status == APPROVED).order_by(UnitReport.id)))
