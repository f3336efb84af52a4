"""audit.record(): one row per changing action, in the caller's transaction.

The request layer sets the request id and IP in a contextvar, so services stay free of Flask."""
from __future__ import annotations

import contextvars
from datetime import date, datetime

from backend.audit.models import AuditLog
from backend.clock import TZ
from backend.extensions import db

request_meta: contextvars.ContextVar[dict] = contextvars.ContextVar("audit_request_meta", default={})


def _jsonable(value):
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(TZ).isoformat()  # as every time the API answers with
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    return value


def _unit_street(object_type: str, object_id: int | None) -> int | None:
    """The street of a unit, or of a roster row's unit: a unit admin's actions are within it."""
    from sqlalchemy import select

    from backend.orgs.models import Unit
    from backend.reports.models import UnitMember

    if object_id is None:
        return None
    if object_type == "unit":
        return db.session.scalar(select(Unit.street_id).where(Unit.id == object_id))
    if object_type == "unit_member":
        return db.session.scalar(select(Unit.street_id).join(UnitMember, UnitMember.unit_id == Unit.id)
                                 .where(UnitMember.id == object_id))
    return None


def record(actor_id: int | None, action: str, object_type: str, object_id: int | None, *,
           before: dict | None = None, after: dict | None = None,
           community_id: int | None = None, street_id: int | None = None) -> AuditLog:
    """Write an audit row for an action (e.g. "report.approve") on an object."""
    if community_id is not None and street_id is None:
        from backend.orgs.models import Community

        c = db.session.get(Community, community_id)
        street_id = c.street_id if c else None
    elif street_id is None:
        street_id = _unit_street(object_type, object_id)
    meta = request_meta.get()
    row = AuditLog(
        actor_id=actor_id, action=action, object_type=object_type, object_id=object_id,
        community_id=community_id, street_id=street_id,
        changes={"before": _jsonable(before or {}), "after": _jsonable(after or {})},
        # the request id is the client's X-Request-Id when sent: cut to what the column holds
        request_id=(meta.get("request_id") or None) and meta["request_id"][:64],
        ip=(meta.get("ip") or None) and meta["ip"][:64],
    )
    db.session.add(row)
    db.session.flush()
    return row


def search(*, street_ids: set[int] | None, actor_id=None, action=None, object_type=None, object_id=None,
           since=None, until=None):
    """A query over audit rows; street_ids None means everything (admin)."""
    from sqlalchemy import select

    q = select(AuditLog)
    if street_ids is not None:
        q = q.where(AuditLog.street_id.in_(street_ids or {-1}))
    for column, value in (("actor_id", actor_id), ("action", action), ("object_type", object_type), ("object_id", object_id)):
        if value is not None:
            q = q.where(getattr(AuditLog, column) == value)
    if since is not None:
        q = q.where(AuditLog.at >= since)
    if until is not None:
        q = q.where(AuditLog.at < until)
    return q
