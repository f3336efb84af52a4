"""Streets, communities, grids and units."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import PageArgs, current_user, idempotent, paginate
from backend.audit.services import record
from backend.auth import policy
from backend.orgs import services
from backend.orgs.models import Community, Grid, Street, Unit

blp = Blueprint("orgs", __name__, url_prefix="/api/v1", description="组织：街道、社区、网格、单位")

Name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))


class SearchArgs(PageArgs):
    q = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100))
    street_id = ma.fields.Integer(load_default=None)
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 100))


class CommunitySchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    street_id = ma.fields.Integer()
    street = ma.fields.Function(lambda c: c.street.name if hasattr(c, "street") and c.street else None)
    district = ma.fields.String()


class CreateCommunity(ma.Schema):
    name = Name
    street = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    street_id = ma.fields.Integer()
    district = ma.fields.String(load_default="", validate=ma.validate.Length(max=100))

    @ma.validates_schema
    def _one_street(self, data, **kw):
        if not data.get("street") and data.get("street_id") is None:
            raise ma.ValidationError("请填写所属街道", "street")


class GridSchema(ma.Schema):
    id = ma.fields.Integer()
    community_id = ma.fields.Integer()
    name = ma.fields.String()


class CreateGrid(ma.Schema):
    name = Name


class UnitSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.String()
    street_id = ma.fields.Integer(allow_none=True)


class CreateUnit(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    kind = ma.fields.String(load_default="", validate=ma.validate.Length(max=50))
    street_id = ma.fields.Integer(load_default=None)


class StreetSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    district = ma.fields.String()


def _items(schema):
    return type(schema.__name__ + "List", (ma.Schema,), {
        "items": ma.fields.List(ma.fields.Nested(schema)),
        "next_cursor": ma.fields.String(allow_none=True),
    })


@blp.get("/streets")
@blp.response(200, _items(StreetSchema))
def list_streets():
    """All streets."""
    current_user()
    return {"items": services.search(Street, None, 100), "next_cursor": None}


@blp.get("/communities")
@blp.arguments(SearchArgs, location="query")
@blp.response(200, _items(CommunitySchema))
def list_communities(args):
    """Search communities by name (anyone logged in)."""
    current_user()
    return paginate(services.search_query(Community, args["q"], street_id=args["street_id"]), Community.id,
                    args["limit"], args["cursor"], descending=False)


@blp.post("/communities")
@idempotent
@blp.arguments(CreateCommunity)
@blp.response(201, CommunitySchema)
def create_community(args):
    """Create a community (admin, street_admin)."""
    user = current_user()
    policy.require_org_creator(user, args.get("street_id"))
    c = services.create_community(**args)
    policy.require_org_creator(user, c.street_id)  # a street named rather than given by id, too
    record(user.id, "community.create", "community", c.id, after={"name": c.name}, community_id=c.id)
    return c


@blp.get("/communities/<int:community_id>")
@blp.response(200, CommunitySchema)
def get_community(community_id):
    """One community."""
    current_user()
    return policy.community(community_id)


@blp.get("/communities/<int:community_id>/grids")
@blp.response(200, _items(GridSchema))
def list_grids(community_id):
    """The community's grids."""
    current_user()
    policy.community(community_id)
    return {"items": services.search(Grid, None, 100, community_id=community_id), "next_cursor": None}


@blp.post("/communities/<int:community_id>/grids")
@idempotent
@blp.arguments(CreateGrid)
@blp.response(201, GridSchema)
def create_grid(args, community_id):
    """Add a grid (staff of the community)."""
    user = current_user()
    policy.require_staff(user, community_id)
    grid = services.create_grid(community_id, args["name"])
    record(user.id, "grid.create", "grid", grid.id, after={"name": grid.name}, community_id=community_id)
    return grid


@blp.get("/units")
@blp.arguments(SearchArgs, location="query")
@blp.response(200, _items(UnitSchema))
def list_units(args):
    """Search employer units by name (anyone logged in)."""
    current_user()
    return paginate(services.search_query(Unit, args["q"], street_id=args["street_id"]), Unit.id,
                    args["limit"], args["cursor"], descending=False)


@blp.post("/units")
@idempotent
@blp.arguments(CreateUnit)
@blp.response(201, UnitSchema)
def create_unit(args):
    """Register an employer unit (admin, street_admin)."""
    user = current_user()
    policy.require_org_creator(user, args["street_id"])
    if args["street_id"] is None:
        args["street_id"] = policy.default_street(user)
    unit = services.create_unit(**args)
    record(user.id, "unit.create", "unit", unit.id, after={"name": unit.name, "kind": unit.kind},
           street_id=unit.street_id)
    return unit
