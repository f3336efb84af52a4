"""Granting scoped roles."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import current_user
from backend.auth import services
from backend.auth.models import ROLES

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
