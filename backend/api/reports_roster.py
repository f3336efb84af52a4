"""双报到: a unit's roster of in-service members and its report view (报到统计)."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import LocalDateTime, PageArgs, current_user, cursor_offset
from backend.api.reports import PHONE, person_name
from backend.reports import roster

blp = Blueprint("reports_roster", __name__, url_prefix="/api/v1", description="双报到：单位在职党员名册与报到统计")


class RosterRow(ma.Schema):
    name = person_name(required=True)
    phone = ma.fields.String(required=True, validate=PHONE)


class RosterArgs(ma.Schema):
    members = ma.fields.List(ma.fields.Nested(RosterRow), required=True,
                             validate=ma.validate.Length(min=1, max=1000))


class RosterResult(ma.Schema):
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    total = ma.fields.Integer()


class ViewArgs(PageArgs):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(roster.VIEW_STATUSES))


class ViewItem(ma.Schema):
    unit_member_id = ma.fields.Integer(allow_none=True)
    on_roster = ma.fields.Boolean()
    name = ma.fields.String()
    phone = ma.fields.String(metadata={"description": "masked: 138****5678"})
    user_id = ma.fields.Integer(allow_none=True)
    status = ma.fields.String(metadata={"description": "approved|pending|rejected|not_reported"})
    report_id = ma.fields.Integer(allow_none=True)
    community_id = ma.fields.Integer(allow_none=True)
    community_name = ma.fields.String(allow_none=True)
    reported_at = LocalDateTime(allow_none=True)
    decided_at = LocalDateTime(allow_none=True)


class Counts(ma.Schema):
    reported = ma.fields.Integer()
    pending = ma.fields.Integer()
    not_reported = ma.fields.Integer(metadata={"description": "includes rejected"})
    rejected = ma.fields.Integer()
    total = ma.fields.Integer()


class UnitView(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ViewItem))
    next_cursor = ma.fields.String(allow_none=True)
    counts = ma.fields.Nested(Counts)


@blp.post("/units/<int:unit_id>/members")
@blp.arguments(RosterArgs)
@blp.response(200, RosterResult)
def upsert_members(args, unit_id):
    """Add or update roster members by phone (unit_admin of the unit)."""
    return roster.upsert_roster(current_user(), unit_id, args["members"])


@blp.delete("/units/<int:unit_id>/members/<int:member_id>")
@blp.response(204)
def remove_member(unit_id, member_id):
    """Take someone off the roster (unit_admin of the unit); the row is kept as history."""
    roster.remove_roster_member(current_user(), unit_id, member_id)


@blp.get("/units/<int:unit_id>/members")
@blp.arguments(ViewArgs, location="query")
@blp.response(200, UnitView)
def unit_view(args, unit_id):
    """The unit's members with report status and community, masked phones, and counts
    (unit_admin of the unit, street_admin of its street, admin)."""
    view = roster.unit_view(current_user(), unit_id, args["status"])
    start = cursor_offset(args["cursor"])
    end = start + args["limit"]
    more = end < len(view["items"])
    return {"items": view["items"][start:end], "counts": view["counts"], "next_cursor": str(end) if more else None}
