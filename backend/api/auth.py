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
    reports = ma.fields.List(ma.fields.Dict())


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
    return {**user_out(user), "name": user.name, "reports": _reports_of(user)}
