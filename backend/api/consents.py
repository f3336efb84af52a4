"""A person's consents (PIPL Art. 23): what they allow to be shared, each change kept."""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from backend.api.common import LocalDateTime, current_user
from backend.feedback import consents

blp = Blueprint("consents", __name__, url_prefix="/api/v1", description="个人信息授权")


class ConsentSchema(ma.Schema):
    purpose = ma.fields.String()
    description = ma.fields.String()
    granted = ma.fields.Boolean()
    at = LocalDateTime(allow_none=True)
    policy_version = ma.fields.String(allow_none=True)


class ConsentList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ConsentSchema))


class ConsentArgs(ma.Schema):
    granted = ma.fields.Boolean(required=True)


@blp.get("/me/consents")
@blp.response(200, ConsentList)
def my_consents():
    """The caller's consents, one per purpose (never asked: granted false)."""
    return {"items": consents.my_consents(current_user())}


@blp.put("/me/consents/<string:purpose>")
@blp.arguments(ConsentArgs)
@blp.response(200, ConsentSchema)
def set_consent(args, purpose):
    """Grant or withdraw a consent (purpose unit_feedback); kept with time and privacy policy version."""
    return consents.set_consent(current_user(), purpose, args["granted"],
                                current_app.config["PRIVACY_POLICY_VERSION"])
