"""党员联系家庭: households, links to members, visits and their confirmation."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import LocalDateTime, current_user, idempotent, page_schema, paginate
from backend.partywork import households as svc
from backend.partywork.common import MAX_MINUTES
from backend.partywork.models_households import Visit

blp = Blueprint("households", __name__, url_prefix="/api/v1", description="党员联系家庭")
V = ma.validate


def _both_coordinates(data):
    if (data.get("lat") is None) != (data.get("lng") is None):
        raise ma.ValidationError("经纬度须同时提供", "lat" if data.get("lat") is None else "lng")


class CreateHouseholdArgs(ma.Schema):
    address = ma.fields.String(required=True, validate=V.Length(min=1, max=200))
    grid_id = ma.fields.Integer(load_default=None, allow_none=True)
    building = ma.fields.String(load_default=None, allow_none=True, validate=V.Length(max=100))
    head_name = ma.fields.String(required=True, validate=V.Length(min=1, max=64))
    phone = ma.fields.String(load_default=None, allow_none=True,
                             validate=V.Regexp(r"\A[0-9+\-]{5,20}\Z", error="电话号码格式有误"))
    tags = ma.fields.List(ma.fields.String(validate=V.Length(min=1, max=20)), load_default=list,
                          validate=V.Length(max=20))
    lat = ma.fields.Float(load_default=None, allow_none=True, validate=V.Range(-90, 90))
    lng = ma.fields.Float(load_default=None, allow_none=True, validate=V.Range(-180, 180))

    @ma.validates_schema
    def _coords(self, data, **kw):
        _both_coordinates(data)


class HouseholdMember(ma.Schema):
    user_id = ma.fields.Integer()
    name = ma.fields.String(allow_none=True)
    linked_at = LocalDateTime()


class HouseholdSchema(ma.Schema):
    id = ma.fields.Integer()
    community_id = ma.fields.Integer()
    grid_id = ma.fields.Integer(allow_none=True)
    building = ma.fields.String(allow_none=True)
    address = ma.fields.String(metadata={"description": "masked unless the caller is a linked member or staff"})
    head_name = ma.fields.String()
    phone = ma.fields.String(allow_none=True, metadata={"description": "masked (138****5678) likewise"})
    tags = ma.fields.List(ma.fields.String())
    lat = ma.fields.Float(allow_none=True)
    lng = ma.fields.Float(allow_none=True)
    members = ma.fields.List(ma.fields.Nested(HouseholdMember))
    last_visited_at = LocalDateTime(allow_none=True)
    overdue = ma.fields.Boolean(metadata={"description": "not visited for HOUSEHOLD_VISIT_DAYS"})
    private = ma.fields.Boolean(metadata={"description": "true when phone and address are shown in full"})


class HouseholdList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(HouseholdSchema))
    next_cursor = ma.fields.String(allow_none=True)


class HouseholdListArgs(ma.Schema):
    unvisited_days = ma.fields.Integer(load_default=None, allow_none=True, validate=V.Range(0, 3650))


class HouseholdLinkArgs(ma.Schema):
    user_id = ma.fields.Integer(required=True, strict=True)


class HouseholdLinkSchema(ma.Schema):
    id = ma.fields.Integer()
    household_id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    status = ma.fields.String()
    created_at = LocalDateTime()
    ended_at = LocalDateTime(allow_none=True)


class HouseholdVisitArgs(ma.Schema):
    visited_at = LocalDateTime(required=True)
    minutes = ma.fields.Integer(required=True, strict=True,
                                validate=V.Range(1, MAX_MINUTES, error="时长应在 1 到 1440 分钟之间"))
    note = ma.fields.String(load_default="", validate=V.Length(max=1000))
    lat = ma.fields.Float(load_default=None, allow_none=True, validate=V.Range(-90, 90))
    lng = ma.fields.Float(load_default=None, allow_none=True, validate=V.Range(-180, 180))

    @ma.validates_schema
    def _coords(self, data, **kw):
        _both_coordinates(data)


class HouseholdVisitSchema(ma.Schema):
    id = ma.fields.Integer()
    household_id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    visited_at = LocalDateTime()
    minutes = ma.fields.Integer()
    note = ma.fields.String()
    distance_m = ma.fields.Integer(allow_none=True)
    status = ma.fields.String()
    points = ma.fields.Integer()
    confirmed_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()


class HouseholdVisitList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(HouseholdVisitSchema))
    next_cursor = ma.fields.String(allow_none=True)


HouseholdVisitPage = page_schema(HouseholdVisitSchema, "HouseholdVisitPage")


class VisitListArgs(ma.Schema):
    status = ma.fields.String(load_default=None, validate=V.OneOf(["pending", "confirmed"]))
    limit = ma.fields.Integer(load_default=20, validate=V.Range(1, 100))
    cursor = ma.fields.String(load_default=None, validate=V.Length(max=200))


class ConfirmVisitsArgs(ma.Schema):
    visit_ids = ma.fields.List(ma.fields.Integer(strict=True), required=True, validate=V.Length(min=1, max=500))


class VisitAwardResult(ma.Schema):
    awarded = ma.fields.Integer()
    points = ma.fields.Integer()


@blp.post("/communities/<int:community_id>/households")
@idempotent
@blp.arguments(CreateHouseholdArgs)
@blp.response(201, HouseholdSchema)
def create_household(args, community_id):
    """Register a household of the community (staff of it)."""
    user = current_user()
    h = svc.create_household(user, community_id, **args)
    return svc.household_view(user, h, [], None)


@blp.get("/communities/<int:community_id>/households")
@blp.arguments(HouseholdListArgs, location="query")
@blp.response(200, HouseholdList)
def list_households(args, community_id):
    """The community's households; ?unvisited_days=30 keeps those not visited for 30 days (staff)."""
    return {"items": svc.community_households(current_user(), community_id, args["unvisited_days"]),
            "next_cursor": None}


@blp.get("/households/<int:household_id>")
@blp.response(200, HouseholdSchema)
def get_household(household_id):
    """One household (staff, street_admin, admin or a linked member; masked unless staff or linked)."""
    user = current_user()
    h = svc.read_household(user, household_id)
    return svc.household_view(user, h, last=svc.last_visits([h.id]).get(h.id))


@blp.post("/households/<int:household_id>/links")
@blp.arguments(HouseholdLinkArgs)
@blp.response(201, HouseholdLinkSchema)
def link(args, household_id):
    """Link a member of the community to the household (staff); over the limit: 409 LINK_LIMIT."""
    return svc.link(current_user(), household_id, args["user_id"])


@blp.delete("/households/<int:household_id>/links/<int:user_id>")
@blp.response(204)
def unlink(household_id, user_id):
    """End a member's link to the household (staff); the history is kept."""
    svc.unlink(current_user(), household_id, user_id)


@blp.get("/me/households")
@blp.response(200, HouseholdList)
def my_households():
    """The households the caller looks after, with phone and address."""
    return {"items": svc.my_households(current_user()), "next_cursor": None}


@blp.post("/households/<int:household_id>/visits")
@blp.arguments(HouseholdVisitArgs)
@blp.response(201, HouseholdVisitSchema)
def add_visit(args, household_id):
    """Log a visit to a household the caller is linked to (coordinates checked when known)."""
    return svc.add_visit(current_user(), household_id, **args)


@blp.get("/households/<int:household_id>/visits")
@blp.response(200, HouseholdVisitList)
def list_visits(household_id):
    """A household's visits, newest first (its readers)."""
    return {"items": svc.household_visits(current_user(), household_id), "next_cursor": None}


@blp.get("/communities/<int:community_id>/visits")
@blp.arguments(VisitListArgs, location="query")
@blp.response(200, HouseholdVisitPage)
def community_visits(args, community_id):
    """The community's visits, newest first; ?status=pending for those to confirm (staff)."""
    q = svc.community_visits(current_user(), community_id, args["status"])
    return paginate(q, Visit.id, args["limit"], args["cursor"])


@blp.post("/communities/<int:community_id>/visits/confirm")
@idempotent
@blp.arguments(ConfirmVisitsArgs)
@blp.response(200, VisitAwardResult)
def confirm_visits(args, community_id):
    """Confirm visits in bulk (staff); each earns points once, repeats award nothing."""
    return svc.confirm_visits(current_user(), community_id, args["visit_ids"])
