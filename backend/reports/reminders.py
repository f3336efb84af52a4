"""Reminders to report in: roster members who have not reported, or whose report is old."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from backend.auth.models import User
from backend.db import utcnow
from backend.extensions import db
from backend.notifications.services import notify
from backend.orgs.models import Unit
from backend.reports.models import APPROVED, PENDING, MemberReport, ReportReminder, UnitMember
from backend.reports.roster import best_reports
from backend.reports.services import months_before
from backend.timebank.chain import lock_key

NOT_REPORTED = "not_reported"
STALE = "stale"
QUIET_DAYS = 7  # never remind the same person twice within this many days
MESSAGES = {
    NOT_REPORTED: "您尚未到居住地社区报到，请尽快报到",  # subscribe messages cut a thing at 20
    STALE: "您的报到已超过%d个月，请更新报到信息",
}


def remind_unreported(unit_id: int | None = None, *, months: int = 6, now: datetime | None = None) -> list[ReportReminder]:
    """Record a ReportReminder (and notify, when the person has an account) for every roster
    member not reported, or whose approved report is older than `months`; pending ones wait."""
    # one run at a time (every cron process enqueues the monthly job): a second run waits for
    # the first to commit, then finds its reminders within QUIET_DAYS and skips those people
    lock_key(db.session, "reports:remind")
    now = now or utcnow()
    cutoff = months_before(now, months)
    roster_q = select(UnitMember).where(UnitMember.removed_at.is_(None))
    if unit_id is not None:
        roster_q = roster_q.where(UnitMember.unit_id == unit_id)
    roster = list(db.session.scalars(roster_q.order_by(UnitMember.id)))
    if not roster:
        return []
    phones = {um.phone for um in roster}
    by_phone, _ = best_reports(MemberReport.phone.in_(roster_q.with_only_columns(UnitMember.phone)))
    recent = set(db.session.scalars(
        select(UnitMember.phone).join(ReportReminder, ReportReminder.unit_member_id == UnitMember.id)
        .where(ReportReminder.created_at > now - timedelta(days=QUIET_DAYS), UnitMember.phone.in_(phones))))
    users = {u.phone: u.id for u in db.session.scalars(
        select(User).where(User.phone.in_(phones), User.closed_at.is_(None)))}
    units = {u.id: u.name for u in db.session.scalars(select(Unit).where(Unit.id.in_({um.unit_id for um in roster})))}
    out = []
    for um in roster:
        report = by_phone.get(um.phone)
        if report is not None and report.status == PENDING:
            continue
        if report is not None and report.status == APPROVED:
            if (report.decided_at or report.created_at) > cutoff:
                continue
            reason = STALE
        else:
            reason = NOT_REPORTED
        if um.phone in recent:
            continue
        recent.add(um.phone)
        user_id = um.user_id or (report.user_id if report else None) or users.get(um.phone)
        reminder = ReportReminder(unit_id=um.unit_id, unit_member_id=um.id, user_id=user_id,
                                  reason=reason, created_at=now)
        db.session.add(reminder)
        db.session.flush()
        if user_id is not None:
            text = MESSAGES[reason] % months if reason == STALE else MESSAGES[reason]
            data = {"unit": units.get(um.unit_id, ""), "reason": reason, "message": text, "at": now}
            notify(user_id, "report_reminder", data, ref_type="report_reminder", ref_id=reminder.id)
        out.append(reminder)
    return out
