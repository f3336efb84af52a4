"""What every handler shares: the current user, cursor paging, common fields and schemas."""
from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import current_app, request
from sqlalchemy import Select
from sqlalchemy.orm import lazyload

from backend.auth import tokens
from backend.auth.models import User
from backend.errors import AuthRequired
from backend.extensions import db

TZ = ZoneInfo("Asia/Shanghai")
_ROLES_ON_DEMAND = (lazyload(User.roles),)


def current_user() -> User:
    """The caller, from the bearer token; AuthRequired when missing, bad, expired or closed."""
    cached = request.environ.get("dangjian.user")  # per request, not per app context
    if cached is not None:
        return cached
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        raise AuthRequired()
    uid, version = tokens.read(
        current_app.config["SECRET_KEY"], current_app.config["TOKEN_TTL"], header[7:].strip()
    )
    # Roles are read by policies only: loading them on first use spares every other request a query.
    user = db.session.get(User, uid, options=_ROLES_ON_DEMAND)
    if user is None or user.closed_at is not None or user.token_version != version:
        raise AuthRequired("登录凭证已失效，请重新登录")
    request.environ["dangjian.user"] = user
    return user


def public(view):
    """Mark an endpoint as needing no login (login itself, certificate checks)."""
    view.is_public = True
    return view


class LocalDateTime(ma.fields.DateTime):
    """ISO 8601 with the Asia/Shanghai offset on output; naive input is read as Asia/Shanghai."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(TZ).isoformat()

    def _deserialize(self, value, attr, data, **kwargs):
        dt = super()._deserialize(value, attr, data, **kwargs)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=TZ)
        return dt.astimezone(timezone.utc)


class PageArgs(ma.Schema):
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(1, 100))
    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200))


def _encode(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _decode(cursor: str):
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        from backend.errors import ValidationFailed

        raise ValidationFailed(details={"cursor": ["无效的分页游标"]})


def paginate(query: Select, id_column, limit: int, cursor: str | None, descending: bool = True):
    """Keyset paging on a unique integer column: {"items", "next_cursor"}."""
    if cursor:
        last = _decode(cursor)
        if not isinstance(last, int):
            from backend.errors import ValidationFailed

            raise ValidationFailed(details={"cursor": ["无效的分页游标"]})
        query = query.where(id_column < last if descending else id_column > last)
    query = query.order_by(id_column.desc() if descending else id_column.asc()).limit(limit + 1)
    rows = list(db.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode(getattr(rows[-1], id_column.key)) if more and rows else None
    return {"items": rows, "next_cursor": next_cursor}


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A list schema {"items": [...], "next_cursor"} for item_schema."""
    return type(name, (ma.Schema,), {
        "items": ma.fields.List(ma.fields.Nested(item_schema)),
        "next_cursor": ma.fields.String(allow_none=True),
    })


class ErrorBody(ma.Schema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    details = ma.fields.Dict()


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBody, required=True)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)
