"""Marshmallow schemas for tasks and claims: input shape checks and the output shape."""
from __future__ import annotations

import marshmallow as ma

from backend.api.common import LocalDateTime, PageArgs
from backend.db import utcnow
from backend.tasks import services
from backend.tasks.queries import STATUSES

V = ma.validate


class LocationArgs(ma.Schema):
    name = ma.fields.String(load_default="", validate=V.Length(max=200))
    lat = ma.fields.Float(load_default=None, allow_none=True, validate=V.Range(*services.LAT_RANGE, error="纬度不在中国境内"))
    lng = ma.fields.Float(load_default=None, allow_none=True, validate=V.Range(*services.LNG_RANGE, error="经度不在中国境内"))

    @ma.validates_schema
    def _both(self, data, **kw):
        if (data.get("lat") is None) != (data.get("lng") is None):
            raise ma.ValidationError("经纬度需同时填写", "lat")


class LocationPatchArgs(LocationArgs):
    """A location edit: the parts not sent are kept (renaming the place keeps its geofence)."""

    name = ma.fields.String(validate=V.Length(max=200))
    lat = ma.fields.Float(allow_none=True, validate=V.Range(*services.LAT_RANGE, error="纬度不在中国境内"))
    lng = ma.fields.Float(allow_none=True, validate=V.Range(*services.LNG_RANGE, error="经度不在中国境内"))


Skill = ma.fields.String(validate=V.Length(min=1, max=30))
_LOCATION_COLUMNS = {"name": "location_name", "lat": "lat", "lng": "lng"}


def _flatten_location(data: dict) -> dict:
    loc = data.pop("location", None)
    if loc is not None:
        data.update({_LOCATION_COLUMNS[k]: v for k, v in loc.items()})
    return data


class CreateTaskArgs(ma.Schema):
    title = ma.fields.String(required=True, validate=V.Length(min=1, max=100))
    description = ma.fields.String(load_default="", validate=V.Length(max=2000))
    category = ma.fields.String(load_default="", validate=V.Length(max=50))
    starts_at = LocalDateTime(required=True)
    ends_at = LocalDateTime(required=True)
    location = ma.fields.Nested(LocationArgs, required=True)
    capacity = ma.fields.Integer(required=True, strict=True, validate=V.Range(1, services.MAX_CAPACITY))
    points_per_hour = ma.fields.Integer(load_default=0, strict=True, validate=V.Range(0, services.MAX_POINTS_PER_HOUR))
    skills = ma.fields.List(Skill, load_default=list, validate=V.Length(max=20))

    @ma.validates("title")
    def _title(self, value, **kw):
        if not value.strip():
            raise ma.ValidationError("标题不能为空")

    @ma.validates_schema
    def _times(self, data, **kw):
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise ma.ValidationError("结束时间必须晚于开始时间", "ends_at")
        # a task already over can be neither signed up for nor attended: a typo, not a post
        # (one already under way may be posted: late-notice help is still help)
        if data.get("ends_at") and data["ends_at"] <= utcnow():
            raise ma.ValidationError("结束时间已过，请检查日期", "ends_at")

    @ma.post_load
    def _flat(self, data, **kw):
        return _flatten_location(data)


class UpdateTaskArgs(CreateTaskArgs):
    """Any subset of the create fields; the service checks the merged result."""

    title = ma.fields.String(validate=V.Length(min=1, max=100))
    description = ma.fields.String(validate=V.Length(max=2000))
    category = ma.fields.String(validate=V.Length(max=50))
    starts_at = LocalDateTime()
    ends_at = LocalDateTime()
    location = ma.fields.Nested(LocationPatchArgs)
    capacity = ma.fields.Integer(strict=True, validate=V.Range(1, services.MAX_CAPACITY))
    points_per_hour = ma.fields.Integer(strict=True, validate=V.Range(0, services.MAX_POINTS_PER_HOUR))
    skills = ma.fields.List(Skill, validate=V.Length(max=20))


class CancelTaskArgs(ma.Schema):
    reason = ma.fields.String(required=True, validate=V.Length(min=1, max=200))


class TaskListArgs(PageArgs):
    community_id = ma.fields.Integer(load_default=None)
    status = ma.fields.String(load_default="open", validate=V.OneOf(STATUSES))
    skill = ma.fields.String(load_default=None, validate=V.Length(min=1, max=30))
    date = ma.fields.Date(load_default=None)
    recommended = ma.fields.Boolean(load_default=False)


class MyTaskArgs(PageArgs):
    status = ma.fields.String(load_default="open", validate=V.OneOf(STATUSES),
                              metadata={"description": "open (soonest first) | ended | cancelled | all (latest first)"})


class CommunityTaskArgs(PageArgs):
    status = ma.fields.String(load_default="all", validate=V.OneOf(STATUSES))


class MyClaimSchema(ma.Schema):
    id = ma.fields.Integer()
    status = ma.fields.String()
    created_at = LocalDateTime()


class ClaimSchema(MyClaimSchema):
    task_id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    cancelled_at = LocalDateTime(allow_none=True)


class ClaimerSchema(ClaimSchema):
    """A claim as the task's staff see it: who, no phone."""

    name = ma.fields.String()


class TaskSchema(ma.Schema):
    id = ma.fields.Integer()
    community_id = ma.fields.Integer()
    title = ma.fields.String()
    description = ma.fields.String()
    category = ma.fields.String()
    starts_at = LocalDateTime()
    ends_at = LocalDateTime()
    location = ma.fields.Function(lambda t: {"name": t.location_name, "lat": t.lat, "lng": t.lng})
    capacity = ma.fields.Integer()
    claimed_count = ma.fields.Integer()
    points_per_hour = ma.fields.Integer()
    skills = ma.fields.List(ma.fields.String())
    status = ma.fields.Function(lambda t: "cancelled" if services.state(t) == "cancelled"
                                else "ended" if services.state(t) == "ended" else "open",
                                metadata={"description": "open | ended | cancelled"})
    phase = ma.fields.Function(lambda t: services.state(t),
                               metadata={"description": "upcoming | ongoing | ended | cancelled"})
    cancel_reason = ma.fields.String(allow_none=True)
    cancelled_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()
    my_claim = ma.fields.Nested(MyClaimSchema, allow_none=True, dump_default=None)
    skill_match = ma.fields.Integer(metadata={"description": "matching skills (with ?recommended=1)"})


class MyAttendanceSchema(ma.Schema):
    status = ma.fields.String(metadata={"description": "checked_in | checked_out | absent"})
    checkin_at = LocalDateTime(allow_none=True)
    checkout_at = LocalDateTime(allow_none=True)
    minutes = ma.fields.Integer()
    points = ma.fields.Integer(metadata={"description": "awarded so far"})
    awarded_at = LocalDateTime(allow_none=True)


class MyTaskSchema(TaskSchema):
    my_attendance = ma.fields.Nested(MyAttendanceSchema, allow_none=True, dump_default=None)
