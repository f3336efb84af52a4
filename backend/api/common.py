"""What every handler shares: the current user, cursor paging, common fields and schemas."""
from __future__ import annotations

import base64
import functools
import json
from datetime import datetime, timezone
from typing import NamedTuple

import marshmallow as ma
from flask import current_app, make_response, request
from flask_smorest import Blueprint
from sqlalchemy import Select

from backend.auth import callers, tokens
from backend.auth.models import User
from backend.clock import TZ
from backend.db import retry_first_statement
from backend.errors import AuthRequired
from backend.extensions import db
from backend.replay import services as answers
from backend.replay.services import MAX_KEY

_USER, _CALLER, _CLAIMED = "dangjian.user", "dangjian.caller", "dangjian.claimed"  # per request (environ)


class Caller(NamedTuple):
    """The verified caller of a handler that needs only its id (see `caller_only`)."""

    id: int


def _token_claims() -> tuple[int, int]:
    """(user_id, token_version) from the bearer token; AuthRequired when missing or bad."""
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.startswith("Bearer ") else ""
    if not token:
        raise AuthRequired()
    return tokens.read(current_app.config["SECRET_KEY"], current_app.config["TOKEN_TTL"], token)


def current_user() -> User:
    """The caller, from the bearer token; AuthRequired when missing, bad, expired or closed."""
    user = request.environ.get(_USER)
    if user is not None:
        return user
    uid, version = _token_claims()
    # The request's first statement: a connection the database dropped is retried once.
    user = retry_first_statement(db.session, lambda: callers.load_user(db.session, uid, version))
    if user is None:
        raise AuthRequired("登录凭证已失效，请重新登录")
    request.environ[_USER] = user
    return user


def current_caller() -> Caller:
    """The caller's id, checked against the database like current_user but without loading
    a User (one single-column SELECT): for handlers that need only the id (my account, my
    statement). The hottest paths check the account inside their own statement instead
    (`login_in_handler`)."""
    caller = request.environ.get(_CALLER)
    if caller is not None:
        return caller
    user = request.environ.get(_USER)
    if user is not None:
        return Caller(user.id)
    uid, version = _token_claims()
    if not retry_first_statement(db.session, lambda: callers.is_live(db.session, uid, version)):
        raise AuthRequired("登录凭证已失效，请重新登录")
    request.environ[_CALLER] = caller = Caller(uid)
    return caller


def claimed_caller() -> callers.Claimed:
    """The caller of a `login_in_handler` endpoint, its account still to be checked."""
    return request.environ[_CLAIMED]


def account_checked(view):
    """Wrap a `login_in_handler` view (its whole smorest chain: the body is parsed inside):
    whatever it answers or raises, a 422 included, the caller's account has been checked
    before the answer goes out, so a closed account or an outdated token is 401 first."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        with request.environ[_CLAIMED].checked(db.session):
            return view(*args, **kwargs)

    return wrapper


def authenticate(view) -> None:
    """The login check every /api/ call passes before its body is parsed (401 before 422)."""
    if getattr(view, "login_in_handler", False):
        request.environ[_CLAIMED] = callers.Claimed(*_token_claims())
    elif getattr(view, "caller_only", False):
        current_caller()
    else:
        current_user()


def public(view):
    """Mark an endpoint as needing no login (login itself, certificate checks)."""
    view.is_public = True
    return view


IDEMPOTENCY_HEADER = {
    "in": "header", "name": "Idempotency-Key", "required": False, "schema": {"type": "string", "maxLength": MAX_KEY},
    "description": "optional: a retry with the same key and the same request answers as the first time "
                   "(header Idempotent-Replayed: true) and changes nothing again; "
                   "the same key with another request is 409 IDEMPOTENCY_MISMATCH",
}


def idempotent(view):
    """Honour an optional Idempotency-Key on a write that has no key of its own: the first
    successful answer is stored with the write (same transaction) and a retry of the same
    request under the same key gets it back, without running the handler again. Retries of one
    key queue on a lock, so two at once still write once. Without the header: no change.
    Place it right under @blp.post/@blp.route, above @blp.arguments and @blp.response."""
    @Blueprint.doc(parameters=[IDEMPOTENCY_HEADER])
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        client_key = request.headers.get("Idempotency-Key")
        if client_key is None:
            return view(*args, **kwargs)
        uid = current_caller().id
        key = answers.full_key(uid, request.endpoint, client_key)
        body, raw = request.get_json(silent=True), request.get_data()
        if body is None and raw:
            body = {"raw": raw.hex()}
        fp = answers.fingerprint(request.method, request.path, request.query_string.decode("latin-1"), body)
        answers.lock(db.session, key)
        first = answers.earlier(db.session, key, fp)
        if first is not None:
            resp = current_app.response_class(first.body, status=first.status, mimetype="application/json")
            resp.headers["Idempotent-Replayed"] = "true"
            return resp
        resp = make_response(view(*args, **kwargs))
        if 200 <= resp.status_code < 300:
            answers.store(db.session, key, uid, request.endpoint, fp, resp.status_code, resp.get_data(as_text=True))
        return resp

    return wrapper


def login_in_handler(view):
    """Mark a hot endpoint whose handler checks the caller's account inside its own first
    statement (claimed_caller(), auth.callers.Claimed): the check before the body is parsed
    verifies the token only; `account_checked` (applied at registration) makes sure the account
    is checked before any answer, a validation error's included."""
    view.login_in_handler = True
    return view


def caller_only(view):
    """Mark an endpoint whose handler uses current_caller(), not current_user(): its login
    check then loads no User either."""
    view.caller_only = True
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


def cursor_id(cursor: str | None) -> int | None:
    """The last id a keyset cursor names (None for the first page); 422 for a bad cursor."""
    if not cursor:
        return None
    last = _decode(cursor)
    if not isinstance(last, int) or isinstance(last, bool):
        from backend.errors import ValidationFailed

        raise ValidationFailed(details={"cursor": ["无效的分页游标"]})
    return last


def cursor_offset(cursor: str | None) -> int:
    """The position an offset cursor names (0 for the first page); 422 for anything but ASCII
    digits ("²".isdigit() is true and int("²") fails)."""
    if not cursor:
        return 0
    if not (cursor.isascii() and cursor.isdigit()):
        from backend.errors import ValidationFailed

        raise ValidationFailed(details={"cursor": ["无效的分页游标"]})
    return int(cursor)


def page_of(rows: list, limit: int, key: str) -> dict:
    """{"items", "next_cursor"} from up to limit + 1 rows read in cursor order."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": _encode(getattr(rows[-1], key)) if more and rows else None}


def paginate(query: Select, id_column, limit: int, cursor: str | None, descending: bool = True):
    """Keyset paging on a unique integer column: {"items", "next_cursor"}."""
    last = cursor_id(cursor)
    if last is not None:
        query = query.where(id_column < last if descending else id_column > last)
    query = query.order_by(id_column.desc() if descending else id_column.asc()).limit(limit + 1)
    return page_of(list(db.session.scalars(query)), limit, id_column.key)


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
