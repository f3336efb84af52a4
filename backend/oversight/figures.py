"""The dashboard's figures, each one set-based SQL grouped by community (never rows in Python).

Every function takes the scope (community ids) and the period [start, end) in UTC and returns
{community_id: value} (plus a scope-wide total where a person may count in two communities).

Definitions (the same for a community and for a street):
- 报到率: the units "listed for" a community are those with an approved unit report to it and
  those named by a (non-closed) member report to it; listed = their live roster rows;
  reported = those roster rows (same unit and phone) with an approved report to the community.
  A street also lists the live roster of every unit registered in the street.
- members_active: people holding a live member role who, in the period, checked in at a task,
  logged duty, visited a household or were present at a meeting in the community.
- service minutes: confirmed task attendances (scanned / manual by source) counted at check-out
  (manual: the task's end), as the feedback figures do; confirmed duty logs and household
  visits are 荣誉 minutes and count as manual.
- points issued: earnings out of the communities' issuance accounts minus their reversals;
  points spent: redemptions into the rewards accounts minus their reversals (posted in the period).
- quiet members: partywork's rule (no activity for 6 months, member for longer than that), as of
  the period's end or now, whichever is earlier.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, distinct, func, literal, select, text, tuple_, union, union_all
from sqlalchemy.orm import aliased

from backend.attendance.models import ABSENT, CHECKED_OUT, SOURCE_MANUAL, Attendance
from backend.auth.models import RoleGrant
from backend.extensions import db
from backend.oversight.sqltime import dialect, date_month, first_day_on_or_after, local_month
from backend.partywork.common import local_date
from backend.partywork.models_duty import LOG_CONFIRMED, DutyLog
from backend.partywork.models_households import VISIT_CONFIRMED, Visit
from backend.partywork.models_meetings import PRESENT, Meeting, MeetingAttendee
from backend.partywork.models_misc import NEED_DONE, CommunityNeed
from backend.reports.models import APPROVED, CLOSED, MemberReport, UnitMember, UnitReport
from backend.tasks.models import TASK_CANCELLED, Task
from backend.timebank.models import ISSUANCE, REWARDS, Account, Transfer
from backend.wishes.models import DONE, RATED, Wish


def _pairs(rows) -> dict[int, int]:
    return {cid: int(v or 0) for cid, v in rows}


def _members():
    return select(RoleGrant.user_id).where(RoleGrant.role == "member", RoleGrant.revoked_at.is_(None))


def tune_session(parallel_plans: bool = True) -> None:
    """PostgreSQL, for the rest of this (read-only) transaction: no JIT (compiling the big
    aggregates cost more than running them) and room to hash a scope's (community, member) pairs
    in memory instead of spilling to disk; without parallel plans when the caller runs several
    figures on connections of their own at once (those connections already keep the cores busy,
    and gathering partial aggregates costs more than it saves). SET LOCAL ends with the transaction."""
    if dialect() == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))
        db.session.execute(text("SET LOCAL work_mem = '32MB'"))
        if not parallel_plans:
            db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


# --- 报到率 -----------------------------------------------------------------------------------

def _listed_units(cids):
    """(community_id, unit_id) pairs: units listed for each community."""
    return union(
        select(UnitReport.community_id, UnitReport.unit_id)
        .where(UnitReport.community_id.in_(cids), UnitReport.status == APPROVED),
        select(MemberReport.community_id, MemberReport.unit_id)
        .where(MemberReport.community_id.in_(cids), MemberReport.status != CLOSED),
    ).subquery()


def report_counts(cids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """({community_id: reported}, {community_id: listed})."""
    pairs = _listed_units(cids)
    # roster sizes per unit first (few rows), then per community: joining the pairs to every
    # roster row made PostgreSQL expect millions of rows (and spend half a second JIT-compiling)
    roster = (select(UnitMember.unit_id, func.count(UnitMember.id).label("n"))
              .where(UnitMember.removed_at.is_(None)).group_by(UnitMember.unit_id).subquery())
    listed = db.session.execute(
        select(pairs.c.community_id, func.sum(roster.c.n))
        .join(roster, roster.c.unit_id == pairs.c.unit_id).group_by(pairs.c.community_id))
    reported = db.session.execute(
        select(MemberReport.community_id, func.count(distinct(UnitMember.id)))
        .join(UnitMember, and_(UnitMember.unit_id == MemberReport.unit_id, UnitMember.phone == MemberReport.phone))
        .where(MemberReport.community_id.in_(cids), MemberReport.status == APPROVED,
               UnitMember.removed_at.is_(None))
        .group_by(MemberReport.community_id))
    return _pairs(reported), _pairs(listed)


def street_listed(street_id: int, cids: list[int]) -> int:
    """Live roster rows of the street's units and of every unit listed for its communities."""
    from backend.orgs.models import Unit

    pairs = _listed_units(cids)
    units = union(select(Unit.id.label("unit_id")).where(Unit.street_id == street_id),
                  select(pairs.c.unit_id)).subquery()
    return int(db.session.scalar(select(func.count(UnitMember.id)).where(
        UnitMember.unit_id.in_(select(units.c.unit_id)), UnitMember.removed_at.is_(None))) or 0)


# --- activity ---------------------------------------------------------------------------------

def _activity(cids, start: datetime, end: datetime):
    """(community_id, user_id) of everything that counts as activity in the period."""
    return union_all(
        select(Attendance.community_id, Attendance.user_id).join(Task, Task.id == Attendance.task_id)
        .where(Attendance.community_id.in_(cids), Attendance.status != ABSENT,
               func.coalesce(Attendance.checkin_at, Task.ends_at) >= start,
               func.coalesce(Attendance.checkin_at, Task.ends_at) < end),
        select(DutyLog.community_id, DutyLog.user_id).where(
            DutyLog.community_id.in_(cids), DutyLog.date >= local_date(start), DutyLog.date < local_date(end)),
        select(Visit.community_id, Visit.user_id).where(
            Visit.community_id.in_(cids), Visit.visited_at >= start, Visit.visited_at < end),
        select(Meeting.community_id, MeetingAttendee.user_id).join(Meeting, Meeting.id == MeetingAttendee.meeting_id)
        .where(Meeting.community_id.in_(cids), MeetingAttendee.status == PRESENT,
               MeetingAttendee.checkin_at >= start, MeetingAttendee.checkin_at < end),
    ).subquery()


def members_active(cids, start, end) -> tuple[dict[int, int], int]:
    """({community_id: active members}, active members in the whole scope, each once)."""
    act = _activity(cids, start, end)
    pairs = (select(act.c.community_id, act.c.user_id).where(act.c.user_id.in_(_members()))
             .distinct().subquery())  # hashed, not sorted
    if dialect() == "postgresql":  # both counts in one pass: GROUPING SETS ((community_id), ())
        per, total = {}, 0
        for cid, n in db.session.execute(
                select(pairs.c.community_id, func.count(distinct(pairs.c.user_id)))
                .group_by(func.grouping_sets(pairs.c.community_id, tuple_()))):
            if cid is None:
                total = int(n)
            else:
                per[cid] = int(n)
        return per, total
    per = _pairs(db.session.execute(select(pairs.c.community_id, func.count()).group_by(pairs.c.community_id)))
    people = select(pairs.c.user_id).distinct().subquery()
    return per, int(db.session.scalar(select(func.count()).select_from(people)) or 0)


def quiet_members(cids, as_of: datetime, cutoff: datetime) -> dict[int, int]:
    """{community_id: members quiet since cutoff}: member before cutoff, no activity in [cutoff, as_of)."""
    uid = RoleGrant.user_id
    recent = [
        select(Attendance.id).where(Attendance.user_id == uid, Attendance.checkin_at >= cutoff,
                                    Attendance.checkin_at < as_of),
        select(Visit.id).where(Visit.user_id == uid, Visit.visited_at >= cutoff, Visit.visited_at < as_of),
        select(MeetingAttendee.id).where(MeetingAttendee.user_id == uid, MeetingAttendee.status == PRESENT,
                                         MeetingAttendee.checkin_at >= cutoff, MeetingAttendee.checkin_at < as_of),
        select(DutyLog.id).where(DutyLog.user_id == uid, DutyLog.date >= first_day_on_or_after(cutoff),
                                 DutyLog.date < first_day_on_or_after(as_of)),
    ]
    # NOT EXISTS (anti-joins), not NOT IN: NOT IN over a big set degrades to a scan per member
    return _pairs(db.session.execute(
        select(RoleGrant.community_id, func.count(distinct(uid)))
        .where(RoleGrant.role == "member", RoleGrant.revoked_at.is_(None), RoleGrant.community_id.in_(cids),
               RoleGrant.created_at < cutoff, *[~q.exists() for q in recent])
        .group_by(RoleGrant.community_id)))


# --- service minutes --------------------------------------------------------------------------

def _minutes_rows(cids, start, end):
    """(community_id, user_id, month, manual 0|1, minutes) of every counted service minute."""
    when = func.coalesce(Attendance.checkout_at, Task.ends_at)
    return union_all(
        select(Attendance.community_id, Attendance.user_id, local_month(when).label("month"),
               case((Attendance.source == SOURCE_MANUAL, 1), else_=0).label("manual"),
               Attendance.minutes.label("minutes"))
        .join(Task, Task.id == Attendance.task_id)
        .where(Attendance.community_id.in_(cids), Attendance.status == CHECKED_OUT, Attendance.minutes > 0,
               Attendance.awarded_at.is_not(None), when >= start, when < end),
        select(DutyLog.community_id, DutyLog.user_id, date_month(DutyLog.date), literal(1), DutyLog.minutes)
        .where(DutyLog.community_id.in_(cids), DutyLog.status == LOG_CONFIRMED,
               DutyLog.date >= local_date(start), DutyLog.date < local_date(end)),
        select(Visit.community_id, Visit.user_id, local_month(Visit.visited_at), literal(1), Visit.minutes)
        .where(Visit.community_id.in_(cids), Visit.status == VISIT_CONFIRMED,
               Visit.visited_at >= start, Visit.visited_at < end),
    ).subquery()


def minutes(cids, start, end) -> tuple[dict[str, dict[str, int]], dict[int, dict[str, int]]]:
    """({"YYYY-MM": {"scanned", "manual"}}, {community_id: {"scanned", "manual"}}) in one pass:
    SQL sums per (community, month, kind); the few sums are then added up both ways."""
    m = _minutes_rows(cids, start, end)
    by_month: dict[str, dict[str, int]] = {}
    by_community: dict[int, dict[str, int]] = {}
    for cid, month, manual, total in db.session.execute(
            select(m.c.community_id, m.c.month, m.c.manual, func.sum(m.c.minutes))
            .group_by(m.c.community_id, m.c.month, m.c.manual)):
        key = "manual" if manual else "scanned"
        by_month.setdefault(month, {"scanned": 0, "manual": 0})[key] += int(total or 0)
        by_community.setdefault(cid, {"scanned": 0, "manual": 0})[key] += int(total or 0)
    return by_month, by_community


def top_units(cids, start, end, limit: int = 10) -> list[dict]:
    """Units ranked by their members' service minutes in the scope (a member's unit: their
    approved report's); minutes are summed per person first, then joined to the reports."""
    from backend.orgs.models import Unit

    m = _minutes_rows(cids, start, end)
    per_user = select(m.c.user_id, func.sum(m.c.minutes).label("minutes")).group_by(m.c.user_id).subquery()
    total = func.sum(per_user.c.minutes)
    rows = db.session.execute(
        select(Unit.id, Unit.name, total, func.count(per_user.c.user_id))
        .select_from(per_user)
        .join(MemberReport, and_(MemberReport.user_id == per_user.c.user_id, MemberReport.status == APPROVED))
        .join(Unit, Unit.id == MemberReport.unit_id)
        .group_by(Unit.id, Unit.name).order_by(total.desc(), Unit.id).limit(limit))
    return [{"unit_id": uid, "name": name, "minutes": int(minutes or 0), "members": int(n)}
            for uid, name, minutes, n in rows]


# --- counts -----------------------------------------------------------------------------------

def tasks_held(cids, start, end) -> dict[int, int]:
    """Tasks (not cancelled) starting in the period."""
    return _pairs(db.session.execute(
        select(Task.community_id, func.count(Task.id))
        .where(Task.community_id.in_(cids), Task.starts_at >= start, Task.starts_at < end,
               Task.status != TASK_CANCELLED).group_by(Task.community_id)))


def points(cids, start, end) -> tuple[dict[int, int], dict[int, int]]:
    """({community_id: points issued}, {community_id: points spent}), net of reversals.

    One pass over the period's transfers: each counted transfer is mapped to the community account
    it concerns (an earning's debit, a redemption's credit, a reversal's opposite side) with its
    signed amount, summed per account, and only then joined to the scope's accounts (joining per
    account first fetched every transfer of an issuance account by a random heap access)."""
    orig = aliased(Transfer)
    period = and_(Transfer.created_at >= start, Transfer.created_at < end)
    earn, was_earn = Transfer.kind == "earn", orig.kind == "earn"
    rows = union_all(
        select(case((earn, Transfer.debit_account_id), else_=Transfer.credit_account_id).label("account_id"),
               case((earn, 1), else_=0).label("issued"), Transfer.amount.label("amount"))
        .where(Transfer.kind.in_(("earn", "redeem")), period),
        select(case((was_earn, Transfer.credit_account_id), else_=Transfer.debit_account_id),
               case((was_earn, 1), else_=0), -Transfer.amount)
        .join(orig, orig.id == Transfer.reverses_id)
        .where(Transfer.kind == "reverse", orig.kind.in_(("earn", "redeem")), period),
    ).subquery()
    per_account = (select(rows.c.account_id, rows.c.issued, func.sum(rows.c.amount).label("amount"))
                   .group_by(rows.c.account_id, rows.c.issued).subquery())
    out: tuple[dict[int, int], dict[int, int]] = ({}, {})
    for cid, is_issued, amount in db.session.execute(
            select(Account.community_id, per_account.c.issued, func.sum(per_account.c.amount))
            .join(Account, Account.id == per_account.c.account_id)
            .where(Account.community_id.in_(cids),
                   Account.kind == case((per_account.c.issued == 1, ISSUANCE), else_=REWARDS))
            .group_by(Account.community_id, per_account.c.issued)):
        out[0 if is_issued else 1][cid] = int(amount or 0)
    return out


def wishes(cids, start, end) -> tuple[dict[int, int], dict[int, int]]:
    """({community_id: wishes posted}, {community_id: wishes fulfilled}) in the period."""
    posted = _pairs(db.session.execute(
        select(Wish.community_id, func.count(Wish.id))
        .where(Wish.community_id.in_(cids), Wish.created_at >= start, Wish.created_at < end)
        .group_by(Wish.community_id)))
    fulfilled = _pairs(db.session.execute(
        select(Wish.community_id, func.count(Wish.id))
        .where(Wish.community_id.in_(cids), Wish.status.in_((DONE, RATED)),
               Wish.completed_at >= start, Wish.completed_at < end)
        .group_by(Wish.community_id)))
    return posted, fulfilled


def needs_fulfilled(cids, start, end) -> dict[int, int]:
    """共驻共建 needs completed in the period."""
    return _pairs(db.session.execute(
        select(CommunityNeed.community_id, func.count(CommunityNeed.id))
        .where(CommunityNeed.community_id.in_(cids), CommunityNeed.status == NEED_DONE,
               CommunityNeed.completed_at >= start, CommunityNeed.completed_at < end)
        .group_by(CommunityNeed.community_id)))


def meeting_attendance(cids, start, end) -> dict[int, tuple[int, int]]:
    """{community_id: (present, expected)} over the meetings begun in the period: expected members
    present at them (请假 counts as not present), walk-ins not counted."""
    rows = db.session.execute(
        select(Meeting.community_id, func.sum(case((MeetingAttendee.status == PRESENT, 1), else_=0)),
               func.count(MeetingAttendee.id))
        .join(Meeting, Meeting.id == MeetingAttendee.meeting_id)
        .where(Meeting.community_id.in_(cids), Meeting.starts_at >= start, Meeting.starts_at < end,
               MeetingAttendee.expected.is_(True))
        .group_by(Meeting.community_id))
    return {cid: (int(p or 0), int(n or 0)) for cid, p, n in rows}
