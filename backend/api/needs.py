"""共驻共建: community needs, units' pledges, completion and the match lists."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import LocalDateTime, current_user, idempotent, page_schema, paginate
from backend.partywork import needs as svc
from backend.partywork.models_misc import NEED_STATUSES, CommunityNeed

blp = Blueprint("needs", __name__, url_prefix="/api/v1", description="共驻共建")
V = ma.validate


class CreateNeedArgs(ma.Schema):
    title = ma.fields.String(required=True, validate=V.Length(min=1, max=100))
    category = ma.fields.String(load_default="", validate=V.Length(max=50))
    description = ma.fields.String(load_default="", validate=V.Length(max=2000))


class NeedPledgeSchema(ma.Schema):
    id = ma.fields.Integer()
    need_id = ma.fields.Integer()
    unit_id = ma.fields.Integer()
    resource = ma.fields.String()
    note = ma.fields.String()
    created_by_id = ma.fields.Integer(allow_none=True)
    created_at = LocalDateTime()


class NeedEventSchema(ma.Schema):
    from_status = ma.fields.String(allow_none=True)
    to_status = ma.fields.String()
    actor_id = ma.fields.Integer(allow_none=True)
    unit_id = ma.fields.Integer(allow_none=True)
    at = LocalDateTime()


class NeedSchema(ma.Schema):
    id = ma.fields.Integer()
    community_id = ma.fields.Integer()
    title = ma.fields.String()
    category = ma.fields.String()
    description = ma.fields.String()
    status = ma.fields.String(metadata={"description": "待认领 | 已认领 | 已完成"})
    created_at = LocalDateTime()
    completed_at = LocalDateTime(allow_none=True)
    pledges = ma.fields.Method("_pledges")

    def _pledges(self, need):
        return NeedPledgeSchema(many=True).dump(svc.pledges_of([need.id])[need.id])


class NeedDetail(NeedSchema):
    events = ma.fields.Method("_events")

    def _events(self, need):
        return NeedEventSchema(many=True).dump(svc.events_of(need.id))


NeedPage = page_schema(NeedSchema, "NeedPage")


class NeedListArgs(ma.Schema):
    status = ma.fields.String(load_default=None, validate=V.OneOf(NEED_STATUSES))
    limit = ma.fields.Integer(load_default=20, validate=V.Range(1, 100))
    cursor = ma.fields.String(load_default=None, validate=V.Length(max=200))


class NeedPledgeArgs(ma.Schema):
    unit_id = ma.fields.Integer(required=True, strict=True)
    resource = ma.fields.String(required=True, validate=V.Length(min=1, max=200))
    note = ma.fields.String(load_default="", validate=V.Length(max=1000))


class NeedMatchSchema(ma.Schema):
    need_id = ma.fields.Integer()
    need_title = ma.fields.String()
    need_category = ma.fields.String()
    need_status = ma.fields.String()
    community_id = ma.fields.Integer()
    community_name = ma.fields.String()
    unit_id = ma.fields.Integer()
    unit_name = ma.fields.String(allow_none=True)
    resource = ma.fields.String()
    score = ma.fields.Integer()
    category_match = ma.fields.Boolean()
    keywords = ma.fields.List(ma.fields.String())


class NeedMatchList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(NeedMatchSchema))
    next_cursor = ma.fields.String(allow_none=True)


@blp.post("/communities/<int:community_id>/needs")
@idempotent
@blp.arguments(CreateNeedArgs)
@blp.response(201, NeedDetail)
def create_need(args, community_id):
    """Publish a need of the community (staff of it); it starts 待认领."""
    return svc.create_need(current_user(), community_id, **args)


@blp.get("/communities/<int:community_id>/needs")
@blp.arguments(NeedListArgs, location="query")
@blp.response(200, NeedPage)
def list_needs(args, community_id):
    """The community's needs, newest first, ?status= to filter."""
    current_user()
    return paginate(svc.community_needs(community_id, args["status"]), CommunityNeed.id, args["limit"], args["cursor"])


@blp.get("/needs/<int:need_id>")
@blp.response(200, NeedDetail)
def get_need(need_id):
    """A need with its pledges and the history of its states (who, when)."""
    current_user()
    return svc.get_need(need_id)


@blp.post("/needs/<int:need_id>/pledges")
@blp.arguments(NeedPledgeArgs)
@blp.response(201, NeedPledgeSchema)
def pledge(args, need_id):
    """Pledge a resource of the unit to the need (unit_admin of a unit reported to that community)."""
    return svc.pledge(current_user(), need_id, **args)


@blp.post("/needs/<int:need_id>/complete")
@blp.response(200, NeedDetail)
def complete(need_id):
    """Confirm a pledged need is done (staff of its community): 已认领 → 已完成."""
    return svc.complete(current_user(), need_id)


@blp.get("/communities/<int:community_id>/matches")
@blp.response(200, NeedMatchList)
def community_matches(community_id):
    """Units' resources ranked against the community's open needs (staff, street_admin, admin)."""
    return {"items": svc.community_matches(current_user(), community_id), "next_cursor": None}


@blp.get("/units/<int:unit_id>/matches")
@blp.response(200, NeedMatchList)
def unit_matches(unit_id):
    """Open needs of the communities the unit reported to, ranked against its resources (unit readers)."""
    return {"items": svc.unit_matches(current_user(), unit_id), "next_cursor": None}
