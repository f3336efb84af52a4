"""Granting, listing and revoking scoped roles."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import LocalDateTime, PageArgs, current_user, paginate
from backend.auth import services
from backend.auth.models import ROLES, RoleGrant

blp = Blueprint("roles", __name__, url_prefix="/api/v1", description="角色授予")


class GrantArgs(ma.Schema):
    user_id = ma.fields.Integer(required=True)
    role = ma.fields.String(required=True, validate=ma.validate.OneOf([r for r in ROLES if r != "resident"]))
    community_id = ma.fields.Integer(load_default=None)
    unit_id = ma.fields.Integer(load_default=None)
    street_id = ma.fields.Integer(load_default=None)


class GrantSchema(ma.Schema):
    id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    role = ma.fields.String()
    community_id = ma.fields.Integer(allow_none=True)
    unit_id = ma.fields.Integer(allow_none=True)
    street_id = ma.fields.Integer(allow_none=True)


@blp.post("/roles")
@blp.arguments(GrantArgs)
@blp.response(201, GrantSchema)
def grant(args):
    """Grant a scoped role (admin; street_admin within the street; staff: staff of its community)."""
    actor = current_user()
    return services.grant_role(actor, args.pop("user_id"), args.pop("role"), **args)


class HoldersArgs(PageArgs):
    community_id = ma.fields.Integer(load_default=None, metadata={"description": "its staff"})
    unit_id = ma.fields.Integer(load_default=None, metadata={"description": "its unit_admins"})
    street_id = ma.fields.Integer(load_default=None, metadata={"description": "its street_admins"})
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 100))


class HolderSchema(GrantSchema):
    name = ma.fields.String(metadata={"description": "real name or nickname (never a phone)"})
    granted_at = LocalDateTime(attribute="created_at")
    granted_by_id = ma.fields.Integer(allow_none=True)


class HolderPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(HolderSchema))
    next_cursor = ma.fields.String(allow_none=True)


_HOLDER_COLUMNS = ("id", "user_id", "role", "community_id", "unit_id", "street_id", "created_at", "granted_by_id")


@blp.get("/roles")
@blp.arguments(HoldersArgs, location="query")
@blp.response(200, HolderPage)
def holders(args):
    """Who holds the role of one scope: ?community_id= its staff, ?unit_id= its unit_admins,
    ?street_id= its street_admins, none: the admins (whoever may grant that role there)."""
    actor = current_user()
    _, q = services.role_holders(actor, {k: args[k] for k in ("community_id", "unit_id", "street_id")})
    page = paginate(q, RoleGrant.id, args["limit"], args["cursor"], descending=False)
    names = services.display_names(g.user_id for g in page["items"])
    page["items"] = [{c: getattr(g, c) for c in _HOLDER_COLUMNS} | {"name": names.get(g.user_id)} for g in page["items"]]
    return page


@blp.delete("/roles/<int:grant_id>")
@blp.response(204)
def revoke(grant_id):
    """Revoke a role (whoever may grant it in its scope; never one's own); the row stays as history."""
    services.revoke_grant(current_user(), grant_id)
