"""The audit log, for admin (everything) and street admins (their street)."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import LocalDateTime, PageArgs, current_user, page_schema, paginate
from backend.audit import services
from backend.audit.models import AuditLog
from backend.auth import policy
from backend.errors import Forbidden

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="审计日志")


class AuditArgs(PageArgs):
    actor_id = ma.fields.Integer(load_default=None)
    action = ma.fields.String(load_default=None, validate=ma.validate.Length(max=60))
    object_type = ma.fields.String(load_default=None, validate=ma.validate.Length(max=40))
    object_id = ma.fields.Integer(load_default=None)
    since = LocalDateTime(load_default=None)
    until = LocalDateTime(load_default=None)


class AuditSchema(ma.Schema):
    id = ma.fields.Integer()
    at = LocalDateTime()
    actor_id = ma.fields.Integer(allow_none=True)
    action = ma.fields.String()
    object_type = ma.fields.String()
    object_id = ma.fields.Integer(allow_none=True)
    community_id = ma.fields.Integer(allow_none=True)
    street_id = ma.fields.Integer(allow_none=True)
    changes = ma.fields.Dict()
    request_id = ma.fields.String(allow_none=True)
    ip = ma.fields.String(allow_none=True)


@blp.get("/admin/audit")
@blp.arguments(AuditArgs, location="query")
@blp.response(200, page_schema(AuditSchema, "AuditPage"))
def list_audit(args):
    """Audit rows, newest first, filtered by actor, action, object and time (cursor paging)."""
    user = current_user()
    if policy.is_admin(user):
        streets = None
    else:
        streets = policy.scopes(user, "street_admin", "street_id")
        if not streets:
            raise Forbidden("仅平台或街道管理员可查看审计日志")
    limit, cursor = args.pop("limit"), args.pop("cursor")
    return paginate(services.search(street_ids=streets, **args), AuditLog.id, limit, cursor)
