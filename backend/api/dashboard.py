"""Dashboards (看板) of a community and of a street."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import LocalDateTime, current_user
from backend.oversight import dashboard as svc

blp = Blueprint("dashboard", __name__, url_prefix="/api/v1", description="看板：社区与街道的统计")
PERIOD = r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$"


class DashboardArgs(ma.Schema):
    period = ma.fields.String(load_default=None, validate=ma.validate.Regexp(
        PERIOD, error="格式应为 2026-11、2026-Q4 或 2026"),
        metadata={"description": "YYYY-MM, YYYY-Qn or YYYY (default: the current quarter)"})


class MonthMinutes(ma.Schema):
    month = ma.fields.String()
    scanned = ma.fields.Integer()
    manual = ma.fields.Integer()


class Minutes(ma.Schema):
    scanned = ma.fields.Integer()
    manual = ma.fields.Integer()


class Wishes(ma.Schema):
    posted = ma.fields.Integer()
    fulfilled = ma.fields.Integer()


class TopUnit(ma.Schema):
    unit_id = ma.fields.Integer()
    name = ma.fields.String()
    minutes = ma.fields.Integer()
    members = ma.fields.Integer()


class Ref(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class ReportCounts(ma.Schema):
    reported = ma.fields.Integer()
    listed = ma.fields.Integer()


class CommunityRow(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    report_rate = ma.fields.Float(allow_none=True)
    reported = ma.fields.Integer()
    listed = ma.fields.Integer()
    members_active = ma.fields.Integer()
    tasks = ma.fields.Integer()
    minutes = ma.fields.Nested(Minutes)
    points_issued = ma.fields.Integer()
    points_spent = ma.fields.Integer()
    wishes = ma.fields.Nested(Wishes)
    needs_fulfilled = ma.fields.Integer()
    meeting_attendance_rate = ma.fields.Float(allow_none=True)
    quiet_members = ma.fields.Integer()


class DashboardSchema(ma.Schema):
    period = ma.fields.String()
    as_of = LocalDateTime(metadata={"description": "when these figures were computed: a street's are shared by its "
                                                   "readers for up to STREET_DASHBOARD_MAX_AGE seconds (default 300)"})
    starts_at = LocalDateTime()
    ends_at = LocalDateTime()
    report_rate = ma.fields.Float(allow_none=True, metadata={"description": "0..1; null when no unit lists anyone"})
    report_counts = ma.fields.Nested(ReportCounts)
    members_active = ma.fields.Integer()
    tasks = ma.fields.Integer(metadata={"description": "tasks held (not cancelled) that began in the period"})
    minutes_by_month = ma.fields.List(ma.fields.Nested(MonthMinutes))
    points_issued = ma.fields.Integer()
    points_spent = ma.fields.Integer()
    wishes = ma.fields.Nested(Wishes)
    needs_fulfilled = ma.fields.Integer()
    meeting_attendance_rate = ma.fields.Float(allow_none=True)
    quiet_members = ma.fields.Integer()
    top_units = ma.fields.List(ma.fields.Nested(TopUnit))
    community = ma.fields.Nested(Ref)
    street = ma.fields.Nested(Ref)
    communities = ma.fields.List(ma.fields.Nested(CommunityRow))


@blp.get("/communities/<int:community_id>/dashboard")
@blp.arguments(DashboardArgs, location="query")
@blp.response(200, DashboardSchema)
def community_dashboard(args, community_id):
    """A community's figures for a period (staff of it, its street_admin, admin)."""
    return svc.community_dashboard(current_user(), community_id, args["period"])


@blp.get("/streets/<int:street_id>/dashboard")
@blp.arguments(DashboardArgs, location="query")
@blp.response(200, DashboardSchema)
def street_dashboard(args, street_id):
    """A street's figures for a period, in total and per community (its street_admin, admin)."""
    return svc.street_dashboard(current_user(), street_id, args["period"])
