"""双报到: unit reports (单位到社区报到)."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import LocalDateTime, current_user, page_schema, paginate
from backend.api.reports import DecisionArgs, ReportListArgs
from backend.reports import units
from backend.reports.models import UnitReport

blp = Blueprint("reports_units", __name__, url_prefix="/api/v1", description="双报到：单位到社区报到")

Item = ma.fields.String(validate=ma.validate.Length(min=1, max=100))


class CreateUnitReport(ma.Schema):
    unit_id = ma.fields.Integer(required=True)
    community_id = ma.fields.Integer(required=True)
    resources = ma.fields.List(Item, load_default=list, validate=ma.validate.Length(max=50))
    needs = ma.fields.List(Item, load_default=list, validate=ma.validate.Length(max=50))


class UnitReportSchema(ma.Schema):
    id = ma.fields.Integer()
    unit_id = ma.fields.Integer()
    unit_name = ma.fields.Function(lambda r: r.unit.name)
    community_id = ma.fields.Integer()
    community_name = ma.fields.Function(lambda r: r.community.name)
    resources = ma.fields.List(ma.fields.String())
    needs = ma.fields.List(ma.fields.String())
    status = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    created_by_id = ma.fields.Integer(allow_none=True)
    decided_by_id = ma.fields.Integer(allow_none=True)
    decided_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()


UnitReportPage = page_schema(UnitReportSchema, "UnitReportPage")


@blp.post("/unit-reports")
@blp.arguments(CreateUnitReport)
@blp.response(201, UnitReportSchema)
def file_unit_report(args):
    """Report the unit to a community with its resources and needs (unit_admin of the unit)."""
    return units.file_unit_report(current_user(), **args)


@blp.get("/unit-reports/<int:report_id>")
@blp.response(200, UnitReportSchema)
def get_unit_report(report_id):
    """One unit report (the unit's admins, street_admin, or staff of the community)."""
    return units.read_unit_report(current_user(), report_id)


@blp.post("/unit-reports/<int:report_id>/decision")
@blp.arguments(DecisionArgs)
@blp.response(200, UnitReportSchema)
def decide_unit_report(args, report_id):
    """Approve or reject (with a reason) a unit report (staff of the community)."""
    return units.decide_unit_report(current_user(), report_id, args["approve"], args.get("reason"))


@blp.get("/communities/<int:community_id>/unit-reports")
@blp.arguments(ReportListArgs, location="query")
@blp.response(200, UnitReportPage)
def list_community_unit_reports(args, community_id):
    """Unit reports to the community, newest first, optionally by status (staff)."""
    query = units.community_unit_reports(current_user(), community_id, args["status"])
    return paginate(query, UnitReport.id, args["limit"], args["cursor"])


@blp.get("/units/<int:unit_id>/unit-reports")
@blp.arguments(ReportListArgs, location="query")
@blp.response(200, UnitReportPage)
def list_unit_unit_reports(args, unit_id):
    """The unit's own reports to communities (unit_admin, street_admin, admin)."""
    query = units.unit_unit_reports(current_user(), unit_id, args["status"])
    return paginate(query, UnitReport.id, args["limit"], args["cursor"])
