"""Quiet members (流动/失联党员) and the follow-ups staff record about them."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import LocalDateTime, current_user
from backend.partywork import quiet as svc
from backend.partywork.models_misc import FOLLOW_UP_STATUSES

blp = Blueprint("quiet", __name__, url_prefix="/api/v1", description="失联党员与跟进")
V = ma.validate


class QuietMemberArgs(ma.Schema):
    months = ma.fields.Integer(load_default=6, validate=V.Range(1, svc.MAX_MONTHS))


class FollowUpSchema(ma.Schema):
    id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    status = ma.fields.String()
    note = ma.fields.String()
    actor_id = ma.fields.Integer(allow_none=True)
    created_at = LocalDateTime()


class QuietMemberSchema(ma.Schema):
    user_id = ma.fields.Integer()
    name = ma.fields.String(allow_none=True)
    member_since = LocalDateTime()
    last_activity_at = LocalDateTime(allow_none=True)
    last_activity_kind = ma.fields.String(allow_none=True,
                                          metadata={"description": "checkin | duty_log | visit | meeting"})
    follow_up = ma.fields.Nested(FollowUpSchema, allow_none=True)


class QuietMemberList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(QuietMemberSchema))
    next_cursor = ma.fields.String(allow_none=True)


class FollowUpArgs(ma.Schema):
    user_id = ma.fields.Integer(required=True, strict=True)
    status = ma.fields.String(required=True, validate=V.OneOf(FOLLOW_UP_STATUSES))
    note = ma.fields.String(load_default="", validate=V.Length(max=1000))


class FollowUpListArgs(ma.Schema):
    user_id = ma.fields.Integer(load_default=None)


class FollowUpList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(FollowUpSchema))
    next_cursor = ma.fields.String(allow_none=True)


@blp.get("/communities/<int:community_id>/quiet-members")
@blp.arguments(QuietMemberArgs, location="query")
@blp.response(200, QuietMemberList)
def quiet_members(args, community_id):
    """Approved members with no check-in, duty log, visit or meeting for ?months= (default 6) (staff)."""
    return {"items": svc.quiet_members(current_user(), community_id, args["months"]), "next_cursor": None}


@blp.post("/communities/<int:community_id>/follow-ups")
@blp.arguments(FollowUpArgs)
@blp.response(201, FollowUpSchema)
def add_follow_up(args, community_id):
    """Record a follow-up of a member (staff): 已联系, 外出务工, 失联 or 已转出, with a note."""
    return svc.add_follow_up(current_user(), community_id, args["user_id"], args["status"], args["note"])


@blp.get("/communities/<int:community_id>/follow-ups")
@blp.arguments(FollowUpListArgs, location="query")
@blp.response(200, FollowUpList)
def list_follow_ups(args, community_id):
    """The follow-up history, newest first; ?user_id= for one member (staff)."""
    return {"items": svc.follow_ups(current_user(), community_id, args["user_id"]), "next_cursor": None}
