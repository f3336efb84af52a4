"""Login and the caller's own identity."""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from backend.api.common import LocalDateTime, current_user, public
from backend.auth import services
from backend.wechat import client_for

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="登录与身份")


class LoginArgs(ma.Schema):
    code = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=128))


class RoleSchema(ma.Schema):
    role = ma.fields.String(required=True)
    community_id = ma.fields.Integer()
    unit_id = ma.fields.Integer()
    street_id = ma.fields.Integer()


class UserSchema(ma.Schema):
    id = ma.fields.Integer()
    nickname = ma.fields.String()
    roles = ma.fields.List(ma.fields.Nested(RoleSchema))


class LoginResult(ma.Schema):
    token = ma.fields.String()
    expires_at = LocalDateTime()
    user = ma.fields.Nested(UserSchema)


class MeSchema(UserSchema):
    name = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True, metadata={"description": "one's own contact phone, in full"})
    phone_verified = ma.fields.Boolean(metadata={"description": "WeChat vouched for a number (POST /me/phone)"})
    reports = ma.fields.List(ma.fields.Dict())


class PhoneArgs(ma.Schema):
    code = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=128),
                            metadata={"description": "the code of the getPhoneNumber button's event"})


class PhoneResult(ma.Schema):
    phone = ma.fields.String()
    verified_at = LocalDateTime()


def user_out(user) -> dict:
    return {"id": user.id, "nickname": user.nickname, "roles": services.roles_of(user)}


def _reports_of(user) -> list[dict]:
    """The caller's 双报到 reports, when the reports domain is installed."""
    try:
        from backend.reports.services import reports_for_user
    except ImportError:
        return []
    return reports_for_user(user)


@public
@blp.post("/auth/login")
@blp.arguments(LoginArgs)
@blp.response(200, LoginResult)
@blp.doc(security=[])
def login(args):
    """Log in with a wx.login code; returns our signed, expiring token."""
    user, token, expires_at = services.login(
        client_for(current_app), args["code"],
        secret=current_app.config["SECRET_KEY"], ttl=current_app.config["TOKEN_TTL"],
    )
    return {"token": token, "expires_at": expires_at, "user": user_out(user)}


@blp.get("/me")
@blp.response(200, MeSchema)
def me():
    """The caller: id, nickname, roles and 双报到 reports."""
    user = current_user()
    return {**user_out(user), "name": user.name, "phone": user.phone, "phone_verified": user.verified_phone is not None,
            "reports": _reports_of(user)}


@blp.post("/me/phone")
@blp.arguments(PhoneArgs)
@blp.response(200, PhoneResult)
def verify_phone(args):
    """Bind the phone number WeChat vouches for (the getPhoneNumber button's code, exchanged
    through wechatpy): a 双报到 report naming it shows as verified to staff."""
    from backend.wechat.client import phone_number

    user = current_user()
    services.verify_phone(user, phone_number(client_for(current_app), args["code"]))
    return {"phone": user.verified_phone, "verified_at": user.phone_verified_at}
