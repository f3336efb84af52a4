"""双报到: member reports (个人到居住地社区报到)."""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from backend.api.common import LocalDateTime, PageArgs, current_user, page_schema, paginate
from backend.reports import services
from backend.reports.models import SKILLS, STATUSES, MemberReport

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="双报到：党员到居住地社区报到")

# \A...\Z and [0-9]: `$` would let a trailing newline through and `\d` full-width digits,
# and a phone stored so never matches a roster row or a report again.
PHONE = ma.validate.Regexp(r"\A1[3-9][0-9]{9}\Z", error="请输入11位中国大陆手机号")
NOT_BLANK = ma.validate.Regexp(r"^\s*\S", error="不能为空")


def person_name(**kw):
    return ma.fields.String(validate=[ma.validate.Length(min=1, max=64), NOT_BLANK], **kw)


class CreateMemberReport(ma.Schema):
    community_id = ma.fields.Integer(required=True)
    unit_id = ma.fields.Integer(required=True)
    grid_id = ma.fields.Integer(load_default=None, allow_none=True)
    name = person_name(required=True)
    phone = ma.fields.String(load_default=None, validate=PHONE,
                             metadata={"description": "required unless the caller bound a verified phone (POST /me/phone)"})
    skills = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(SKILLS, error="未知技能")),
                            load_default=list, validate=ma.validate.Length(max=len(SKILLS)))
    skills_other = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))

    @ma.validates_schema(skip_on_field_errors=False)  # listed with the other missing fields
    def _phone_unless_verified(self, data, **kw):
        if data.get("phone") is None and "phone" in data and current_user().verified_phone is None:
            raise ma.ValidationError("此项必填", "phone")


class DecisionArgs(ma.Schema):
    approve = ma.fields.Boolean(required=True)
    reason = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=200))

    @ma.validates_schema
    def _reason_when_rejecting(self, data, **kw):
        if data.get("approve") is False and not (data.get("reason") or "").strip():
            raise ma.ValidationError("驳回时请填写原因", "reason")


class ReportListArgs(PageArgs):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(STATUSES))
    q = ma.fields.String(load_default=None, validate=ma.validate.Length(max=50),
                         metadata={"description": "only reports whose name contains this (a member picker's search)"})


class MemberReportSchema(ma.Schema):
    id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    community_id = ma.fields.Integer()
    community_name = ma.fields.Function(lambda r: r.community.name)
    unit_id = ma.fields.Integer()
    unit_name = ma.fields.Function(lambda r: r.unit.name)
    grid_id = ma.fields.Integer(allow_none=True)
    grid_name = ma.fields.Function(lambda r: r.grid.name if r.grid else None)
    name = ma.fields.String()
    phone = ma.fields.String()
    phone_verified = ma.fields.Boolean(metadata={"description": "the phone is the one WeChat vouched for to the reporter"})
    skills = ma.fields.List(ma.fields.String())
    skills_other = ma.fields.String()
    status = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    decided_by_id = ma.fields.Integer(allow_none=True)
    decided_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()
    closed_at = LocalDateTime(allow_none=True)


class SkillsSchema(ma.Schema):
    skills = ma.fields.List(ma.fields.String())


MemberReportPage = page_schema(MemberReportSchema, "MemberReportPage")


@blp.get("/member-reports/skills")
@blp.response(200, SkillsSchema)
def list_skills():
    """The fixed list of skills a report may name (others go to skills_other)."""
    current_user()
    return {"skills": list(SKILLS)}


@blp.post("/member-reports")
@blp.arguments(CreateMemberReport)
@blp.response(201, MemberReportSchema)
def file_report(args):
    """File a report to the residence community (pending until staff decide); without a phone,
    the caller's verified one (POST /me/phone)."""
    user = current_user()
    if args["phone"] is None:  # the schema refused it unless a verified phone is bound
        args["phone"] = user.verified_phone
    return services.file_member_report(user, renew_months=current_app.config["REPORT_REMIND_MONTHS"], **args)


@blp.get("/member-reports/<int:report_id>")
@blp.response(200, MemberReportSchema)
def get_report(report_id):
    """One member report (its reporter or staff of its community)."""
    return services.read_member_report(current_user(), report_id)


@blp.post("/member-reports/<int:report_id>/decision")
@blp.arguments(DecisionArgs)
@blp.response(200, MemberReportSchema)
def decide_report(args, report_id):
    """Approve (grants the member role) or reject with a reason (staff of the community)."""
    return services.decide_member_report(current_user(), report_id, args["approve"], args.get("reason"))


@blp.get("/communities/<int:community_id>/member-reports")
@blp.arguments(ReportListArgs, location="query")
@blp.response(200, MemberReportPage)
def list_community_reports(args, community_id):
    """The community's member reports, newest first, optionally by status and ?q= a part of the name (staff)."""
    query = services.community_member_reports(current_user(), community_id, args["status"], args["q"])
    return paginate(query, MemberReport.id, args["limit"], args["cursor"])
