"""三会一课 and 主题党日: meetings, their check-in codes, 请假, and attendance per period."""
from __future__ import annotations

import marshmallow as ma
from flask import url_for
from flask_smorest import Blueprint

import backend.partywork.checkin  # noqa: F401  (registers "M" codes with POST /checkins)
from backend.api.common import LocalDateTime, current_user, idempotent, page_schema, paginate
from backend.auth.models import User
from backend.extensions import db
from backend.partywork import meetings as svc
from backend.partywork.models_meetings import KINDS, Meeting

blp = Blueprint("meetings", __name__, url_prefix="/api/v1", description="三会一课")
V = ma.validate


class CreateMeetingArgs(ma.Schema):
    kind = ma.fields.String(required=True, validate=V.OneOf(KINDS))
    title = ma.fields.String(required=True, validate=V.Length(min=1, max=100))
    starts_at = LocalDateTime(required=True)
    ends_at = LocalDateTime(required=True)
    location = ma.fields.String(load_default="", validate=V.Length(max=200))
    member_ids = ma.fields.List(ma.fields.Integer(strict=True), load_default=None, allow_none=True,
                                validate=V.Length(max=2000),
                                metadata={"description": "expected members; omitted: every member of the community"})

    @ma.validates_schema
    def _order(self, data, **kw):
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise ma.ValidationError("结束时间必须晚于开始时间", "ends_at")


class MeetingAttendeeSchema(ma.Schema):
    user_id = ma.fields.Integer()
    name = ma.fields.Method("_name")
    expected = ma.fields.Boolean()
    status = ma.fields.String(metadata={"description": "expected | present | leave"})
    checkin_at = LocalDateTime(allow_none=True)
    leave_reason = ma.fields.String(allow_none=True)

    def _name(self, a):
        u = db.session.get(User, a.user_id)
        return u.display_name if u else None


class MeetingSchema(ma.Schema):
    id = ma.fields.Integer()
    community_id = ma.fields.Integer()
    kind = ma.fields.String()
    title = ma.fields.String()
    starts_at = LocalDateTime()
    ends_at = LocalDateTime()
    location = ma.fields.String()
    created_at = LocalDateTime()


class MeetingDetail(MeetingSchema):
    attendees = ma.fields.Method("_attendees")

    def _attendees(self, m):
        return MeetingAttendeeSchema(many=True).dump(svc.attendees(m.id))


MeetingPage = page_schema(MeetingSchema, "MeetingPage")


class MyMeetingSchema(MeetingSchema):
    my_status = ma.fields.String()
    checkin_at = LocalDateTime(allow_none=True)


class MyMeetingList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(MyMeetingSchema))
    next_cursor = ma.fields.String(allow_none=True)


class MeetingCodeSchema(ma.Schema):
    meeting_id = ma.fields.Integer()
    action = ma.fields.String()
    code = ma.fields.String()
    expires_at = LocalDateTime()
    refresh_after = ma.fields.Integer()
    image_url = ma.fields.String()


class MeetingLeaveArgs(ma.Schema):
    user_id = ma.fields.Integer(required=True, strict=True)
    reason = ma.fields.String(required=True, validate=V.Length(min=1, max=500))


class MeetingPeriodArgs(ma.Schema):
    period = ma.fields.String(required=True, validate=V.Regexp(
        r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$", error="期间格式应为 2026-11、2026-Q4 或 2026"))


class AttendanceCounts(ma.Schema):
    expected = ma.fields.Integer()
    present = ma.fields.Integer()
    leave = ma.fields.Integer()
    absent = ma.fields.Integer()
    rate = ma.fields.Float(allow_none=True, metadata={"description": "present / expected, 0..1"})


class MeetingAttendanceCounts(AttendanceCounts):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    title = ma.fields.String()
    starts_at = LocalDateTime()
    walk_in = ma.fields.Integer()


class MemberAttendanceCounts(AttendanceCounts):
    user_id = ma.fields.Integer()
    name = ma.fields.String(allow_none=True)


class MeetingAttendanceReport(ma.Schema):
    period = ma.fields.String()
    meetings_held = ma.fields.Integer()
    by_kind = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    expected = ma.fields.Integer()
    present = ma.fields.Integer()
    rate = ma.fields.Float(allow_none=True)
    meetings = ma.fields.List(ma.fields.Nested(MeetingAttendanceCounts))
    members = ma.fields.List(ma.fields.Nested(MemberAttendanceCounts))


@blp.post("/communities/<int:community_id>/meetings")
@idempotent
@blp.arguments(CreateMeetingArgs)
@blp.response(201, MeetingDetail)
def create_meeting(args, community_id):
    """Schedule a branch meeting with the members expected (staff of the community)."""
    return svc.create_meeting(current_user(), community_id, **args)


@blp.get("/communities/<int:community_id>/meetings")
@blp.arguments(ma.Schema.from_dict({
    "limit": ma.fields.Integer(load_default=20, validate=V.Range(1, 100)),
    "cursor": ma.fields.String(load_default=None, validate=V.Length(max=200))}, name="MeetingListArgs"),
    location="query")
@blp.response(200, MeetingPage)
def list_meetings(args, community_id):
    """The community's meetings, newest first (staff, street_admin, admin)."""
    q = svc.community_meetings(current_user(), community_id)
    return paginate(q, Meeting.id, args["limit"], args["cursor"])


@blp.get("/meetings/<int:meeting_id>")
@blp.response(200, MeetingDetail)
def get_meeting(meeting_id):
    """A meeting with its attendees (community readers and the attendees)."""
    return svc.read_meeting(current_user(), meeting_id)


@blp.get("/me/meetings")
@blp.response(200, MyMeetingList)
def my_meetings():
    """Meetings the caller is expected at, with the caller's status."""
    out = [{**{f: getattr(m, f) for f in MeetingSchema._declared_fields}, "my_status": a.status,
            "checkin_at": a.checkin_at} for m, a in svc.my_meetings(current_user())]
    return {"items": out, "next_cursor": None}


@blp.get("/meetings/<int:meeting_id>/checkin-code")
@blp.response(200, MeetingCodeSchema)
def checkin_code(meeting_id):
    """A rotating check-in code for the meeting (staff of its community); members scan it with POST /checkins."""
    out = svc.checkin_code(current_user(), meeting_id)
    out.update(meeting_id=meeting_id, action="in",
               image_url=url_for("attendance.code_image", code=out["code"]))
    return out


@blp.post("/meetings/<int:meeting_id>/leaves")
@blp.arguments(MeetingLeaveArgs)
@blp.response(201, MeetingAttendeeSchema)
def mark_leave(args, meeting_id):
    """Mark 请假 with a reason for a member (staff)."""
    return svc.mark_leave(current_user(), meeting_id, args["user_id"], args["reason"])


@blp.get("/communities/<int:community_id>/meeting-attendance")
@blp.arguments(MeetingPeriodArgs, location="query")
@blp.response(200, MeetingAttendanceReport)
def meeting_attendance(args, community_id):
    """Attendance of the period's meetings, per meeting and per member, with rates (staff)."""
    return svc.attendance(current_user(), community_id, args["period"])
