"""Feedback to employer units: evaluations, the unit's feedback, its Excel exports and issuing."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import LocalDateTime, PageArgs, current_user, cursor_offset, page_schema, paginate
from backend.auth import policy
from backend.feedback import export, services
from backend.feedback.models import RATINGS, Evaluation
from backend.feedback.periods import QUARTER_ERROR
from backend.feedback.unit_feedback import unit_feedback

blp = Blueprint("feedback", __name__, url_prefix="/api/v1", description="单位反馈：社区评价、党员社区表现反馈与导出")

QUARTER = ma.validate.Regexp(r"^\d{4}-Q[1-4]$", error=QUARTER_ERROR)


def quarter(**kw):
    return ma.fields.String(validate=QUARTER, metadata={"example": "2026-Q4"}, **kw)


class EvaluationArgs(ma.Schema):
    user_id = ma.fields.Integer(required=True, strict=True)
    period = quarter(required=True)
    rating = ma.fields.String(required=True, validate=ma.validate.OneOf(RATINGS, error="评价等级应为：优秀、合格、基本合格、不合格"))
    comment = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))


class EvaluationSchema(ma.Schema):
    id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    name = ma.fields.String(allow_none=True)
    community_id = ma.fields.Integer()
    period = ma.fields.String()
    rating = ma.fields.String()
    comment = ma.fields.String()
    version = ma.fields.Integer()
    updated_at = LocalDateTime()
    locked = ma.fields.Boolean(metadata={"description": "the unit's feedback for the period was issued"})


class EvaluationListArgs(PageArgs):
    period = quarter(load_default=None)


class EvaluationVersionSchema(ma.Schema):
    version = ma.fields.Integer()
    rating = ma.fields.String()
    comment = ma.fields.String()
    actor_id = ma.fields.Integer(allow_none=True)
    at = LocalDateTime()


class HistorySchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(EvaluationVersionSchema))


class FeedbackArgs(PageArgs):
    period = quarter(required=True)


class PeriodArgs(ma.Schema):
    period = quarter(required=True)


class RatingSchema(ma.Schema):
    community_id = ma.fields.Integer()
    community_name = ma.fields.String()
    rating = ma.fields.String()
    comment = ma.fields.String()


class FeedbackItem(ma.Schema):
    unit_member_id = ma.fields.Integer(allow_none=True)
    on_roster = ma.fields.Boolean()
    user_id = ma.fields.Integer(allow_none=True)
    name = ma.fields.String()
    phone = ma.fields.String(allow_none=True, metadata={"description": "masked: 138****5678"})
    status = ma.fields.String(metadata={"description": "approved|pending|rejected|not_reported"})
    community_id = ma.fields.Integer(allow_none=True)
    community_name = ma.fields.String(allow_none=True)
    consented = ma.fields.Boolean(metadata={"description": "consented to unit_feedback; else the figures are null"})
    tasks_done = ma.fields.Integer(allow_none=True)
    scanned_minutes = ma.fields.Integer(allow_none=True)
    manual_minutes = ma.fields.Integer(allow_none=True)
    service_minutes = ma.fields.Integer(allow_none=True)
    points = ma.fields.Integer(allow_none=True)
    evaluations = ma.fields.List(ma.fields.Nested(RatingSchema), allow_none=True)


class FeedbackCounts(ma.Schema):
    total = ma.fields.Integer()
    reported = ma.fields.Integer()
    pending = ma.fields.Integer()
    rejected = ma.fields.Integer()
    not_reported = ma.fields.Integer()
    consented = ma.fields.Integer()


class FeedbackSchema(ma.Schema):
    unit_id = ma.fields.Integer()
    unit_name = ma.fields.String(allow_none=True)
    period = ma.fields.String()
    issued_at = LocalDateTime(allow_none=True)
    counts = ma.fields.Nested(FeedbackCounts)
    items = ma.fields.List(ma.fields.Nested(FeedbackItem))
    next_cursor = ma.fields.String(allow_none=True)


class FeedbackExportJob(ma.Schema):
    job_id = ma.fields.String()


class IssueSchema(ma.Schema):
    id = ma.fields.Integer()
    unit_id = ma.fields.Integer()
    period = ma.fields.String()
    issued_at = LocalDateTime()
    summary = ma.fields.Dict()


@blp.post("/communities/<int:community_id>/evaluations")
@blp.arguments(EvaluationArgs)
@blp.response(201, EvaluationSchema)
def evaluate(args, community_id):
    """Rate an approved member of the community for a quarter (staff; 201 new, 200 changed)."""
    row, created = services.evaluate(current_user(), community_id, **args)
    return services.describe([row])[0], 201 if created else 200


@blp.get("/communities/<int:community_id>/evaluations")
@blp.arguments(EvaluationListArgs, location="query")
@blp.response(200, page_schema(EvaluationSchema, "EvaluationPage"))
def list_evaluations(args, community_id):
    """The community's evaluations, newest first, optionally of one quarter (staff, street_admin, admin)."""
    q = services.community_evaluations(current_user(), community_id, args["period"])
    page = paginate(q, Evaluation.id, args["limit"], args["cursor"])
    return {"items": services.describe(page["items"]), "next_cursor": page["next_cursor"]}


@blp.get("/evaluations/<int:evaluation_id>/history")
@blp.response(200, HistorySchema)
def evaluation_history(evaluation_id):
    """Every version of an evaluation, oldest first (readers of its community)."""
    return {"items": services.evaluation_history(current_user(), evaluation_id)}


@blp.get("/units/<int:unit_id>/feedback")
@blp.arguments(FeedbackArgs, location="query")
@blp.response(200, FeedbackSchema)
def get_feedback(args, unit_id):
    """The unit's members for a quarter; figures only for members who consented (unit_admin, street_admin, admin)."""
    policy.require_unit_reader(current_user(), unit_id)
    return unit_feedback(unit_id, args["period"], offset=cursor_offset(args["cursor"]), limit=args["limit"])


@blp.post("/units/<int:unit_id>/feedback-exports")
@blp.arguments(PeriodArgs)
@blp.response(202, FeedbackExportJob)
def export_unit(args, unit_id):
    """Queue the unit's feedback workbook (.xlsx) for a quarter; poll GET /api/v1/jobs/{job_id}."""
    return {"job_id": export.start(current_user(), "unit", unit_id, args["period"]).id}


@blp.post("/streets/<int:street_id>/feedback-exports")
@blp.arguments(PeriodArgs)
@blp.response(202, FeedbackExportJob)
def export_street(args, street_id):
    """Queue one workbook with the feedback of every unit of the street (street_admin, admin)."""
    return {"job_id": export.start(current_user(), "street", street_id, args["period"]).id}


@blp.post("/units/<int:unit_id>/feedback-issues")
@blp.arguments(PeriodArgs)
@blp.response(201, IssueSchema)
def issue(args, unit_id):
    """Issue the unit's feedback for a quarter now, locking its evaluations (street_admin, admin)."""
    return services.issue_for_actor(current_user(), unit_id, args["period"])
