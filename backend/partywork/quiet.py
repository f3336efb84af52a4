"""Quiet members (流动/失联党员): approved members with no activity for `months`, and follow-ups.

Activity is any of: a task check-in (attendances), a duty log (its work date), a household
visit, or being present at a meeting. A member approved less than `months` ago is not quiet
yet: the membership's start (the live `member` grant) counts as the floor."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from backend.attendance.models import Attendance
from backend.audit.services import record
from backend.auth import policy
from backend.auth.models import RoleGrant, User
from backend.auth.services import REPEAT_WINDOW, lock_person
from backend.db import utcnow
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.partywork import common
from backend.partywork.models_duty import DutyLog
from backend.partywork.models_households import Visit
from backend.partywork.models_meetings import PRESENT, Meeting, MeetingAttendee
from backend.partywork.models_misc import FOLLOW_UP_STATUSES, FollowUp
from backend.reports.services import months_before

MAX_MONTHS = 120


def _latest(q) -> dict[int, datetime]:
    return {uid: at for uid, at in db.session.execute(q).all() if at is not None}


def last_activities(user_ids: list[int]) -> dict[int, tuple[datetime, str]]:
    """Each user's latest activity anywhere: (when, kind) with kind checkin|duty_log|visit|meeting."""
    if not user_ids:
        return {}
    sources = {
        "checkin": _latest(select(Attendance.user_id, func.max(Attendance.checkin_at))
                           .where(Attendance.user_id.in_(user_ids)).group_by(Attendance.user_id)),
        "visit": _latest(select(Visit.user_id, func.max(Visit.visited_at))
                         .where(Visit.user_id.in_(user_ids)).group_by(Visit.user_id)),
        "meeting": _latest(select(MeetingAttendee.user_id, func.max(MeetingAttendee.checkin_at))
                           .where(MeetingAttendee.user_id.in_(user_ids), MeetingAttendee.status == PRESENT)
                           .group_by(MeetingAttendee.user_id)),
    }
    duty = db.session.execute(select(DutyLog.user_id, func.max(DutyLog.date))
                              .where(DutyLog.user_id.in_(user_ids)).group_by(DutyLog.user_id)).all()
    sources["duty_log"] = {uid: common.day_start(d) for uid, d in duty if d is not None}
    out: dict[int, tuple[datetime, str]] = {}
    for kind, latest in sources.items():
        for uid, at in latest.items():
            if uid not in out or at > out[uid][0]:
                out[uid] = (at, kind)
    return out


def _member_since(community_id: int) -> dict[int, datetime]:
    return dict(db.session.execute(select(RoleGrant.user_id, func.min(RoleGrant.created_at)).where(
        RoleGrant.role == "member", RoleGrant.community_id == community_id, RoleGrant.revoked_at.is_(None))
        .group_by(RoleGrant.user_id)).all())


def latest_follow_ups(community_id: int, user_ids: list[int]) -> dict[int, FollowUp]:
    if not user_ids:
        return {}
    newest = (select(func.max(FollowUp.id)).where(FollowUp.community_id == community_id,
                                                   FollowUp.user_id.in_(user_ids))
              .group_by(FollowUp.user_id))
    return {f.user_id: f for f in db.session.scalars(select(FollowUp).where(FollowUp.id.in_(newest)))}


def quiet_members(actor: User, community_id: int, months: int = 6, now: datetime | None = None) -> list[dict]:
    """Members of the community quiet for `months` (staff; street_admin and admin may read),
    the longest quiet first; each with last activity and the latest follow-up."""
    policy.require_community_reader(actor, community_id)
    return find_quiet(community_id, months, now)


def find_quiet(community_id: int, months: int = 6, now: datetime | None = None) -> list[dict]:
    """The rule behind quiet_members, without the access check (for the dashboard's count)."""
    if not (1 <= months <= MAX_MONTHS):
        raise ValidationFailed(details={"months": [f"月数应在 1 到 {MAX_MONTHS} 之间"]})
    cutoff = months_before(now or utcnow(), months)
    since = _member_since(community_id)
    activity = last_activities(list(since))
    quiet = []
    for uid, joined in since.items():
        last = activity.get(uid)
        if joined >= cutoff or (last and last[0] >= cutoff):
            continue
        quiet.append((uid, joined, last))
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_([q[0] for q in quiet])))}
    follow = latest_follow_ups(community_id, [q[0] for q in quiet])
    items = []
    for uid, joined, last in quiet:
        f = follow.get(uid)
        items.append({
            "user_id": uid, "name": users[uid].display_name, "member_since": joined,
            "last_activity_at": last[0] if last else None, "last_activity_kind": last[1] if last else None,
            "follow_up": follow_up_dict(f) if f else None,
        })
    items.sort(key=lambda x: (x["last_activity_at"] or x["member_since"], x["user_id"]))
    return items


def follow_up_dict(f: FollowUp) -> dict:
    return {"id": f.id, "user_id": f.user_id, "status": f.status, "note": f.note, "actor_id": f.actor_id,
            "created_at": f.created_at}


def add_follow_up(actor: User, community_id: int, user_id: int, status: str, note: str = "") -> FollowUp:
    """Staff record a follow-up of a member of their community (history kept; audited)."""
    policy.require_staff(actor, community_id)
    details = {}
    if status not in FOLLOW_UP_STATUSES:
        details["status"] = ["状态应为：" + "、".join(FOLLOW_UP_STATUSES)]
    if not common.is_member(user_id, community_id) and db.session.scalar(select(FollowUp.id).where(
            FollowUp.community_id == community_id, FollowUp.user_id == user_id).limit(1)) is None:
        details["user_id"] = ["该用户不是本社区的党员"]
    if details:
        raise ValidationFailed(details=details)
    # the member's row locked until commit: the same follow-up sent twice at once is recorded once
    lock_person(user_id)
    latest = db.session.scalar(select(FollowUp).where(FollowUp.community_id == community_id,
                                                      FollowUp.user_id == user_id).order_by(FollowUp.id.desc()).limit(1))
    if (latest is not None and latest.actor_id == actor.id and latest.status == status
            and latest.note == (note or "").strip() and latest.created_at > utcnow() - REPEAT_WINDOW):
        return latest  # a double tap or a retry: the history gets no copy
    f = FollowUp(community_id=community_id, user_id=user_id, status=status, note=(note or "").strip(),
                 actor_id=actor.id)
    db.session.add(f)
    db.session.flush()
    # the note stays out of the append-only audit log (closing erases it from the follow-up row)
    record(actor.id, "member.follow_up", "user", user_id, after={"status": status, "note_given": bool(f.note)},
           community_id=community_id)
    return f


def follow_ups(actor: User, community_id: int, user_id: int | None = None) -> list[FollowUp]:
    """The follow-up history of the community (or of one member), newest first."""
    policy.require_community_reader(actor, community_id)
    q = select(FollowUp).where(FollowUp.community_id == community_id)
    if user_id is not None:
        q = q.where(FollowUp.user_id == user_id)
    return list(db.session.scalars(q.order_by(FollowUp.id.desc())))
