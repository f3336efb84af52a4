"""A person's own data (PIPL Art. 45): everything held about the caller, as JSON-ready dicts."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from backend.attendance.models import Attendance
from backend.auth.models import RoleGrant, User
from backend.auth.services import roles_of
from backend.clock import TZ
from backend.db import utcnow
from backend.extensions import db
from backend.feedback.consents import consent_history, my_consents
from backend.feedback.models import Certificate, Evaluation
from backend.notifications.models import Notification
from backend.orgs.models import Community, Unit
from backend.partywork.common import mask_address
from backend.partywork.models_duty import DutyHolder, DutyLog, DutyPost
from backend.partywork.models_households import Household, HouseholdLink, Visit
from backend.partywork.models_meetings import Meeting, MeetingAttendee
from backend.partywork.models_misc import FollowUp
from backend.reports.models import MemberReport, UnitMember
from backend.rewards.models import Redemption
from backend.tasks.models import Task, TaskClaim
from backend.timebank.service import statement_item, statement_query, wallet_summary
from backend.timebank.models import Transfer
from backend.wishes.models import Wish, WishEvent


def _v(value):
    """JSON-ready: times in Asia/Shanghai ISO 8601, dates ISO, lists and dicts recursively."""
    if isinstance(value, datetime):
        return value.astimezone(TZ).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _v(x) for k, x in value.items()}
    if isinstance(value, (list, tuple)):
        return [_v(x) for x in value]
    return value


def _rows(q, *fields) -> list[dict]:
    """Each row of q as {field: value} (q selects exactly these columns, in order)."""
    return [_v(dict(zip(fields, row))) for row in db.session.execute(q)]


def _cols(model, *names):
    return [getattr(model, n) for n in names]


def _profile(user: User) -> dict:
    grants = db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id).order_by(RoleGrant.id))
    return _v({"id": user.id, "nickname": user.nickname, "name": user.name, "phone": user.phone,
               "verified_phone": user.verified_phone, "phone_verified_at": user.phone_verified_at,
               "created_at": user.created_at, "last_login_at": user.last_login_at, "roles": roles_of(user),
               "role_history": [{**g.as_dict(), "granted_at": g.created_at, "revoked_at": g.revoked_at}
                                for g in grants]})


def _reports(uid: int) -> list[dict]:
    f = ("id", "community", "unit", "grid_id", "name", "phone", "skills", "skills_other", "status", "reason",
         "created_at", "decided_at", "closed_at")
    return _rows(select(MemberReport.id, Community.name, Unit.name, *_cols(MemberReport, *f[3:]))
                 .join(Community, Community.id == MemberReport.community_id)
                 .join(Unit, Unit.id == MemberReport.unit_id)
                 .where(MemberReport.user_id == uid).order_by(MemberReport.id), *f)


def _tasks(uid: int) -> dict:
    claims = _rows(select(TaskClaim.id, TaskClaim.task_id, Task.title, Community.name, Task.starts_at, Task.ends_at,
                          TaskClaim.status, TaskClaim.created_at, TaskClaim.cancelled_at)
                   .join(Task, Task.id == TaskClaim.task_id).join(Community, Community.id == Task.community_id)
                   .where(TaskClaim.user_id == uid).order_by(TaskClaim.id),
                   "id", "task_id", "task", "community", "starts_at", "ends_at", "status", "claimed_at",
                   "cancelled_at")
    f = ("status", "source", "manual_reason", "checkin_at", "checkin_received_at", "checkin_offline",
         "checkout_at", "checkout_received_at", "checkout_offline", "minutes", "points", "awarded_at")
    attendances = _rows(select(Attendance.id, Attendance.task_id, Task.title, *_cols(Attendance, *f))
                        .join(Task, Task.id == Attendance.task_id)
                        .where(Attendance.user_id == uid).order_by(Attendance.id), "id", "task_id", "task", *f)
    return {"task_claims": claims, "attendances": attendances}


def _wishes(uid: int) -> dict:
    f = ("id", "community_id", "title", "description", "type", "status", "decision_reason", "rating",
         "rating_comment", "created_at", "completed_at")
    # what the person did to wishes, with the notes they wrote (confirming, cancelling, rating)
    e = ("wish_id", "from_status", "to_status", "at", "note")
    return {"wishes_posted": _rows(select(*_cols(Wish, *f)).where(Wish.user_id == uid).order_by(Wish.id), *f),
            "wishes_claimed": _rows(select(*_cols(Wish, *f)).where(Wish.claimer_id == uid).order_by(Wish.id), *f),
            "wish_events": _rows(select(*_cols(WishEvent, *e)).where(WishEvent.actor_id == uid)
                                 .order_by(WishEvent.id), *e)}


def _points(uid: int) -> dict:
    q, wid = statement_query(db.session, uid)
    transfers = [_v(statement_item(t, wid)) for t in db.session.scalars(q.order_by(Transfer.id))] if wid else []
    f = ("id", "community_id", "reward_name", "points", "transfer_id", "status", "pickup_code", "created_at",
         "handed_over_at", "cancelled_at")
    return {"account": wallet_summary(db.session, uid), "transfers": transfers,
            "redemptions": _rows(select(*_cols(Redemption, *f)).where(Redemption.user_id == uid)
                                 .order_by(Redemption.id), *f)}


def _partywork(uid: int) -> dict:
    holders = _rows(select(DutyHolder.id, DutyPost.name, DutyHolder.status, DutyHolder.applied_at,
                           DutyHolder.started_at, DutyHolder.ended_at)
                    .join(DutyPost, DutyPost.id == DutyHolder.post_id)
                    .where(DutyHolder.user_id == uid).order_by(DutyHolder.id),
                    "id", "post", "status", "applied_at", "started_at", "ended_at")
    logs = _rows(select(*_cols(DutyLog, "id", "post_id", "date", "minutes", "note", "status", "points"))
                 .where(DutyLog.user_id == uid).order_by(DutyLog.id),
                 "id", "post_id", "date", "minutes", "note", "status", "points")
    links = [{**row, "address": mask_address(row["address"])} for row in _rows(
        select(HouseholdLink.id, HouseholdLink.household_id, Household.address, HouseholdLink.status,
               HouseholdLink.created_at, HouseholdLink.ended_at)
        .join(Household, Household.id == HouseholdLink.household_id)
        .where(HouseholdLink.user_id == uid).order_by(HouseholdLink.id),
        "id", "household_id", "address", "status", "created_at", "ended_at")]
    f = ("id", "household_id", "visited_at", "minutes", "note", "lat", "lng", "status", "points")
    visits = _rows(select(*_cols(Visit, *f)).where(Visit.user_id == uid).order_by(Visit.id), *f)
    meetings = _rows(select(Meeting.id, Meeting.kind, Meeting.title, Meeting.starts_at, MeetingAttendee.expected,
                            MeetingAttendee.status, MeetingAttendee.checkin_at, MeetingAttendee.leave_reason)
                     .join(Meeting, Meeting.id == MeetingAttendee.meeting_id)
                     .where(MeetingAttendee.user_id == uid).order_by(Meeting.starts_at),
                     "meeting_id", "kind", "title", "starts_at", "expected", "status", "checkin_at", "leave_reason")
    follow_ups = _rows(select(FollowUp.community_id, FollowUp.status, FollowUp.note, FollowUp.created_at)
                       .where(FollowUp.user_id == uid).order_by(FollowUp.id),
                       "community_id", "status", "note", "created_at")
    return {"duty_posts": holders, "duty_logs": logs, "household_links": links, "visits": visits,
            "meetings": meetings, "follow_ups": follow_ups}


def _records(uid: int) -> dict:
    evaluations = _rows(select(Evaluation.community_id, Evaluation.period, Evaluation.rating, Evaluation.comment,
                               Evaluation.updated_at).where(Evaluation.user_id == uid).order_by(Evaluation.id),
                        "community_id", "period", "rating", "comment", "updated_at")
    f = ("number", "code", "name", "date_from", "date_to", "total_minutes", "issued_at")
    certificates = _rows(select(*_cols(Certificate, *f)).where(Certificate.user_id == uid)
                         .order_by(Certificate.id), *f)
    roster = _rows(select(Unit.name, UnitMember.name, UnitMember.phone, UnitMember.created_at, UnitMember.removed_at)
                   .join(Unit, Unit.id == UnitMember.unit_id).where(UnitMember.user_id == uid),
                   "unit", "name", "phone", "listed_at", "removed_at")
    notes = _rows(select(Notification.kind, Notification.data, Notification.status, Notification.created_at,
                         Notification.sent_at).where(Notification.user_id == uid).order_by(Notification.id),
                  "kind", "data", "status", "created_at", "sent_at")
    return {"evaluations": evaluations, "certificates": certificates, "unit_rosters": roster, "notifications": notes}


def export_my_data(user: User) -> dict:
    """Everything held about the caller: profile, reports, claims, attendances, points, wishes,
    party work, evaluations, consents (current and history), certificates, notifications."""
    return {"exported_at": _v(utcnow()), "profile": _profile(user), "member_reports": _reports(user.id),
            **_tasks(user.id), **_wishes(user.id), **_points(user.id), **_partywork(user.id),
            **_records(user.id),
            "consents": {"current": _v(my_consents(user)), "history": _v(consent_history(user.id))}}

