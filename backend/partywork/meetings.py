"""三会一课 and 主题党日: schedule meetings, take attendance with the check-in codes (subject "M"),
mark 请假, and report attendance per period, per member and per meeting. Meetings earn no points."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.audit.services import record
from backend.auth import policy
from backend.auth.models import User
from backend.auth.services import REPEAT_WINDOW, display_names, lock_person
from backend.db import savepoint, utcnow
from backend.errors import InvalidState, NotFound, ValidationFailed
from backend.extensions import db
from backend.partywork import common
from backend.partywork.models_meetings import EXPECTED, KINDS, LEAVE, PRESENT, Meeting, MeetingAttendee

SUBJECT = "M"  # the check-in code's subject type letter for meetings


def get_meeting(meeting_id: int) -> Meeting:
    m = db.session.get(Meeting, meeting_id)
    if m is None:
        raise NotFound("会议不存在")
    return m


def create_meeting(actor: User, community_id: int, *, kind: str, title: str, starts_at: datetime,
                   ends_at: datetime, location: str = "", member_ids: list[int] | None = None) -> Meeting:
    """Staff schedule a meeting; expected members default to every member of the community.
    The same meeting sent again by the same staff member within REPEAT_WINDOW is returned as it is."""
    policy.require_staff(actor, community_id)
    details = {}
    if kind not in KINDS:
        details["kind"] = ["会议类型应为：" + "、".join(KINDS)]
    if not (title or "").strip():
        details["title"] = ["请填写会议主题"]
    if ends_at <= starts_at:
        details["ends_at"] = ["结束时间必须晚于开始时间"]
    members = set(common.member_ids(community_id))
    if member_ids is None:
        expected = sorted(members)
    else:
        expected = list(dict.fromkeys(member_ids))
        strangers = [u for u in expected if u not in members]
        if strangers:
            details["member_ids"] = [f"不是本社区已报到的党员：{strangers}"]
    if details:
        raise ValidationFailed(details=details)
    # the staff member's row locked until commit: the same meeting sent twice at once is made once
    lock_person(actor.id)
    repeat = _repeat(actor, community_id, expected, kind=kind, title=title.strip(), starts_at=starts_at,
                     ends_at=ends_at, location=(location or "").strip())
    if repeat is not None:
        return repeat
    m = Meeting(community_id=community_id, kind=kind, title=title.strip(), starts_at=starts_at,
                ends_at=ends_at, location=(location or "").strip(), created_by_id=actor.id)
    db.session.add(m)
    db.session.flush()
    db.session.add_all(MeetingAttendee(meeting_id=m.id, user_id=u, expected=True, status=EXPECTED)
                       for u in expected)
    db.session.flush()
    record(actor.id, "meeting.create", "meeting", m.id,
           after={"kind": kind, "title": m.title, "starts_at": starts_at, "expected": expected},
           community_id=community_id)
    return m


def _repeat(actor: User, community_id: int, expected: list[int], **fields) -> Meeting | None:
    """The identical meeting (same fields, same expected members) this staff member scheduled
    within REPEAT_WINDOW, if any: what a double tap or a retried request asks for again."""
    for m in db.session.scalars(select(Meeting).where(
            Meeting.community_id == community_id, Meeting.created_by_id == actor.id,
            Meeting.created_at > utcnow() - REPEAT_WINDOW, *[getattr(Meeting, k) == v for k, v in fields.items()])):
        if sorted(a.user_id for a in attendees(m.id) if a.expected) == sorted(expected):
            return m
    return None


def read_meeting(user: User, meeting_id: int) -> Meeting:
    """Community readers and the meeting's own attendees."""
    m = get_meeting(meeting_id)
    if _attendee(m.id, user.id) is None:
        policy.require_community_reader(user, m.community_id)
    return m


def community_meetings(user: User, community_id: int):
    """A select() of the community's meetings (community readers), for paging."""
    policy.require_community_reader(user, community_id)
    return select(Meeting).where(Meeting.community_id == community_id)


def my_meetings(user: User) -> list[tuple[Meeting, MeetingAttendee]]:
    """Meetings the caller is expected at or attended, newest first."""
    return list(db.session.execute(select(Meeting, MeetingAttendee)
                                   .join(MeetingAttendee, MeetingAttendee.meeting_id == Meeting.id)
                                   .where(MeetingAttendee.user_id == user.id)
                                   .order_by(Meeting.starts_at.desc())).tuples())


def attendees(meeting_id: int) -> list[MeetingAttendee]:
    return list(db.session.scalars(select(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting_id)
                                   .order_by(MeetingAttendee.id)))


def _attendee(meeting_id: int, user_id: int, lock: bool = False) -> MeetingAttendee | None:
    q = select(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting_id, MeetingAttendee.user_id == user_id)
    return db.session.scalar(q.with_for_update() if lock else q)


def _add_attendee(meeting_id: int, user_id: int, expected: bool) -> MeetingAttendee:
    """A new attendee row, or (locked) the one a concurrent request has just added for the person."""
    row = MeetingAttendee(meeting_id=meeting_id, user_id=user_id, expected=expected, status=EXPECTED)
    try:
        with savepoint(db.session):  # added inside: begin_nested() flushes what is pending first
            db.session.add(row)
            db.session.flush()
    except IntegrityError:  # a double tap, or an offline upload racing the online scan
        return _attendee(meeting_id, user_id, lock=True)
    return row


def checkin_code(actor: User, meeting_id: int, now: datetime | None = None) -> dict:
    """A rotating signed code for the meeting (staff), as for tasks; meetings only check in."""
    from backend.attendance.services import issue_code

    m = get_meeting(meeting_id)
    policy.require_staff(actor, m.community_id)
    return issue_code(SUBJECT, m.id, "in", now)


def meeting_scan(user: User, scan, *, lat=None, lng=None, settings=None) -> tuple[dict, bool]:
    """POST /checkins for an "M" code: the scanner is marked present once (201, then 200).

    Members of the community not on the list are added as unexpected attendees; others get
    409 NOT_INVITED. Scans are accepted from CHECKIN_EARLY_MIN before the start to the end."""
    from backend.attendance.errors import CodeInvalid

    from backend.partywork.common import MeetingClosed, NotInvited

    m = db.session.get(Meeting, scan.subject_id)
    if m is None or scan.action != "in":
        raise CodeInvalid()
    early = timedelta(minutes=settings.early_min if settings else 120)
    if not (m.starts_at - early <= scan.at <= m.ends_at):
        raise MeetingClosed()
    row = _attendee(m.id, user.id, lock=True)
    if row is None:
        if not common.is_member(user.id, m.community_id):
            raise NotInvited()
        row = _add_attendee(m.id, user.id, expected=False)
    created = row.status != PRESENT
    if created:
        row.status, row.checkin_at, row.checkin_offline = PRESENT, scan.at, scan.offline
        row.leave_reason = row.leave_by_id = row.leave_at = None  # came after all
        db.session.flush()
    body = {"meeting_id": m.id, "action": "in", "at": row.checkin_at}
    if scan.offline:
        body["offline"] = True
    return body, created


def mark_leave(actor: User, meeting_id: int, user_id: int, reason: str) -> MeetingAttendee:
    """Staff mark 请假 with a reason for an expected member (a member of the community is added)."""
    m = get_meeting(meeting_id)
    policy.require_staff(actor, m.community_id)
    if not (reason or "").strip():
        raise ValidationFailed(details={"reason": ["请填写请假原因"]})
    row = _attendee(m.id, user_id, lock=True)
    if row is None:
        if not common.is_member(user_id, m.community_id):
            raise ValidationFailed(details={"user_id": ["该用户不是本社区已报到的党员"]})
        row = _add_attendee(m.id, user_id, expected=True)
    if row.status == PRESENT:
        raise InvalidState("该党员已签到，不能请假")
    if row.status == LEAVE and row.leave_reason == reason.strip():
        return row  # the same 请假 again (a double tap, a retry): the first record stands
    # the reason itself stays out of the append-only audit log: it is the person's (often a
    # health matter) and closing their account erases it from the attendee row
    before = {"user_id": user_id, "status": row.status, "reason_given": bool(row.leave_reason)}
    row.expected = True
    row.status, row.leave_reason, row.leave_by_id, row.leave_at = LEAVE, reason.strip(), actor.id, utcnow()
    db.session.flush()
    record(actor.id, "meeting.leave", "meeting", m.id, before=before,
           after={"user_id": user_id, "status": LEAVE, "reason_given": True}, community_id=m.community_id)
    return row


def _rate(present: int, expected: int) -> float | None:
    return round(present / expected, 4) if expected else None


def attendance(actor: User, community_id: int, period: str, now: datetime | None = None) -> dict:
    """Per meeting and per member attendance of the meetings that began in the period (and by now).

    expected counts everyone on the list (unexpected walk-ins are present but not expected);
    rate = present expected members / expected; 请假 counts as not present, but not absent."""
    policy.require_community_reader(actor, community_id)
    start, end = common.parse_period(period)
    end = min(end, now or utcnow())
    meetings = list(db.session.scalars(select(Meeting).where(
        Meeting.community_id == community_id, Meeting.starts_at >= start, Meeting.starts_at < end)
        .order_by(Meeting.starts_at, Meeting.id)))
    rows = list(db.session.scalars(select(MeetingAttendee).where(
        MeetingAttendee.meeting_id.in_([m.id for m in meetings])))) if meetings else []
    names = display_names(r.user_id for r in rows)
    per_meeting = {m.id: {"expected": 0, "present": 0, "leave": 0, "absent": 0, "walk_in": 0} for m in meetings}
    per_member: dict[int, dict] = {}
    for r in rows:
        pm = per_meeting[r.meeting_id]
        mem = per_member.setdefault(r.user_id, {"user_id": r.user_id, "name": names.get(r.user_id),
                                                "expected": 0, "present": 0, "leave": 0, "absent": 0})
        if not r.expected:
            pm["walk_in"] += 1
            continue
        key = {PRESENT: "present", LEAVE: "leave"}.get(r.status, "absent")
        for counts in (pm, mem):
            counts["expected"] += 1
            counts[key] += 1
    items = []
    for m in meetings:
        c = per_meeting[m.id]
        items.append({"id": m.id, "kind": m.kind, "title": m.title, "starts_at": m.starts_at, **c,
                      "rate": _rate(c["present"], c["expected"])})
    members = sorted(per_member.values(), key=lambda x: x["user_id"])
    for mem in members:
        mem["rate"] = _rate(mem["present"], mem["expected"])
    expected = sum(c["expected"] for c in per_meeting.values())
    present = sum(c["present"] for c in per_meeting.values())
    by_kind: dict[str, int] = {}
    for m in meetings:
        by_kind[m.kind] = by_kind.get(m.kind, 0) + 1
    return {"period": period, "meetings": items, "members": members, "meetings_held": len(meetings),
            "by_kind": by_kind, "expected": expected, "present": present, "rate": _rate(present, expected)}


def attendance_rate(community_ids: list[int], start: datetime, end: datetime) -> float | None:
    """Present / expected over the meetings of these communities that began in [start, end)
    (for the dashboard); None when nobody was expected."""
    rows = db.session.execute(select(MeetingAttendee.status).join(Meeting, Meeting.id == MeetingAttendee.meeting_id)
                              .where(Meeting.community_id.in_(community_ids), Meeting.starts_at >= start,
                                     Meeting.starts_at < min(end, utcnow()), MeetingAttendee.expected.is_(True))).all()
    return _rate(sum(1 for (s,) in rows if s == PRESENT), len(rows))
