"""Duty posts (设岗定责): posts, holders, duty logs and their confirmation."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import LocalDateTime, current_user, idempotent, page_schema, paginate
from backend.auth.models import User
from backend.extensions import db
from backend.partywork import duty
from backend.partywork.common import MAX_MINUTES
from backend.partywork.models_duty import HOLDER_PENDING, DutyLog

blp = Blueprint("duty", __name__, url_prefix="/api/v1", description="设岗定责")
V = ma.validate


class CreateDutyPostArgs(ma.Schema):
    name = ma.fields.String(required=True, validate=V.Length(min=1, max=100))
    duties = ma.fields.String(load_default="", validate=V.Length(max=2000))
    seats = ma.fields.Integer(required=True, strict=True, validate=V.Range(1, duty.MAX_SEATS))
    grid_id = ma.fields.Integer(load_default=None, allow_none=True)
    building = ma.fields.String(load_default=None, allow_none=True, validate=V.Length(max=100))
    points_per_month = ma.fields.Integer(load_default=None, allow_none=True, strict=True, validate=V.Range(0, 10000))


class DutyHolderSchema(ma.Schema):
    id = ma.fields.Integer()
    post_id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    name = ma.fields.Method("_name")
    status = ma.fields.String()
    appointed = ma.fields.Boolean()
    applied_at = LocalDateTime()
    decided_at = LocalDateTime(allow_none=True)
    started_at = LocalDateTime(allow_none=True)
    ended_at = LocalDateTime(allow_none=True)

    def _name(self, h):
        u = db.session.get(User, h["user_id"] if isinstance(h, dict) else h.user_id)
        return u.display_name if u else None


class DutyPostBrief(ma.Schema):
    id = ma.fields.Integer()
    community_id = ma.fields.Integer()
    name = ma.fields.String()
    duties = ma.fields.String()
    seats = ma.fields.Integer()
    grid_id = ma.fields.Integer(allow_none=True)
    building = ma.fields.String(allow_none=True)
    points_per_month = ma.fields.Integer()
    free_seats = ma.fields.Integer()
    created_at = LocalDateTime()


class DutyPostSchema(DutyPostBrief):
    holders = ma.fields.List(ma.fields.Nested(DutyHolderSchema))
    pending = ma.fields.Integer(metadata={"description": "applications waiting for staff"})


class DutyPostList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DutyPostSchema))
    next_cursor = ma.fields.String(allow_none=True)


class DutyHolderList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DutyHolderSchema))
    next_cursor = ma.fields.String(allow_none=True)


class MyDutyPostSchema(DutyHolderSchema):
    post = ma.fields.Nested(DutyPostBrief)


class MyDutyPostList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(MyDutyPostSchema))
    next_cursor = ma.fields.String(allow_none=True)


class DutyHolderArgs(ma.Schema):
    user_id = ma.fields.Integer(load_default=None, allow_none=True,
                                metadata={"description": "staff appoint this member; omitted: the caller applies"})


class DutyDecisionArgs(ma.Schema):
    approve = ma.fields.Boolean(required=True)


class DutyLogArgs(ma.Schema):
    date = ma.fields.Date(required=True)
    minutes = ma.fields.Integer(required=True, strict=True, validate=V.Range(1, MAX_MINUTES, error="时长应在 1 到 1440 分钟之间"))
    note = ma.fields.String(load_default="", validate=V.Length(max=1000))


class DutyLogSchema(ma.Schema):
    id = ma.fields.Integer()
    post_id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    community_id = ma.fields.Integer()
    date = ma.fields.Date()
    minutes = ma.fields.Integer()
    note = ma.fields.String()
    status = ma.fields.String()
    points = ma.fields.Integer()
    confirmed_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()


DutyLogPage = page_schema(DutyLogSchema, "DutyLogPage")


class DutyLogListArgs(ma.Schema):
    status = ma.fields.String(load_default=None, validate=V.OneOf(["pending", "confirmed"]))
    limit = ma.fields.Integer(load_default=20, validate=V.Range(1, 100))
    cursor = ma.fields.String(load_default=None, validate=V.Length(max=200))


class ConfirmDutyLogsArgs(ma.Schema):
    log_ids = ma.fields.List(ma.fields.Integer(strict=True), required=True, validate=V.Length(min=1, max=500))


class DutyAwardResult(ma.Schema):
    awarded = ma.fields.Integer()
    points = ma.fields.Integer()


def _post_view(post, holders=None, pending=0):
    holders = holders if holders is not None else duty.holders_of([post.id])[post.id]
    return {**{c: getattr(post, c) for c in DutyPostSchema._declared_fields if hasattr(post, c)},
            "holders": holders, "pending": pending, "free_seats": max(0, post.seats - len(holders))}


@blp.post("/communities/<int:community_id>/duty-posts")
@idempotent
@blp.arguments(CreateDutyPostArgs)
@blp.response(201, DutyPostSchema)
def create_post(args, community_id):
    """Define a standing duty post in the community (staff of it)."""
    return _post_view(duty.create_post(current_user(), community_id, **args), [])


@blp.get("/communities/<int:community_id>/duty-posts")
@blp.response(200, DutyPostList)
def list_posts(community_id):
    """The community's duty posts with their current holders and free seats."""
    current_user()
    posts = duty.list_posts(community_id)
    ids = [p.id for p in posts]
    active, pending = duty.holders_of(ids), duty.holders_of(ids, (HOLDER_PENDING,))
    return {"items": [_post_view(p, active[p.id], len(pending[p.id])) for p in posts], "next_cursor": None}


@blp.post("/duty-posts/<int:post_id>/holders")
@blp.arguments(DutyHolderArgs)
@blp.response(201, DutyHolderSchema)
def add_holder(args, post_id):
    """A member applies for the post; staff appoint a member with {"user_id"} (active at once)."""
    return duty.apply_or_appoint(current_user(), post_id, args["user_id"])


@blp.get("/duty-posts/<int:post_id>/holders")
@blp.response(200, DutyHolderList)
def list_holders(post_id):
    """Everyone who applied for or held the post, with dates: the post's history (staff)."""
    return {"items": duty.history(current_user(), post_id), "next_cursor": None}


@blp.post("/duty-posts/<int:post_id>/holders/<int:user_id>/decision")
@blp.arguments(DutyDecisionArgs)
@blp.response(200, DutyHolderSchema)
def decide(args, post_id, user_id):
    """Approve or refuse a member's application (staff); approval needs a free seat."""
    return duty.decide(current_user(), post_id, user_id, args["approve"])


@blp.delete("/duty-posts/<int:post_id>/holders/me")
@blp.response(204)
def step_down(post_id):
    """Step down from the post (or withdraw an application); the history is kept."""
    duty.step_down(current_user(), post_id)


@blp.get("/me/duty-posts")
@blp.response(200, MyDutyPostList)
def my_posts():
    """The caller's posts: applications, current and past tenures."""
    rows = duty.my_posts(current_user())
    out = []
    for h in rows:
        item = {c: getattr(h, c) for c in DutyHolderSchema._declared_fields if hasattr(h, c)}
        item["post"] = _post_view(duty.get_post(h.post_id))
        out.append(item)
    return {"items": out, "next_cursor": None}


@blp.post("/duty-posts/<int:post_id>/logs")
@blp.arguments(DutyLogArgs)
@blp.response(201, DutyLogSchema)
def add_log(args, post_id):
    """Log a day's duty work at a post the caller holds."""
    return duty.add_log(current_user(), post_id, date_=args["date"], minutes=args["minutes"], note=args["note"])


@blp.get("/me/duty-logs")
@blp.arguments(DutyLogListArgs, location="query")
@blp.response(200, DutyLogPage)
def my_logs(args):
    """The caller's duty logs, newest first."""
    from sqlalchemy import select

    q = select(DutyLog).where(DutyLog.user_id == current_user().id)
    if args["status"]:
        q = q.where(DutyLog.status == args["status"])
    return paginate(q, DutyLog.id, args["limit"], args["cursor"])


@blp.get("/communities/<int:community_id>/duty-logs")
@blp.arguments(DutyLogListArgs, location="query")
@blp.response(200, DutyLogPage)
def community_logs(args, community_id):
    """The community's duty logs, newest first, ?status=pending for those to confirm (staff)."""
    q = duty.community_logs(current_user(), community_id, args["status"])
    return paginate(q, DutyLog.id, args["limit"], args["cursor"])


@blp.post("/communities/<int:community_id>/duty-logs/confirm")
@idempotent
@blp.arguments(ConfirmDutyLogsArgs)
@blp.response(200, DutyAwardResult)
def confirm_logs(args, community_id):
    """Confirm duty logs in bulk (staff); each earns points once, repeats award nothing."""
    return duty.confirm_logs(current_user(), community_id, args["log_ids"])
